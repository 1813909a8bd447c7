"""SQLite's migrations: the legacy file's cleaning and every later change.

The ordered ``.sql`` files of ``migrations_sql/``, applied once each, in a
transaction, and recorded in ``schema_migrations``. A file whose first line
is ``-- backup: table ...`` has those tables copied, rows and all, to a file
beside the database before it changes anything:
``<database>.before-<version>.sqlite``.
"""

import os
import re
import sqlite3
from pathlib import Path

import click

from catalogue.db.errors import DatabaseBusy
from catalogue.db.sqlite import connect, statements, transaction, use_wal
from catalogue.legacy import legacy_columns
from catalogue.migrations.files import (
    MIGRATIONS_DIR,
    MigrationError,
    apply_each,
    not_applied,
)


def _ensure_ledger(conn):
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version TEXT PRIMARY KEY,"
        " checksum TEXT NOT NULL,"
        " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"
    )


def tables_to_back_up(path):
    """Return the tables a migration's ``-- backup:`` first line names, if any."""
    with open(path, encoding="utf-8") as file:
        first = file.readline()
    found = re.fullmatch(r"--\s*backup:\s*(.*)", first.strip())
    return found.group(1).split() if found else []


def backup_path(database, version):
    """Return where the tables a migration backs up are kept, beside ``database``."""
    database = Path(database)
    return database.with_name(f"{database.stem}.before-{version}{database.suffix}")


def back_up(conn, version, tables):
    """Copy ``tables`` of ``conn``'s database to its backup file; return its path.

    The copy is written to a partial file and renamed into place once committed,
    so the backup file is always whole; a later attempt of a migration that
    failed writes it again.
    """
    database = conn.execute("SELECT file FROM pragma_database_list WHERE name = 'main'")
    database = database.fetchone()[0]
    if not database:
        raise MigrationError(f"migration {version} backs up tables: needs a file")
    target = backup_path(database, version)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    conn.execute("ATTACH DATABASE ? AS backup", (str(partial),))
    try:
        with transaction(conn):
            for table in tables:
                row = conn.execute(
                    "SELECT sql FROM main.sqlite_schema"
                    " WHERE type = 'table' AND name = ?",
                    (table,),
                ).fetchone()
                if row is None:
                    raise MigrationError(
                        f"migration {version} backs up table {table!r}, "
                        "which is missing"
                    )
                conn.execute(
                    re.sub(r"^CREATE TABLE\s+", "CREATE TABLE backup.", row[0])
                )
                conn.execute(
                    f'INSERT INTO backup."{table}" SELECT * FROM main."{table}"'
                )
    finally:
        conn.execute("DETACH DATABASE backup")
    os.replace(partial, target)
    return target


def applied_versions(conn):
    """Return ``{version: checksum}`` of the migrations already applied."""
    ledger = conn.execute(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if ledger is None:
        return {}
    rows = conn.execute("SELECT version, checksum FROM schema_migrations")
    return {row["version"]: row["checksum"] for row in rows}


def check_legacy_layout(conn):
    """Raise MigrationError unless the database holds the legacy tables."""
    for table, columns in legacy_columns().items():
        found = {
            row["name"]
            for row in conn.execute("SELECT name FROM pragma_table_info(?)", (table,))
        }
        if not found:
            raise MigrationError(
                f"not a legacy movie database: table {table!r} is missing"
            )
        missing = columns - found
        if missing:
            raise MigrationError(
                f"not a legacy movie database: table {table!r} lacks {', '.join(sorted(missing))}"
            )


def pending(conn, directory=MIGRATIONS_DIR):
    """Return the migrations not applied yet; refuse if an applied one was edited."""
    return not_applied(applied_versions(conn), directory)


def upgrade(conn, directory=MIGRATIONS_DIR, echo=None):
    """Apply every pending migration, each in its own transaction.

    Returns the list of versions applied. A failing migration is rolled back
    whole and raises MigrationError; earlier ones stay applied.
    """
    conn.isolation_level = None
    # The data migration sorts and joins millions of rows: a larger page cache
    # and in-memory temp tables make it several times faster.
    conn.execute("PRAGMA cache_size = -262144")
    conn.execute("PRAGMA temp_store = MEMORY")
    todo = pending(conn, directory)
    if todo and not applied_versions(conn):
        check_legacy_layout(conn)
    if todo:
        use_wal(conn)
        with transaction(conn):
            _ensure_ledger(conn)

    def back_up_first(version, path):
        tables = tables_to_back_up(path)
        if tables:
            saved = back_up(conn, version, tables)
            if echo:
                echo(f"backed up {', '.join(tables)} to {saved}")

    def run_script(conn, script):
        for statement in statements(script):
            conn.execute(statement)

    return apply_each(
        conn, todo, run_script, (sqlite3.Error, DatabaseBusy), echo, back_up_first
    )


def open_database(path):
    """Open an existing database file for migration, with a clear error otherwise."""
    if not Path(path).is_file():
        raise click.ClickException(f"database file not found: {path}")
    try:
        conn = connect(path)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise click.ClickException(f"{path} is not a SQLite database: {exc}") from None
    return conn
