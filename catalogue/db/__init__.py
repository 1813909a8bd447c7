"""The store of everything users write: SQLite by default, PostgreSQL by setting.

With no ``DATABASE_URL`` the catalogue is the SQLite file at
``DATABASE_PATH`` (``catalogue.db.sqlite``); with one, it is that PostgreSQL
database (``catalogue.db.postgresql``), which any number of machines share.
The query functions are the same for both: raw SQL with ``?`` placeholders
on a connection this module gives, one per request on ``g``; every write in
:func:`transaction`, a consistent read of several statements in
:func:`snapshot`. ``conn.engine`` names the engine, for the few queries that
are written for each.
"""

import json
import sqlite3
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
from flask import current_app, g

from catalogue.db import postgresql
from catalogue.db import sqlite as sqlite_store
from catalogue.db.errors import DatabaseBusy, DatabaseUnavailable
from catalogue.ids import stable_id

__all__ = [
    "DatabaseBusy",
    "DatabaseError",
    "DatabaseUnavailable",
    "IntegrityError",
    "engine",
    "get_db",
    "lock_rows",
    "open_catalogue",
    "reopen",
    "serialize",
    "snapshot",
    "stable_id",
    "transaction",
    "utc_now",
]

# What either engine raises for a statement it refuses, and for a constraint
# a write breaks (a username taken, say): for ``except`` clauses.
DatabaseError = (sqlite3.Error, psycopg.Error, DatabaseUnavailable, DatabaseBusy)
IntegrityError = (sqlite3.IntegrityError, psycopg.IntegrityError)
# The tables whose rows a write may lock before it reads them, with their keys.
_LOCKABLE = {"film": "id", "genre": "id", "account": "id", "movie_collection": "id"}


def engine(config):
    """Return the engine the settings in ``config`` select: sqlite or postgresql."""
    return "postgresql" if config.get("DATABASE_URL") else "sqlite"


def utc_now():
    """Return the time as the store writes it: UTC, millisecond ISO 8601 text."""
    moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def open_catalogue(
    config, *, readonly=False, statement_timeout=None, write_timeout=None
):
    """Open a connection of its own to the catalogue (the caller closes it).

    For work outside a request: the ETL, the report worker, the catch-up.
    SQLite: the file must exist; ``readonly`` opens it read-only. PostgreSQL:
    ``statement_timeout`` seconds (0: none) instead of the API's. A write
    waits ``write_timeout`` seconds (``DATABASE_WRITE_TIMEOUT``) for a lock.
    """
    write_timeout = write_timeout or config["DATABASE_WRITE_TIMEOUT"]
    if engine(config) == "postgresql":
        return postgresql.connect(config, statement_timeout, write_timeout)
    return sqlite_store.connect(
        config["DATABASE_PATH"],
        readonly=readonly,
        create=False,
        write_timeout=write_timeout,
    )


def reopen(conn, *, readonly=True):
    """Open another connection to the catalogue of ``conn``, for another thread."""
    if conn.engine == "postgresql":
        return open_catalogue(conn.settings, readonly=readonly, statement_timeout=0)
    path = conn.execute("PRAGMA database_list").fetchone()["file"]
    return sqlite_store.connect(path, readonly=readonly, create=False)


@contextmanager
def transaction(conn=None):
    """Run the block in one write transaction: all of it is committed, or nothing.

    ``conn`` defaults to this request's connection. On SQLite the write lock
    is asked for up front and waited for cooperatively (see
    ``catalogue.db.sqlite.transaction``); on PostgreSQL writers take row
    locks only, and one that waits on a row longer than
    ``DATABASE_WRITE_TIMEOUT`` raises DatabaseBusy.
    """
    conn = get_db() if conn is None else conn
    if conn.in_transaction:
        raise RuntimeError("a transaction is already open on this connection")
    store = postgresql if conn.engine == "postgresql" else sqlite_store
    with store.transaction(conn):
        yield conn


@contextmanager
def snapshot(conn=None):
    """Run the block's reads in one consistent view of the catalogue."""
    conn = get_db() if conn is None else conn
    if conn.engine == "postgresql":
        with postgresql.snapshot(conn):
            yield conn
        return
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")


def lock_rows(conn, table, keys):
    """Lock the rows of ``table`` with these keys until the transaction ends.

    A write that reads a row, checks it (an ``If-Match``) and then changes it
    takes this first, so that of two such writes at once the second reads
    what the first wrote. SQLite's write lock already holds the whole file.
    """
    if conn.engine != "postgresql" or not keys:
        return
    key = _LOCKABLE[table]
    conn.execute(
        f"SELECT 1 FROM {table} WHERE {key} IN"
        " (SELECT value FROM json_each(?)) ORDER BY 1 FOR UPDATE",
        (json.dumps(sorted(keys)),),
    )


def serialize(conn, name):
    """Let one transaction at a time past this point for ``name``, until it ends.

    For a check that reads many rows before a write (a genre's name free
    among all of them): SQLite's write lock already lets one writer at a
    time; PostgreSQL takes an advisory lock of the transaction.
    """
    if conn.engine == "postgresql":
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (name,))


def get_db():
    """Return this request's connection to the catalogue."""
    if "db" not in g:
        g.db = current_app.extensions["db"].take()
    return g.db


def close_db(exc=None):
    """Roll back what the request left open, then give its connection back."""
    db = g.pop("db", None)
    if db is None:
        return
    if db.in_transaction:
        current_app.logger.warning("rolled back a transaction left open")
        if db.engine == "sqlite":
            try:
                db.execute("ROLLBACK")
            except BaseException:
                db.close()
                raise
    # PostgreSQL's pool rolls back, and replaces a connection that broke.
    current_app.extensions["db"].give_back(db)


def get_checkpointer(app):
    """Return the checkpointer of the app's process (SQLite files it writes)."""
    return app.extensions["db-checkpointer"]


def init_app(app):
    """Keep the process's connections; give a request's back when its context ends."""
    checkpointer = app.extensions["db-checkpointer"] = sqlite_store.Checkpointer()
    if engine(app.config) == "postgresql":
        app.extensions["db"] = postgresql.Pool(app.config)
    else:
        app.extensions["db"] = sqlite_store.IdleConnections(
            app.config["DATABASE_PATH"],
            app.config["DATABASE_WRITE_TIMEOUT"],
            checkpointer=checkpointer,
        )
    app.teardown_appcontext(close_db)
