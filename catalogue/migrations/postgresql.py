"""PostgreSQL's migrations: the ordered ``.sql`` files of ``migrations_sql/postgresql/``.

They build the schema SQLite has after its own migrations; the clean catalogue
comes from a cleaned legacy file (``catalogue.migrations.importing``). Each
file is applied once, in its own transaction, and recorded in
``schema_migrations``. Machines that start at once may all run ``flask db
upgrade``: an advisory lock lets one apply the files while the others wait,
then find nothing left to do.
"""

import contextlib

import psycopg

from catalogue.db import DatabaseBusy, DatabaseUnavailable, transaction
from catalogue.migrations.files import POSTGRESQL_DIR, apply_each, not_applied

# The advisory lock key of `flask db upgrade` (any number the service owns).
UPGRADE_LOCK = 7_311_020_001


def applied_versions(conn):
    """Return ``{version: checksum}`` of the migrations already applied."""
    if conn.execute("SELECT to_regclass('schema_migrations')").fetchone()[0] is None:
        return {}
    rows = conn.execute("SELECT version, checksum FROM schema_migrations")
    return {row["version"]: row["checksum"] for row in rows}


def pending(conn, directory=POSTGRESQL_DIR):
    """Return the migrations not applied yet; refuse if an applied one was edited."""
    return not_applied(applied_versions(conn), directory)


def upgrade(conn, directory=POSTGRESQL_DIR, echo=None):
    """Apply every pending migration, each in its own transaction; return them.

    Holds the upgrade's advisory lock meanwhile. A failing migration is rolled
    back whole and raises MigrationError; earlier ones stay applied.
    """
    conn.execute("SELECT pg_advisory_lock(?)", (UPGRADE_LOCK,))
    try:
        with transaction(conn):
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY,"
                " checksum text NOT NULL,"
                " applied_at text NOT NULL DEFAULT"
                " to_char(clock_timestamp() AT TIME ZONE 'UTC',"
                ' \'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\'))'
            )
        return apply_each(
            conn,
            pending(conn, directory),
            lambda conn, script: conn.run_script(script),
            (psycopg.Error, DatabaseBusy),
            echo,
        )
    finally:
        # A session that is gone took its lock with it.
        with contextlib.suppress(DatabaseUnavailable):
            conn.execute("SELECT pg_advisory_unlock(?)", (UPGRADE_LOCK,))
