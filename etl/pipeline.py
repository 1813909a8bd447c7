"""The ETL run: extract, transform and load every index, full or incremental.

A full run loads into a fresh generation of indices and publishes it in one
atomic step. An incremental run updates the live indices with what changed
since the last completed run, deletions included. Either kind, killed at any
point, is resumed by the next run from its last checkpoint.
"""

import contextlib
import queue
import threading
import time
from dataclasses import dataclass, field
from functools import partial

from catalogue.db import reopen
from catalogue.indexing import extract, transform
from catalogue.search import GENRES, MOVIES, PERSONS
from catalogue.versions import new_data_version
from etl import load, state

PHASES = (MOVIES, PERSONS, GENRES)
_DONE = object()


@dataclass
class Summary:
    """What a run did."""

    run_id: int
    mode: str
    resumed: bool
    documents: dict = field(default_factory=dict)
    removed: int = 0
    merged: int = 0
    seconds: float = 0.0

    @property
    def total(self):
        """Documents written across all indices."""
        return sum(self.documents.values())


class NullProgress:
    """Progress reporting that shows nothing."""

    def start(self, phase, total):
        """Begin a phase of ``total`` documents."""

    def update(self, count):
        """Advance by ``count`` documents."""

    def close(self):
        """End the current phase."""


def plan(conn, indexer, state_db, full):
    """Return ``(run, resumed)``: the unfinished run to resume, or a new one."""
    target = indexer.describe()
    last = state.latest(state_db, target)
    if last is not None and last.state != "completed":
        if last.mode == "full" or not full:
            return state.resume(state_db, last), True
        state.finish(state_db, last, "failed", "superseded by a full run")
    completed = state.latest(state_db, target, "completed")
    started_at = state.catalogue_clock(conn)
    if (
        full
        or completed is None
        or indexer.live_generation() is None
        or indexer.outdated()
    ):
        return state.start(state_db, target, "full", None, started_at), False
    since = completed.started_at
    return state.start(state_db, target, "incremental", since, started_at), False


def run(conn, indexer, *, state_db, full=False, batch_size=2000, progress=None):
    """Run the ETL from the catalogue ``conn`` into ``indexer``; return a Summary.

    Runs and checkpoints are kept in ``state_db``; nothing is written to the
    catalogue. The data goes live with a new data version, which makes every
    answer cached before unreachable. Raises on failure.
    """
    progress = progress or NullProgress()
    started = time.perf_counter()
    current, resumed = plan(conn, indexer, state_db, full)
    summary = Summary(current.id, current.mode, resumed)
    try:
        indexer.prepare(current.generation)
        since = current.watermark
        if since is not None:
            summary.removed = load.remove_deleted(
                indexer, extract.deletions(conn, since)
            )
        for phase in _remaining(current):
            after = _resume_point(current, phase)
            progress.start(phase, _total(conn, phase, since))
            produce = partial(
                _batches, phase=phase, batch_size=batch_size, after=after, since=since
            )
            with prefetched(conn, produce) as batches:
                summary.documents[phase] = load.load_batches(
                    state_db, indexer, current, phase, batches, progress
                )
            progress.close()
        if current.generation is None:
            indexer.refresh()
            indexer.set_data_version(new_data_version())
        elif indexer.live_generation() != current.generation:
            indexer.set_data_version(new_data_version(), current.generation)
            indexer.publish(current.generation)
    except BaseException as exc:
        state.finish(state_db, current, "failed", _describe(exc))
        raise
    state.finish(state_db, current, "completed")
    if current.generation is None:
        # What the run wrote is live: its segments are merged after, off the
        # requests, before they slow the searches down.
        summary.merged = indexer.merge()
    summary.seconds = time.perf_counter() - started
    return summary


@contextlib.contextmanager
def prefetched(conn, produce, depth=2):
    """Yield the batches of ``produce(reader)``, made by a thread ahead of their use.

    Reading the catalogue and transforming rows overlaps with writing the previous batch
    (SQLite and network waits release the GIL). The thread reads through its own
    read-only connection to the database of ``conn``, and stops when the caller
    stops consuming, whether it finished or failed.
    """
    handoff = queue.Queue(maxsize=depth)
    stopping = threading.Event()

    def offer(item):
        while not stopping.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work():
        reader = reopen(conn)
        try:
            for batch in produce(reader):
                if not offer((batch, None)):
                    return
            offer((_DONE, None))
        except Exception as exc:  # handed to the consumer, which raises it
            offer((None, exc))
        finally:
            reader.close()

    def consume():
        while True:
            batch, error = handoff.get()
            if error is not None:
                raise error
            if batch is _DONE:
                return
            yield batch

    thread = threading.Thread(target=work, name="etl-extract", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stopping.set()
        thread.join()


def _remaining(run):
    phase = run.checkpoint.get("phase")
    return PHASES[PHASES.index(phase) :] if phase in PHASES else PHASES


def _resume_point(run, phase):
    if run.checkpoint.get("phase") == phase:
        return run.checkpoint.get("after", "")
    return ""


def _total(conn, phase, since):
    if phase == MOVIES:
        return extract.count_films(conn, since)
    if phase == PERSONS:
        return extract.count_persons(conn, since)
    return None


def _batches(conn, phase, batch_size, after, since):
    if phase == MOVIES:
        for films, genres, credits in extract.film_batches(
            conn, batch_size, after, since
        ):
            yield transform.movie_documents(films, genres, credits), films[-1]["id"]
    elif phase == PERSONS:
        for persons, credits in extract.person_batches(conn, batch_size, after, since):
            yield transform.person_documents(persons, credits), persons[-1]["id"]
    else:
        rows = extract.genres(conn)
        if rows:
            yield transform.genre_documents(rows), rows[-1]["id"]


def _describe(exc):
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"{type(exc).__name__}: {exc}"
