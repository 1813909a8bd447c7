"""Raw-SQL migrations of the catalogue, on either engine, and the ``flask db`` commands.

SQLite (``catalogue.migrations.sqlite``) cleans the legacy file and applies
every later change of the schema; PostgreSQL (``catalogue.migrations.postgresql``)
builds the same schema, and ``flask db import`` (``catalogue.migrations.importing``)
loads a legacy file, cleaned by SQLite's migrations, into it. ``flask db
upgrade`` and ``flask db status`` act on the engine the settings select.
"""

from contextlib import closing

import click
from flask import current_app
from flask.cli import AppGroup
from tqdm import tqdm

from catalogue.db import engine, open_catalogue
from catalogue.migrations import importing, postgresql, sqlite
from catalogue.migrations.files import (
    MIGRATIONS_DIR,
    POSTGRESQL_DIR,
    MigrationError,
    discover,
)

__all__ = [
    "MigrationError",
    "applied_versions",
    "db_cli",
    "discover",
    "pending",
    "upgrade",
]

db_cli = AppGroup("db", help="Inspect and upgrade the catalogue database schema.")


def _store(conn):
    return postgresql if conn.engine == "postgresql" else sqlite


def _directory(conn):
    return POSTGRESQL_DIR if conn.engine == "postgresql" else MIGRATIONS_DIR


def applied_versions(conn):
    """Return ``{version: checksum}`` of the migrations applied to ``conn``'s catalogue."""
    return _store(conn).applied_versions(conn)


def pending(conn, directory=None):
    """Return the migrations not applied yet to the catalogue of ``conn``.

    ``directory`` defaults to the migrations of the engine of ``conn``.
    """
    return _store(conn).pending(conn, directory or _directory(conn))


def upgrade(conn, directory=None, echo=None):
    """Apply the pending migrations to the catalogue of ``conn``; return them."""
    return _store(conn).upgrade(conn, directory or _directory(conn), echo=echo)


def _open_for_migration(config):
    """Open the catalogue the settings select, as its migrations need it."""
    if engine(config) == "postgresql":
        return open_catalogue(config, statement_timeout=0)
    return sqlite.open_database(config["DATABASE_PATH"])


@db_cli.command("upgrade")
def upgrade_command():
    """Apply the pending migrations (DATABASE_URL, else DATABASE_PATH)."""
    with closing(_open_for_migration(current_app.config)) as conn:
        applied = upgrade(conn, echo=click.echo)
    click.echo(
        f"{len(applied)} migration(s) applied" if applied else "database is up to date"
    )


@db_cli.command("status")
def status_command():
    """List applied and pending migrations."""
    with closing(_open_for_migration(current_app.config)) as conn:
        todo = {version for version, _ in pending(conn)}
        for version, _ in discover(_directory(conn)):
            click.echo(f"{'pending' if version in todo else 'applied'}  {version}")


@db_cli.command("import")
@click.argument("legacy", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--replace",
    is_flag=True,
    help="Replace a catalogue PostgreSQL already holds (the next ETL run is full).",
)
def import_command(legacy, replace):
    """Clean the legacy SQLite file LEGACY and load its catalogue into PostgreSQL."""
    config = current_app.config
    if engine(config) != "postgresql":
        raise click.ClickException(
            "flask db import loads the catalogue into PostgreSQL: set DATABASE_URL"
        )
    with closing(sqlite.open_database(legacy)) as source:
        cleaned = sqlite.upgrade(source, echo=click.echo)
        if cleaned:
            click.echo(f"{legacy}: {len(cleaned)} SQLite migration(s) applied")
        counts = importing.row_counts(source)
        with closing(open_catalogue(config, statement_timeout=0)) as target:
            if postgresql.pending(target):
                raise click.ClickException(
                    "PostgreSQL is not migrated: run flask db upgrade first"
                )
            with tqdm(
                total=sum(counts.values()), unit="row", desc="  import", disable=None
            ) as bar:
                copied = importing.import_catalogue(
                    source,
                    target,
                    source_name=str(legacy),
                    replace=replace,
                    progress=bar.update,
                )
    if copied is None:
        click.echo("this file was imported before: nothing to import")
        return
    click.echo(
        f"imported {copied['film']} films, {copied['person']} persons and"
        f" {copied['genre']} genres; run flask etl run to index them"
    )
