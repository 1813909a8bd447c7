"""SQLite access: one connection per request on ``g``, raw SQL, rows as ``sqlite3.Row``."""

import sqlite3
import uuid
from pathlib import Path

from flask import current_app, g

# Fixed namespace: person and genre ids are uuid5 of this and the normalised name,
# so the same name gets the same id on every migration and every machine.
ID_NAMESPACE = uuid.UUID("5b1c3c52-8a1e-4b8e-9a57-0d7f6a1c2e90")


def stable_id(kind, name):
    """Return the stable id of a person or genre called ``name``."""
    if name is None:
        return None
    key = " ".join(name.split()).casefold()
    return str(uuid.uuid5(ID_NAMESPACE, f"{kind}:{key}"))


def connect(path, *, readonly=False, create=True):
    """Open a connection with the pragmas every part of the service relies on.

    ``create=False`` refuses a missing file instead of creating an empty one.
    """
    if readonly or not create:
        mode = "ro" if readonly else "rw"
        conn = sqlite3.connect(
            f"{Path(path).resolve().as_uri()}?mode={mode}",
            uri=True,
            check_same_thread=False,
        )
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    # Queries never yield to gevent: a short busy timeout keeps a worker from
    # stalling on a writer (the ETL) for long; WAL lets readers run beside it.
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    conn.create_function("stable_id", 2, stable_id, deterministic=True)
    return conn


def get_db():
    """Return this request's connection to the catalogue database.

    A request never creates the database: a missing file raises sqlite3.Error.
    """
    if "db" not in g:
        g.db = connect(current_app.config["DATABASE_PATH"], create=False)
    return g.db


def close_db(exc=None):
    """Close this request's connection, if one was opened."""
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_app(app):
    """Close the request's connection when the app context ends."""
    app.teardown_appcontext(close_db)
