"""ETL state: runs and checkpoints in a SQLite file of their own, and the lock.

The file (``ETL_STATE_PATH``) belongs to the ETL alone, which holds the lock
while it writes it: the ETL reads the catalogue and never writes to it, so it
never waits on a request that writes there, nor makes one wait for more than
the moment it takes the catalogue's clock (see :func:`catalogue_clock`).
"""

import contextlib
import fcntl
import json
from dataclasses import dataclass
from pathlib import Path

from catalogue.db import connect, statements, transaction, use_wal
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
    started_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    finished_at TEXT,
    modified    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS etl_run_target_idx ON etl_run (target, state, id);
"""

NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"


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
        " AND (? IS NULL OR state = ?) ORDER BY id DESC LIMIT 1",
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
        cursor = conn.execute(
            "INSERT INTO etl_run"
            " (target, mode, state, watermark, checkpoint, started_at)"
            " VALUES (?, ?, 'running', ?, '{}', ?)",
            (target, mode, watermark, started_at),
        )
        run_id = cursor.lastrowid
        if mode == "full":
            conn.execute(
                "UPDATE etl_run SET generation = strftime('%Y%m%d%H%M%S', 'now') || 'r' || id"
                " WHERE id = ?",
                (run_id,),
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
            f"UPDATE etl_run SET state = 'running', error = NULL, modified = {NOW}"
            " WHERE id = ?",
            (run.id,),
        )
    return get(conn, run.id)


def checkpoint(conn, run, phase, after, documents):
    """Record that ``phase`` has loaded everything up to id ``after``."""
    run.checkpoint = {"phase": phase, "after": after}
    run.documents += documents
    with transaction(conn):
        conn.execute(
            f"UPDATE etl_run SET checkpoint = ?, documents = ?, modified = {NOW}"
            " WHERE id = ?",
            (json.dumps(run.checkpoint), run.documents, run.id),
        )


def finish(conn, run, state, error=None):
    """Record the end of a run: completed or failed."""
    with transaction(conn):
        conn.execute(
            f"UPDATE etl_run SET state = ?, error = ?, finished_at = {NOW}, modified = {NOW}"
            " WHERE id = ?",
            (state, error, run.id),
        )
    return get(conn, run.id)


def catalogue_clock(catalogue):
    """Read the catalogue's clock under its write lock, held for that moment only.

    It is the clock the ``modified`` stamps use. Every change stamped before this reading was committed before it, since a
    writer stamps and commits while it holds the lock; every later change is
    stamped later. A run that reads the catalogue after this misses nothing
    stamped before it, and the next run reads changes from it on.
    """
    with transaction(catalogue):
        return catalogue.execute(f"SELECT {NOW}").fetchone()[0]
