"""The ETL as one call: :func:`run` loads the catalogue of the current app.

``flask etl run`` is a thin shell over it; a background job or an admin write
can start the same work. It raises plain exceptions (``EtlError`` and the
search backend's ``SearchError``), never a command-line one.
"""

import contextlib
import sqlite3
from pathlib import Path

from flask import current_app

from catalogue import versions
from catalogue.db import DatabaseBusy, connect
from catalogue.migrations import MigrationError, pending
from catalogue.search import get_indexer
from etl import EtlError, pipeline, state

# Seconds the ETL waits to read the catalogue's clock under its write lock; the
# requests that hold it hold it for milliseconds.
ETL_LOCK_WAIT = 60.0


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
        with (
            state.exclusive(config["DATABASE_PATH"]),
            contextlib.closing(state.open_state(config["ETL_STATE_PATH"])) as db,
        ):
            summary = pipeline.run(
                conn,
                indexer,
                state_db=db,
                full=full,
                batch_size=batch_size or config["ETL_BATCH_SIZE"],
                progress=progress,
            )
    except DatabaseBusy as exc:
        raise EtlError(f"the catalogue stayed busy ({exc}); try again") from None
    finally:
        conn.close()
    versions.invalidate()
    return summary


def open_catalogue(path):
    """Open the migrated catalogue; EtlError if it is missing or behind.

    The ETL writes nothing there; it only takes the write lock for the moment
    it reads the clock, and waits for it as long as ``ETL_LOCK_WAIT``.
    """
    if not Path(path).is_file():
        raise EtlError(f"database file not found: {path}")
    conn = None
    try:
        conn = connect(path, create=False, write_timeout=ETL_LOCK_WAIT)
        behind = pending(conn)
    except (sqlite3.DatabaseError, MigrationError) as exc:
        if conn is not None:
            conn.close()
        raise EtlError(f"cannot read the database {path}: {exc}") from None
    if behind:
        conn.close()
        raise EtlError("the database is not migrated: run flask db upgrade")
    return conn


def last_run(indexer):
    """Return the newest run into ``indexer``'s target, or None before the first."""
    path = Path(current_app.config["ETL_STATE_PATH"])
    if not path.exists():
        return None
    with contextlib.closing(state.open_state(path)) as db:
        return state.latest(db, indexer.describe())
