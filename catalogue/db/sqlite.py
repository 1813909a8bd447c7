"""SQLite access: connections in WAL mode, raw SQL, rows as ``sqlite3.Row``.

The catalogue's embedded store (``catalogue.db`` picks it when no
``DATABASE_URL`` is set), and the files of the embedded search index and of
the ETL's state use it too.

Opening a connection costs more than most requests' queries (0.5 ms, against
7 µs for a read by key), so each process keeps a few open between requests
(:class:`IdleConnections`); a request still has one connection of its own.

SQLite folds its write-ahead log back into the file (a checkpoint: the pages
written, then the file synced) in whichever connection commits once the log
passes 1,000 pages: measured at up to 55 ms on the catalogue and 405 ms on
the embedded index, paid by the request that happened to commit, the
catalogue's on the event loop. The connections a web process writes through
leave that to the process's :class:`Checkpointer`, in a thread of its own.

Every file the service reads is in WAL mode, so readers never wait on a writer.
Every write goes through :func:`transaction`: ``BEGIN IMMEDIATE``, the writes,
``COMMIT`` (``ROLLBACK`` on error). The wait for the write lock is the only wait
a write has in WAL mode, and SQLite's own wait (``busy_timeout``) sleeps without
yielding to gevent, freezing every request of the worker: the transaction asks
for the lock without SQLite's wait and sleeps between tries with ``time.sleep``,
which gevent turns into a cooperative sleep in the web workers.
"""

import logging
import os
import sqlite3
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import tenacity
from flask import g, has_request_context
from gevent import monkey

from catalogue import usernames
from catalogue.db.errors import DatabaseBusy
from catalogue.ids import stable_id

# What a statement outside a write may block its worker for, should SQLite ever
# make a reader wait (it does only while it recovers a WAL after a crash).
BUSY_TIMEOUT_MS = 50
# Seconds a write waits for the write lock before giving up, by default.
WRITE_TIMEOUT = 5.0
# Pauses between tries for the write lock: random, growing from 1 ms to 10 ms.
# A try costs microseconds, and writers that slept up to 50 ms after the lock
# was free made the admin writes' p99 169-220 ms instead of 187-262 ms.
_FIRST_PAUSE, _LONGEST_PAUSE = 0.001, 0.01
# Connections a process keeps open between requests (more are closed).
IDLE_CONNECTIONS = 8
# Seconds between a write and the checkpoint of its file, in a web process.
CHECKPOINT_SECONDS = 1.0

logger = logging.getLogger(__name__)
# The checkpointer's thread, lock and sleep are the system's own under gevent too.
_start_native_thread = monkey.get_original("_thread", "start_new_thread")
_native_lock = monkey.get_original("_thread", "allocate_lock")
_native_sleep = monkey.get_original("time", "sleep")


class Connection(sqlite3.Connection):
    """A connection that knows how long its writes may wait for the write lock.

    ``identity`` tells which file it was opened on (see IdleConnections);
    ``checkpointer`` folds its log back into its file after its writes, when
    SQLite does not (see Checkpointer).
    """

    engine = "sqlite"
    write_timeout = WRITE_TIMEOUT
    identity = None
    checkpointer = None
    checkpoint_path = None


def connect(path, *, readonly=False, create=True, write_timeout=WRITE_TIMEOUT):
    """Open a connection in autocommit mode, with the pragmas the service relies on.

    ``create=False`` refuses a missing file instead of creating an empty one.
    Transactions are explicit: reads run on their own, writes in
    :func:`transaction`.
    """
    options = {
        "isolation_level": None,
        "check_same_thread": False,
        "factory": Connection,
    }
    if readonly or not create:
        mode = "ro" if readonly else "rw"
        conn = sqlite3.connect(
            f"{Path(path).resolve().as_uri()}?mode={mode}", uri=True, **options
        )
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, **options)
    conn.write_timeout = write_timeout
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        conn.execute("PRAGMA synchronous = NORMAL")
    conn.create_function("stable_id", 2, stable_id, deterministic=True)
    conn.create_function("username_key", 1, usernames.key, deterministic=True)
    conn.create_function("username_skeleton", 1, usernames.skeleton, deterministic=True)
    return conn


def use_wal(conn):
    """Switch the database of ``conn`` to WAL for good; readers never wait then."""
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode.lower() != "wal":
        raise sqlite3.OperationalError(f"cannot switch to WAL, still {mode}")


@contextmanager
def transaction(conn):
    """Run the block in one write transaction: all of it is committed, or nothing.

    The write lock is asked for up front (``BEGIN IMMEDIATE``), so no statement
    inside waits; while another connection holds it, this one sleeps and tries
    again, cooperatively, for up to the connection's ``write_timeout``, then
    raises DatabaseBusy. A request's
    first write yields once before it asks, so that under gevent the requests
    waiting on the worker (a cached page, say) are not held behind it: beside
    50 writers of collections, the cached page's p99 went from 62 to 33 ms, and
    the writes' own from 77 to 47 ms. Once a request, not once a write: an
    admin's write (three transactions) waited three turns of a busy worker.
    """
    if conn.in_transaction:
        raise RuntimeError("a transaction is already open on this connection")
    if has_request_context() and not g.get("_yielded_for_write"):
        g._yielded_for_write = True
        time.sleep(0)
    _begin_immediate(conn)
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    if conn.checkpointer is not None:
        conn.checkpointer.wrote(conn.checkpoint_path)


def _begin_immediate(conn):
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(_is_busy),
        wait=tenacity.wait_random_exponential(
            multiplier=_FIRST_PAUSE, max=_LONGEST_PAUSE
        ),
        stop=tenacity.stop_after_delay(conn.write_timeout),
        sleep=time.sleep,
        reraise=True,
    )
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        retrying(conn.execute, "BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if not _is_busy(exc):
            raise
        raise DatabaseBusy(
            f"the write lock stayed taken for {conn.write_timeout:g} s"
        ) from None
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def _is_busy(exc):
    """Tell whether SQLite refused because another connection holds a lock."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.OperationalError) and (
        code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    )


def statements(script):
    """Split an SQL script into its statements, to run one by one in a transaction."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            yield statement
            statement = ""


class Checkpointer:
    """Checkpoints of the files a process writes, in a thread, off its requests.

    A connection :meth:`attach`-ed here no longer checkpoints when it commits
    (``wal_autocheckpoint`` 0); each commit says which file it wrote, and at
    most ``interval`` seconds later the checkpointer's thread folds that
    file's log into it, ``PASSIVE`` (it never waits for readers or writers).
    The thread is a real one even under gevent (commits come from greenlets
    and from the indexing threads alike), so no request waits for it; it
    stops when a round finds nothing written, and the next write starts it.
    """

    def __init__(self, interval=CHECKPOINT_SECONDS):
        self.interval = interval
        self._written = set()
        self._lock = _native_lock()
        self._running = False

    def attach(self, conn, path):
        """Leave the checkpoints of ``conn``, a connection to ``path``, to this."""
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.checkpointer, conn.checkpoint_path = self, str(path)

    def wrote(self, path):
        """Note a commit to ``path``: it is checkpointed within the interval."""
        with self._lock:
            self._written.add(path)
            if self._running:
                return
            self._running = True
        _start_native_thread(self._run, ())

    def running(self):
        """Whether the thread runs (a write is waiting for its checkpoint)."""
        return self._running

    def _run(self):
        while True:
            _native_sleep(self.interval)
            with self._lock:
                paths, self._written = self._written, set()
                if not paths:
                    self._running = False
                    return
            for path in sorted(paths):
                try:
                    checkpoint(path)
                except sqlite3.Error as exc:  # gone (a replaced index file), say
                    logger.info("checkpoint of %s skipped: %s", path, exc)


def checkpoint(path):
    """Fold the write-ahead log of ``path`` into it, as far as readers allow."""
    conn = connect(path, create=False)
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        conn.close()


class IdleConnections:
    """The connections of one process to one database, kept between requests.

    A connection is given out again only while the file at the path is the
    one it was opened on, so a database replaced at the same path is opened
    anew; after a fork, the parent's connections are left alone, never used.
    ``opener(path)`` opens a new one (by default :func:`connect`, which
    never creates the file).
    """

    def __init__(
        self,
        path,
        write_timeout=WRITE_TIMEOUT,
        size=IDLE_CONNECTIONS,
        checkpointer=None,
        opener=None,
    ):
        self.path = path
        self.write_timeout = write_timeout
        self.size = size
        self.checkpointer = checkpointer
        self.opener = opener or partial(
            connect, create=False, write_timeout=write_timeout
        )
        self._idle = []
        self._pid = os.getpid()
        self._lock = _native_lock()  # indexing threads share some with the loop

    def take(self):
        """Return an open connection: an idle one to the same file, or a new one.

        With the default opener, a missing file is not created: it raises
        sqlite3.Error.
        """
        identity = _identity(self.path)
        if self._pid != os.getpid():
            self._idle, self._pid = [], os.getpid()
        while True:
            with self._lock:
                if not self._idle:
                    break
                conn = self._idle.pop()
            if conn.identity == identity and identity is not None:
                return conn
            conn.close()
        conn = self.opener(self.path)
        conn.identity = identity
        if self.checkpointer is not None:
            self.checkpointer.attach(conn, self.path)
        return conn

    def give_back(self, conn):
        """Keep ``conn`` for a later request, or close it if enough are kept."""
        with self._lock:
            keep = len(self._idle) < self.size and self._pid == os.getpid()
            if keep:
                self._idle.append(conn)
        if not keep:
            conn.close()

    def close(self):
        """Close the connections kept; one given out is closed when given back."""
        with self._lock:
            idle, self._idle, self.size = self._idle, [], 0
        if self._pid == os.getpid():
            for conn in idle:
                conn.close()


def _identity(path):
    """Return what tells the file at ``path`` from a successor, or None if missing."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino
