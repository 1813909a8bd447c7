"""ETL state kept in SQLite: runs, checkpoints and the lock against parallel runs.

Every write here is one short transaction (``app.db.transaction``), so a
request that writes to the catalogue meanwhile waits milliseconds at most.
"""

import contextlib
import fcntl
import json
from dataclasses import dataclass
from pathlib import Path

from app.db import transaction
from etl import EtlError

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


def latest(conn, target, state=None):
    """Return the newest run for ``target`` (in ``state`` if given), or None."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM etl_run WHERE target = ?"
        " AND (? IS NULL OR state = ?) ORDER BY id DESC LIMIT 1",
        (target, state, state),
    ).fetchone()
    return Run.from_row(row) if row else None


def start(conn, target, mode, watermark):
    """Record a new running run and return it."""
    with transaction(conn):
        cursor = conn.execute(
            "INSERT INTO etl_run (target, mode, state, watermark, checkpoint)"
            " VALUES (?, ?, 'running', ?, '{}')",
            (target, mode, watermark),
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


def now(conn):
    """Return SQLite's clock, the one the ``modified`` columns use."""
    return conn.execute(f"SELECT {NOW}").fetchone()[0]
