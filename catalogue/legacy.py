"""The old system's database layout, the one definition of its tables."""

import functools
import sqlite3

# The exact statements of the legacy file's sqlite_master, in its order.
LEGACY_SCHEMA = (
    "CREATE TABLE actors(\nid integer primary key autoincrement,\nname text\n)",
    "CREATE TABLE rating_agency(\nid text(27),\nname text\n)",
    "CREATE TABLE movies (\nid text primary key,\ngenre text,\ndirector text,\n"
    "writer text,\ntitle text,\nplot text,\nratings text,\nimdb_rating text,"
    " writers text)",
    "CREATE TABLE writers(\nid text(27) primary key,\nname text\n)",
    "CREATE TABLE movie_actors(\nmovie_id text,\nactor_id text\n)",
)


def create_legacy_tables(conn):
    """Create the legacy tables, empty, in ``conn``."""
    for statement in LEGACY_SCHEMA:
        conn.execute(statement)


@functools.cache
def legacy_columns():
    """Return ``{table: column names}`` of the legacy tables, in the file's order."""
    conn = sqlite3.connect(":memory:")
    try:
        create_legacy_tables(conn)
        tables = conn.execute(
            "SELECT name FROM sqlite_master"
            " WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
        ).fetchall()
        return {
            table: frozenset(
                name
                for (name,) in conn.execute(
                    "SELECT name FROM pragma_table_info(?)", (table,)
                )
            )
            for (table,) in tables
        }
    finally:
        conn.close()
