"""``flask db import``: a cleaned legacy catalogue, from its SQLite file into PostgreSQL.

The legacy file is cleaned by SQLite's own migrations first (the raw-SQL
cleaning stays the one design of it); then its catalogue tables (films,
genres, persons, their legacy ids and links, with their timestamps) are
copied into PostgreSQL with COPY, in one transaction: a failed import leaves
nothing behind. The file's fingerprint is kept, so importing the same file
again changes nothing (a loader may run it at every start); a catalogue that
holds another file's data is replaced only when asked, and the next ``flask
etl run`` is then a full load.
"""

import contextlib
import hashlib

from catalogue.db import transaction
from catalogue.migrations.files import MigrationError

# The catalogue's tables in the order of their foreign keys, with their columns.
TABLES = (
    ("genre", ("id", "name", "created", "modified")),
    ("person", ("id", "full_name", "created", "modified")),
    ("film", ("id", "title", "description", "imdb_rating", "created", "modified")),
    ("person_legacy_id", ("source", "legacy_id", "person_id", "created", "modified")),
    ("film_genre", ("film_id", "genre_id", "position", "created", "modified")),
    (
        "film_person",
        ("film_id", "person_id", "role", "position", "created", "modified"),
    ),
)
# What else a replaced catalogue clears: what was deleted and indexed from the
# one before, and the ETL's runs of it.
_CLEARED = ("tombstone", "search_backlog", "etl_run")
# Rows a copy takes from SQLite at a time.
_FETCH = 5_000


class CatalogueNotEmpty(MigrationError):
    """PostgreSQL already holds another catalogue; nothing was imported."""


def row_counts(source):
    """Return ``{table: rows}`` of the catalogue in the SQLite file ``source``."""
    return {
        table: source.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table, _ in TABLES
    }


def fingerprint(source):
    """Return what tells this catalogue from another: its tables' rows, hashed."""
    digest = hashlib.sha256()
    for table, columns in TABLES:
        digest.update(table.encode())
        rows = source.execute(
            f"SELECT {', '.join(columns)} FROM {table}"
            f" ORDER BY {', '.join(columns[:-2])}"
        )
        for row in rows:
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def import_catalogue(source, target, *, source_name, replace=False, progress=None):
    """Copy the catalogue of the SQLite connection ``source`` into ``target``.

    Returns ``{table: rows}`` copied, or None when this file was imported
    before (its catalogue may have changed since, through the API).
    CatalogueNotEmpty if ``target`` holds another catalogue and ``replace``
    is not set. ``progress(rows)`` is called as rows are copied.
    """
    key = fingerprint(source)
    counts = row_counts(source)
    with transaction(target):
        done = target.execute(
            "SELECT 1 FROM catalogue_import WHERE fingerprint = ?", (key,)
        ).fetchone()
        if done and not replace:
            # Imported before: what the API wrote since stays as it is.
            return None
        held = target.execute("SELECT count(*) FROM film").fetchone()[0]
        if held and not replace:
            raise CatalogueNotEmpty(
                f"PostgreSQL already holds a catalogue of {held} films: add"
                " --replace to replace it with this one"
            )
        names = ", ".join(table for table, _ in TABLES)
        target.execute(f"TRUNCATE {names}, {', '.join(_CLEARED)}")
        with _checks_after(target):
            for table, columns in TABLES:
                _copy(source, target, table, columns, progress)
        target.execute(
            "SELECT setval('legacy_actor_id',"
            " (SELECT coalesce(max(CAST(legacy_id AS bigint)), 0) + 1"
            "  FROM person_legacy_id WHERE source = 'actor'), false)"
        )
        target.execute(
            "INSERT INTO catalogue_import (fingerprint, source, films) VALUES (?, ?, ?)"
            " ON CONFLICT (fingerprint) DO UPDATE SET imported_at = utc_now()",
            (key, source_name, counts["film"]),
        )
    for table, _ in TABLES:
        target.execute(f"ANALYZE {table}")
    return counts


@contextlib.contextmanager
def _checks_after(target):
    """Drop the tables' foreign keys and secondary indexes; make them again after.

    Checked row by row, the keys made the copy several times slower (film_person
    alone: 24 s of 55 s at 200,000 films); made again at the end, each is one
    pass over the table. Inside the import's transaction, nothing sees them gone.
    """
    tables = [table for table, _ in TABLES]
    keys = target.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
        " FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(?::regclass[])",
        (tables,),
    ).fetchall()
    indexes = target.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
        " WHERE indrelid = ANY(?::regclass[]) AND NOT indisprimary AND NOT indisunique",
        (tables,),
    ).fetchall()
    for table, name, _ in keys:
        target.run_script(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        target.run_script(f"DROP INDEX {name}")
    yield
    for _, definition in indexes:
        target.run_script(definition)
    for table, name, definition in keys:
        target.run_script(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def _copy(source, target, table, columns, progress):
    """Copy one table's rows with COPY, its triggers off (the rows keep their times)."""
    listed = ", ".join(columns)
    target.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    rows = source.execute(f"SELECT {listed} FROM {table}")
    with target.cursor().copy(f"COPY {table} ({listed}) FROM STDIN") as copy:
        while batch := rows.fetchmany(_FETCH):
            for row in batch:
                copy.write_row(tuple(row))
            if progress is not None:
                progress(len(batch))
    target.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
