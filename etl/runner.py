"""The ETL as one call: :func:`run` loads the catalogue of the current app.

``flask etl run`` is a thin shell over it; a background job or an admin write
can start the same work. It raises plain exceptions (``EtlError`` and the
search backend's ``SearchError``), never a command-line one.
"""

import contextlib
from pathlib import Path

from flask import current_app

from catalogue import versions
from catalogue.db import DatabaseBusy, DatabaseError, engine, open_catalogue
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
    conn = open_for_etl(config)
    try:
        with (
            state.run_lock(config),
            contextlib.closing(state.state_store(config)) as db,
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


def open_for_etl(config):
    """Open the migrated catalogue; EtlError if it is missing or behind.

    The ETL writes nothing there. On SQLite it only takes the write lock for
    the moment it reads the clock, and waits for it as long as ``ETL_LOCK_WAIT``.
    """
    where = config["DATABASE_PATH"]
    if engine(config) == "postgresql":
        where = "PostgreSQL (DATABASE_URL)"
    elif not Path(where).is_file():
        raise EtlError(f"database file not found: {where}")
    conn = None
    try:
        conn = open_catalogue(config, statement_timeout=0, write_timeout=ETL_LOCK_WAIT)
        behind = pending(conn)
    except (*DatabaseError, MigrationError) as exc:
        if conn is not None:
            conn.close()
        raise EtlError(f"cannot read the database {where}: {exc}") from None
    if behind:
        conn.close()
        raise EtlError("the database is not migrated: run flask db upgrade")
    return conn


def last_run(indexer):
    """Return the newest run into ``indexer``'s target, or None before the first."""
    config = current_app.config
    if engine(config) == "sqlite" and not Path(config["ETL_STATE_PATH"]).exists():
        return None
    with contextlib.closing(state.state_store(config)) as db:
        return state.latest(db, indexer.describe())
