"""The write-through: what an API write changed, from the catalogue into the live indices.

A write of the catalogue (an admin's create, change or delete) runs in one
transaction that also calls :func:`note_changes`: the write takes the next
catalogue revision and leaves in ``search_backlog`` one row per film, person
and genre it changed. Right after the commit, :func:`index_after_write` reads
those documents again, in one read transaction that also reads the revision,
builds them with the same extract and transform as the ETL, and writes them to
the live indices with that revision as their version: of two writes racing,
the later state wins in the index whichever of them indexes last. Then the data
version moves on, so no answer cached before the write is served, and the
backlog rows it indexed are cleared.

The segments that writes leave in the embedded index are merged by the next
incremental ETL run and by the catch-up's rounds (see ``CatchUp``); FTS5's own
automerge bounds them meanwhile. A merge started by writes themselves, every
100 of them, held the index's write lock long enough to raise 20 paced admins'
write p99 from 31-33 ms to 820-1,175 ms at 200,000 films.

When the search engine fails, the write stays saved and answers that its
indexing is pending. The process then catches up on its own
(:class:`CatchUp`): every ``SEARCH_CATCH_UP_SECONDS`` it indexes what the
backlog still holds, until the backlog is empty. A process that starts
serving while the backlog holds rows, left by processes that died before
catching up, starts its catch-up too (:func:`catch_up_on_first_request`).
The incremental ``flask etl run`` reads the same changes from the
``modified`` stamps as well.
"""

import json
import os
import threading
import time
from dataclasses import dataclass, field

from flask import current_app

from catalogue import versions
from catalogue.db import (
    DatabaseError,
    engine,
    get_checkpointer,
    get_db,
    lock_rows,
    open_catalogue,
    snapshot,
    transaction,
)
from catalogue.indexing import extract, transform
from catalogue.search import GENRES, MOVIES, PERSONS, create_indexer
from catalogue.threads import off_the_loop

DONE, PENDING = "done", "pending"
# The entity of each index, as the backlog and the tombstones name it.
ENTITIES = {MOVIES: "film", PERSONS: "person", GENRES: "genre"}
# Backlog rows indexed per step of a catch-up.
CATCH_UP_BATCH = 500
# A write that changed more documents than this (a genre of many films renamed)
# is indexed by the catch-up, a batch at a time, instead of before it answers.
WRITE_THROUGH_LIMIT = 500
# Real threads per worker that index writes off the event loop (gevent): index
# writes take the index's one write lock in turn anyway.
WRITE_THROUGH_THREADS = 2
# A batch of at most this many documents is indexed on the event loop: in a
# thread, each of its SQLite calls waited for the GIL, and a write took twice
# as long (p50 19-26 ms against 12-13 ms, p99 185-276 ms against 131-224 ms over
# five runs each, with cached pages still under 36 ms). A larger batch goes to a thread, so that
# it never holds the loop for long.
ON_LOOP_DOCUMENTS = 50
# A backlog row this many seconds old was left by a write that no longer
# indexes it (its process died first); a younger one is most likely a write of
# another process still indexing its own changes.
LEFT_BEHIND_SECONDS = 10
# Set in app.extensions once the first request has checked the backlog.
_BACKLOG_CHECKED = "search-backlog-checked"
# The next revision: the clock in milliseconds, or one above the last.
_NEXT_REVISION = (
    "UPDATE catalogue_revision SET revision = CASE WHEN revision + 1 > :now"
    " THEN revision + 1 ELSE :now END WHERE id = 1 RETURNING revision"
)

# PostgreSQL's note_changes: the next revision and the backlog's rows at once.
_NOTE_CHANGES = (
    "WITH next AS (" + _NEXT_REVISION + "), noted AS ("
    " INSERT INTO search_backlog (entity, entity_id, revision)"
    " SELECT item ->> 0, item ->> 1, next.revision"
    " FROM next, json_array_elements(CAST(:items AS json)) AS item"
    " ON CONFLICT (entity, entity_id) DO UPDATE SET revision = excluded.revision"
    ") SELECT revision FROM next"
)


@dataclass
class Changes:
    """The ids of the films, persons and genres one write changed."""

    films: set = field(default_factory=set)
    persons: set = field(default_factory=set)
    genres: set = field(default_factory=set)

    def by_index(self):
        """Return ``{index: ids}``."""
        return {MOVIES: self.films, PERSONS: self.persons, GENRES: self.genres}

    def __bool__(self):
        return bool(self.films or self.persons or self.genres)


def note_changes(conn, changes):
    """Take the next revision and note ``changes`` in the backlog; return it.

    Runs inside the write's transaction, so the note commits with the write,
    as its last statement: on PostgreSQL the revision's row stays locked until
    the commit, so writes take their revisions in the order they commit, and
    the one statement that takes it and notes the changes is all that another
    write waits for, with the commit. Each round trip held there under load
    waits for a turn of the event loop: a write that read its document after
    the note held the row for five of them.
    """
    now = int(time.time() * 1000)
    items = [
        (ENTITIES[index], entity_id)
        for index, ids in changes.by_index().items()
        for entity_id in sorted(ids)
    ]
    if conn.engine == "postgresql":
        return conn.execute(
            _NOTE_CHANGES, {"now": now, "items": json.dumps(items)}
        ).fetchone()[0]
    revision = conn.execute(_NEXT_REVISION, {"now": now}).fetchone()[0]
    conn.executemany(
        "INSERT INTO search_backlog (entity, entity_id, revision) VALUES (?, ?, ?)"
        " ON CONFLICT (entity, entity_id) DO UPDATE SET revision = excluded.revision",
        [(entity, entity_id, revision) for entity, entity_id in items],
    )
    return revision


def film_document(conn, film_id):
    """Return the document of one film as the index will hold it, or None."""
    documents = transform.movie_documents(*extract.films_by_id(conn, {film_id}))
    return documents[0] if documents else None


def genre_document(conn, genre_id):
    """Return the document of one genre as the index will hold it, or None."""
    documents = transform.genre_documents(extract.genres_by_id(conn, {genre_id}))
    return documents[0] if documents else None


def document_before_write(conn, table, item_id, check=None):
    """Return the film or genre (``table``) ``item_id`` as it was, or None if missing.

    Its row is locked first, so that of two writes of it at once the second
    reads what the first wrote. ``check(document)`` sees it then, inside the
    write's transaction, and may refuse the write by raising (a stale
    ``If-Match``).
    """
    lock_rows(conn, table, [item_id])
    before = _DOCUMENTS[table](conn, item_id)
    if before is not None and check is not None:
        check(before)
    return before


_DOCUMENTS = {"film": film_document, "genre": genre_document}


def read_documents(conn, changes):
    """Read the documents of ``changes`` in one snapshot of the catalogue.

    Returns ``(revision, documents, missing)``: the revision the snapshot is
    at, ``{index: documents}`` of what exists and ``{index: ids}`` of what no
    longer does.
    """
    with snapshot(conn):
        revision = conn.execute(
            "SELECT revision FROM catalogue_revision WHERE id = 1"
        ).fetchone()[0]
        documents = {
            MOVIES: transform.movie_documents(
                *extract.films_by_id(conn, changes.films)
            ),
            PERSONS: transform.person_documents(
                *extract.persons_by_id(conn, changes.persons)
            ),
            GENRES: transform.genre_documents(
                extract.genres_by_id(conn, changes.genres)
            ),
        }
    missing = {
        index: sorted(ids - {doc["id"] for doc in documents[index]})
        for index, ids in changes.by_index().items()
    }
    return revision, documents, missing


def index_changes(conn, indexer, changes):
    """Index the documents of ``changes`` as they are now; clear their backlog rows.

    Raises whatever the search engine raised; the backlog then keeps them.
    """
    revision, documents, missing = read_documents(conn, changes)
    indexer.write_changes(documents, missing, revision, versions.new_data_version())
    with transaction(conn):
        conn.executemany(
            "DELETE FROM search_backlog"
            " WHERE entity = ? AND entity_id = ? AND revision <= ?",
            [
                (ENTITIES[index], entity_id, revision)
                for index, ids in changes.by_index().items()
                for entity_id in ids
            ],
        )
    return revision


def has_backlog(conn, older_than=None):
    """Return whether the backlog holds a row (one ``older_than`` seconds or more).

    A row's revision is the clock in milliseconds when it was noted, or just
    above the revision before it (so a row may look younger, never older).
    """
    if older_than is None:
        row = conn.execute("SELECT 1 FROM search_backlog LIMIT 1").fetchone()
    else:
        row = conn.execute(
            "SELECT 1 FROM search_backlog WHERE revision <= ? LIMIT 1",
            (int((time.time() - older_than) * 1000),),
        ).fetchone()
    return row is not None


def backlog(conn, limit=CATCH_UP_BATCH):
    """Return the Changes of the oldest ``limit`` backlog rows (empty if none)."""
    rows = conn.execute(
        "SELECT entity, entity_id FROM search_backlog ORDER BY revision LIMIT ?",
        (limit,),
    ).fetchall()
    changes = Changes()
    for entity, entity_id in rows:
        {"film": changes.films, "person": changes.persons, "genre": changes.genres}[
            entity
        ].add(entity_id)
    return changes


def drain(conn, indexer, batch=CATCH_UP_BATCH):
    """Index every change the backlog holds; return how many rows it indexed."""
    indexed = 0
    while changes := backlog(conn, batch):
        index_changes(conn, indexer, changes)
        indexed += sum(len(ids) for ids in changes.by_index().values())
    return indexed


def writethrough_indexer(app):
    """Return the app's indexer for the write-through, which fails fast.

    It tries each write ``WRITE_THROUGH_ATTEMPTS`` times, not the ETL's
    patient ``ELASTICSEARCH_WRITE_ATTEMPTS``: an admin waits for the answer,
    and what it could not index, the catch-up indexes later.
    """
    indexer = app.extensions.get("search-writethrough")
    if indexer is None:
        config = {
            **app.config,
            "ELASTICSEARCH_WRITE_ATTEMPTS": app.config["WRITE_THROUGH_ATTEMPTS"],
            "ELASTICSEARCH_WRITE_BACKOFF": 0.1,
        }
        indexer = app.extensions["search-writethrough"] = create_indexer(
            config, get_checkpointer(app)
        )
    return indexer


def index_after_write(changes):
    """Index what a committed write changed; return DONE, or PENDING on failure.

    A failure never fails the write: it is logged, and the catch-up of this
    process indexes the change once the search engine is back. A write that
    changed more than WRITE_THROUGH_LIMIT documents is left to the catch-up
    at once, which indexes it in batches. The writes of a process that commit
    while another batch is indexing are indexed together (:class:`Batches`).
    A backlog row LEFT_BEHIND_SECONDS old (a process died before indexing it)
    starts the catch-up as well. Younger rows are the writes of other
    processes, still indexing: a catch-up started for them ran all the time
    under 20 admins writing back to back, in rounds of 0.4 to 1.6 s of a
    thread that each request's SQLite calls then waited on for the GIL.
    """
    app = current_app._get_current_object()
    conn = get_db()
    if _size(changes) > WRITE_THROUGH_LIMIT:
        # Indexing all of it now would hold the index's write lock for long.
        catch_up(app).start()
        return PENDING
    try:
        batches(app).index(
            changes, lambda batch: index_batch(conn, writethrough_indexer(app), batch)
        )
    except Exception as exc:  # the write is saved; its indexing waits for the engine
        app.logger.warning(
            "indexing of a write is pending: %s: %s", type(exc).__name__, exc
        )
        catch_up(app).start()
        return PENDING
    finally:
        versions.invalidate()
    if has_backlog(conn, older_than=LEFT_BEHIND_SECONDS):
        catch_up(app).start()
    return DONE


def _size(changes):
    return sum(len(ids) for ids in changes.by_index().values())


def index_batch(conn, indexer, changes):
    """Index a batch of writes: a small one here, a larger one in a thread."""
    if _size(changes) <= ON_LOOP_DOCUMENTS:
        return index_changes(conn, indexer, changes)
    return indexing(index_changes, conn, indexer, changes)


def batches(app):
    """Return the write-through batches of this process, made once."""
    return app.extensions.setdefault("search-write-batches", Batches())


class _Turn:
    """One write waiting in Batches: its changes, and how its batch went."""

    def __init__(self, changes):
        self.changes = changes
        self.called = threading.Event()
        self.finished = False
        self.failure = None

    def finish(self, failure):
        self.finished, self.failure = True, failure
        self.called.set()


class Batches:
    """The writes of one process, indexed a batch at a time (a group commit).

    While one batch is indexing, the writes that commit meanwhile wait, and
    then go together as the next batch: one read of their documents at one
    revision, one index transaction, one new data version (so one new
    rendering of each cached answer) for all of them, instead of one each
    (546 admin writes made 445 batches at 18 writes a second). A write alone
    is a batch of one. The first writer lets the event loop turn once before
    it leads: with 20 admins writing back to back, the writes' p99 went from
    588-639 to 432-447 ms and the cached page's beside them from 158-179 to
    103-114 ms (with paced admins, no difference that could be told).
    The writer first in line indexes the batch for all its writes, whose
    requests then answer as it went; the next in line leads the next batch.
    A batch holds at most WRITE_THROUGH_LIMIT documents.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._waiting = []
        self._leading = False

    def index(self, changes, index_batch):
        """Index ``changes`` in a batch with ``index_batch(changes)``; raise its failure."""
        turn = _Turn(changes)
        with self._lock:
            self._waiting.append(turn)
            leads = not self._leading
            self._leading = True
        if leads:
            # One turn of the event loop first: the writes ready to commit join
            # this batch, and the requests waiting go before its indexing.
            time.sleep(0)
        else:
            turn.called.wait()
        if not turn.finished:
            self._lead(index_batch)
        if turn.failure is not None:
            raise turn.failure

    def _lead(self, index_batch):
        """Index the writes waiting now as one batch, then call the next in line."""
        with self._lock:
            batch = self._take()
        failure = None
        try:
            index_batch(_merged(turn.changes for turn in batch))
        except Exception as exc:
            failure = exc
            raise
        except BaseException:  # the leader was stopped: the others fail, not stop
            failure = RuntimeError("the indexing of this batch was interrupted")
            raise
        finally:
            for turn in batch:
                turn.finish(failure)
            with self._lock:
                if self._waiting:
                    self._waiting[0].called.set()
                else:
                    self._leading = False

    def _take(self):
        """Take the waiting writes, oldest first, up to WRITE_THROUGH_LIMIT documents."""
        taken, size = [], 0
        while self._waiting:
            size += _size(self._waiting[0].changes)
            if taken and size > WRITE_THROUGH_LIMIT:
                break
            taken.append(self._waiting.pop(0))
        return taken


def _merged(changes):
    """Return one Changes holding every id of ``changes``."""
    merged = Changes()
    for each in changes:
        merged.films |= each.films
        merged.persons |= each.persons
        merged.genres |= each.genres
    return merged


def indexing(function, *args):
    """Return ``function(*args)``, run in the indexing threads under gevent.

    Reading the catalogue and writing the embedded index are SQLite calls,
    which never yield: in a thread, the worker's other requests (cached
    pages) go on meanwhile.
    """
    return off_the_loop("indexing", WRITE_THROUGH_THREADS, function, *args)


def catch_up(app):
    """Return the catch-up of this process, made once."""
    return app.extensions.setdefault("search-catch-up", CatchUp(app))


def catch_up_on_first_request():
    """On the first request of a process, start its catch-up if the backlog holds rows.

    Rows left by processes that died before catching up (a restart) would
    otherwise wait for the next failing write or ETL run. The first request is
    the hook because it runs in the process that serves, after gevent has
    patched the standard library (the catch-up is then a greenlet), under any
    server (gunicorn, ``flask run``, the tests' client) and never for a CLI
    command such as ``flask db upgrade``; ``create_app`` and imports stay free
    of work. Gunicorn's ``post_worker_init`` would miss every other server and
    make gunicorn.conf.py import the app. Every later request pays one lookup.

    A node without the catalogue file (search only) opens nothing, and a
    catalogue not migrated yet has no backlog: either way the request goes on.
    """
    app = current_app._get_current_object()
    if _BACKLOG_CHECKED in app.extensions:
        return
    app.extensions[_BACKLOG_CHECKED] = True
    if engine(app.config) == "sqlite" and not os.path.exists(
        app.config["DATABASE_PATH"]
    ):
        return
    try:
        behind = has_backlog(get_db())
    except DatabaseError as exc:
        app.logger.info("search backlog not checked: %s", exc)
        return
    if behind:
        app.logger.info("search backlog left by earlier processes: catching up")
        catch_up(app).start()


class CatchUp:
    """A background thread that indexes the backlog until it is empty.

    Under gevent the thread is a greenlet. It waits
    ``SEARCH_CATCH_UP_SECONDS`` before each try, so it does not repeat the
    work of writes still indexing their own changes, and stops once the
    backlog is empty; a write whose indexing fails starts it again.
    """

    def __init__(self, app):
        self.app = app
        self.interval = app.config["SEARCH_CATCH_UP_SECONDS"]
        self._lock = threading.Lock()
        self._thread = None
        self._stopping = threading.Event()

    def start(self):
        """Start the thread unless it runs."""
        with self._lock:
            if self.running() or self._stopping.is_set():
                return
            self._thread = threading.Thread(
                target=self._run, name="search-catch-up", daemon=True
            )
            self._thread.start()

    def running(self):
        """Whether the thread runs."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def stop(self):
        """Stop the thread before its next round (the backlog keeps what is left)."""
        self._stopping.set()
        thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self):
        with self.app.app_context():
            config = self.app.config
            conn = open_catalogue(config)
            if conn.engine == "sqlite":
                get_checkpointer(self.app).attach(conn, config["DATABASE_PATH"])
            try:
                while not self._stopping.wait(self.interval):
                    if self._round(conn):
                        return
            finally:
                conn.close()

    def _round(self, conn):
        """Index the backlog once, merge what writes left; return whether it is empty.

        The merge runs here, in the indexing threads, never in a request.
        """
        indexer = writethrough_indexer(self.app)
        try:
            indexed = indexing(drain, conn, indexer)
            indexing(indexer.merge)
        except Exception as exc:  # the engine is still down: try again later
            self.app.logger.info(
                "search catch-up waits: %s: %s", type(exc).__name__, exc
            )
            return False
        if indexed:
            self.app.logger.info("search catch-up indexed %d changes", indexed)
            versions.invalidate()
        with self._lock:
            empty = backlog(conn, 1).by_index() == Changes().by_index()
            if empty:
                # Cleared under the lock: a start() after this makes a new thread.
                self._thread = None
            return empty


def release_indexer(exc=None):
    """Let the write-through's indexer free what it keeps and no longer needs."""
    indexer = current_app.extensions.get("search-writethrough")
    if indexer is not None:
        indexer.release()


def init_app(app):
    """Catch up on a backlog left by earlier processes, once each process serves.

    At the end of each request, the indexer frees what it keeps of an index
    that a full load replaced.
    """
    if not app.config["DOCS_ONLY"]:
        app.before_request(catch_up_on_first_request)
        app.teardown_appcontext(release_indexer)
