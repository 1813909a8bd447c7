"""The ETL as one call: :func:`run` loads the catalogue of the current app.

``flask etl run`` is a thin shell over it; a background job or an admin write
can start the same work. It raises plain exceptions (``EtlError`` and the
search backend's ``SearchError``), never a command-line one.
"""

import sqlite3
from pathlib import Path

from flask import current_app

from app import caching
from app.db import connect
from app.migrations import MigrationError, pending
from app.search import get_indexer
from etl import EtlError, pipeline, state


def run(*, full=False, batch_size=None, progress=None):
    """Load what changed since the last run (everything if ``full``); return a Summary.

    Holds the ETL lock of the catalogue for the whole run (``RunInProgress``,
    an EtlError, if another run holds it). The data goes live with a new data version, so
    every answer cached before is unreachable once the run has finished.
    """
    config = current_app.config
    indexer = get_indexer()
    conn = open_catalogue(config["DATABASE_PATH"])
    try:
        with state.exclusive(config["DATABASE_PATH"]):
            summary = pipeline.run(
                conn,
                indexer,
                full=full,
                batch_size=batch_size or config["ETL_BATCH_SIZE"],
                progress=progress,
            )
    finally:
        conn.close()
    caching.invalidate()
    return summary


def open_catalogue(path):
    """Open the migrated catalogue database; EtlError if it is missing or behind."""
    if not Path(path).is_file():
        raise EtlError(f"database file not found: {path}")
    conn = None
    try:
        conn = connect(path, create=False)
        behind = pending(conn)
    except (sqlite3.DatabaseError, MigrationError) as exc:
        if conn is not None:
            conn.close()
        raise EtlError(f"cannot read the database {path}: {exc}") from None
    if behind:
        conn.close()
        raise EtlError("the database is not migrated: run flask db upgrade")
    return conn
