"""ETL state: the runs and their checkpoints, and the lock that one run holds.

On SQLite they are in a file of their own (``ETL_STATE_PATH``), which belongs
to the ETL alone, and the lock is a file beside the catalogue: the ETL reads
the catalogue and never writes to it, so it never waits on a request that
writes there, nor makes one wait for more than the moment it takes the
catalogue's clock (see :func:`catalogue_clock`). On PostgreSQL they are in
the catalogue's ``etl_run`` table and the lock is an advisory one, so that a
run on any machine sees the others' runs and resumes what another left.
"""

import contextlib
import fcntl
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from catalogue.db import engine, open_catalogue, transaction, utc_now
from catalogue.db.sqlite import connect, statements, use_wal
from etl import EtlError

SCHEMA = """
CREATE TABLE IF NOT EXISTS etl_run (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    target      TEXT NOT NULL,
    mode        TEXT NOT NULL CHECK (mode IN ('full', 'incremental')),
    state       TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed')),
    generation  TEXT,
    watermark   TEXT,
    checkpoint  TEXT,
    documents   INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    modified    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS etl_run_target_idx ON etl_run (target, state, id);
"""
# The key of the advisory lock a run holds on PostgreSQL.
RUN_LOCK = 7_311_020_002


@dataclass
class Run:
    """One row of ``etl_run``."""

    id: int
    target: str
    mode: str
    state: str
    generation: str | None
    watermark: str | None
    checkpoint: dict
    documents: int
    started_at: str
    finished_at: str | None = None
    error: str | None = None

    @classmethod
    def from_row(cls, row):
        """Build a Run from a database row."""
        data = dict(row)
        data["checkpoint"] = json.loads(data["checkpoint"] or "{}")
        return cls(**{key: data[key] for key in cls.__dataclass_fields__})


_COLUMNS = (
    "id, target, mode, state, generation, watermark, checkpoint, documents,"
    " started_at, finished_at, error"
)


class RunInProgress(EtlError):
    """Another ETL run holds the lock of this database."""


def run_lock(config):
    """Return the lock one run of the catalogue of ``config`` holds, as a context."""
    if engine(config) == "postgresql":
        return _advisory_lock(config)
    return exclusive(config["DATABASE_PATH"])


def state_store(config):
    """Open where the runs of the catalogue of ``config`` are kept."""
    if engine(config) == "postgresql":
        return open_catalogue(config, statement_timeout=0)
    return open_state(config["ETL_STATE_PATH"])


@contextlib.contextmanager
def _advisory_lock(config):
    """Hold PostgreSQL's advisory lock of the ETL in a session of its own.

    The server releases it when the session ends, so a run that was killed
    never blocks the next one, on whichever machine it starts.
    """
    with contextlib.closing(open_catalogue(config, statement_timeout=0)) as conn:
        held = conn.execute("SELECT pg_try_advisory_lock(?)", (RUN_LOCK,))
        if not held.fetchone()[0]:
            raise RunInProgress("another ETL run is in progress")
        yield


@contextlib.contextmanager
def exclusive(database_path):
    """Hold a lock file beside the database for the whole run.

    The lock is keyed on the database file itself, whatever path (a symbolic
    link, a relative one) names it. The operating system releases it when the
    process dies, so a run that was killed never blocks the next one, which
    then resumes it.
    """
    path = Path(f"{Path(database_path).resolve()}.etl.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunInProgress("another ETL run is in progress") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_state(path):
    """Open the ETL's state file, creating it and its table if missing."""
    conn = connect(path)
    try:
        use_wal(conn)
        with transaction(conn):
            for statement in statements(SCHEMA):
                conn.execute(statement)
    except BaseException:
        conn.close()
        raise
    return conn


def latest(conn, target, state=None):
    """Return the newest run for ``target`` (in ``state`` if given), or None."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM etl_run WHERE target = ?"
        " AND (CAST(? AS TEXT) IS NULL OR state = ?) ORDER BY id DESC LIMIT 1",
        (target, state, state),
    ).fetchone()
    return Run.from_row(row) if row else None


def start(conn, target, mode, watermark, started_at):
    """Record a new running run and return it.

    ``started_at`` is the catalogue's clock when the run began
    (:func:`catalogue_clock`), from which the next run reads changes;
    ``watermark`` is where this one reads them from (None: everything).
    """
    with transaction(conn):
        run_id = conn.execute(
            "INSERT INTO etl_run"
            " (target, mode, state, watermark, checkpoint, started_at, modified)"
            " VALUES (?, ?, 'running', ?, '{}', ?, ?) RETURNING id",
            (target, mode, watermark, started_at, utc_now()),
        ).fetchone()[0]
        if mode == "full":
            conn.execute(
                "UPDATE etl_run SET generation = ? WHERE id = ?",
                (f"{datetime.now(UTC):%Y%m%d%H%M%S}r{run_id}", run_id),
            )
    return get(conn, run_id)


def get(conn, run_id):
    """Return the run with this id."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM etl_run WHERE id = ?", (run_id,)
    ).fetchone()
    return Run.from_row(row)


def resume(conn, run):
    """Mark an unfinished run as running again."""
    with transaction(conn):
        conn.execute(
            "UPDATE etl_run SET state = 'running', error = NULL, modified = ?"
            " WHERE id = ?",
            (utc_now(), run.id),
        )
    return get(conn, run.id)


def checkpoint(conn, run, phase, after, documents):
    """Record that ``phase`` has loaded everything up to id ``after``."""
    run.checkpoint = {"phase": phase, "after": after}
    run.documents += documents
    with transaction(conn):
        conn.execute(
            "UPDATE etl_run SET checkpoint = ?, documents = ?, modified = ?"
            " WHERE id = ?",
            (json.dumps(run.checkpoint), run.documents, utc_now(), run.id),
        )


def finish(conn, run, state, error=None):
    """Record the end of a run: completed or failed."""
    with transaction(conn):
        conn.execute(
            "UPDATE etl_run SET state = ?, error = ?, finished_at = ?, modified = ?"
            " WHERE id = ?",
            (state, error, *[utc_now()] * 2, run.id),
        )
    return get(conn, run.id)


def catalogue_clock(catalogue):
    """Return the catalogue's clock, before which every change stamped is committed.

    It is the clock the ``modified`` stamps use. A run that reads the
    catalogue after this misses nothing stamped before it, and the next run
    reads changes from it on. SQLite: read under the write lock, held for
    that moment only; every change stamped before was committed before,
    since a writer stamps and commits while it holds the lock. PostgreSQL,
    where writers commit side by side: the start of the oldest transaction
    still open, if it is older than now, since a transaction stamps its
    changes after it starts (see :data:`OPEN_SINCE`).
    """
    if catalogue.engine == "postgresql":
        return catalogue.execute(OPEN_SINCE).fetchone()[0]
    with transaction(catalogue):
        return catalogue.execute(
            "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
        ).fetchone()[0]


# pg_stat_activity shows the xact_start of another role's sessions only to
# members of pg_read_all_stats: the service's nodes share one role (README,
# "Several machines").
OPEN_SINCE = (
    "SELECT to_char(least(clock_timestamp(), ("
    "  SELECT min(xact_start) FROM pg_stat_activity"
    "  WHERE datname = current_database() AND pid <> pg_backend_pid()"
    "  AND xact_start IS NOT NULL"
    " )) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
)
