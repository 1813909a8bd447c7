"""The count of answered requests: one Redis counter, or a file shared by one server.

Every request the app answers is counted when its answer starts, whatever its
path and status (``CountingMiddleware``). With ``REDIS_URL`` the count is one
Redis key (``INCRBY``), shared by every worker of every machine. Without it, the
count is eight bytes in ``REQUEST_COUNT_PATH``, changed under a file lock: exact
across the workers of one server, and per server.

A Redis that fails never fails a request: the count is skipped for a few
seconds, the requests missed meanwhile are counted in the worker and added at
the next write that works, and the failure is logged once a pause.
"""

import fcntl
import mmap
import os
import struct
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import gevent
import redis
from gevent import monkey

from catalogue.circuit import Circuit

REDIS_KEY = "movie-catalogue:request-count"
# After a Redis failure, count in the worker for this many seconds.
PAUSE_AFTER_FAILURE = 5.0
_COUNT = struct.Struct("<Q")


class CounterUnavailable(Exception):
    """The count cannot be read or reset right now."""


class FileCounter:
    """A count shared by the processes of one machine through a file."""

    def __init__(self, path):
        self.path = Path(path)
        self._owner = None
        self._fd = None
        self._map = None

    def increment(self):
        """Add one answered request."""
        with self._locked() as counts:
            counts[:8] = _COUNT.pack(_COUNT.unpack(counts[:8])[0] + 1)

    def read(self):
        """Return the count."""
        with self._locked() as counts:
            return _COUNT.unpack(counts[:8])[0]

    def reset(self):
        """Set the count to zero."""
        with self._locked() as counts:
            counts[:8] = _COUNT.pack(0)

    @contextmanager
    def _locked(self):
        """Yield the mapped count, this process holding the file's lock."""
        if self._owner != os.getpid():
            self._open()
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield self._map
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _open(self):
        """Map the file, once per process (a forked worker opens its own)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            if os.fstat(self._fd).st_size < _COUNT.size:
                os.ftruncate(self._fd, _COUNT.size)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._map = mmap.mmap(self._fd, _COUNT.size)
        self._owner = os.getpid()


class RedisCounter:
    """The count in one Redis key, shared by every worker that uses this Redis.

    Each worker counts on a connection of its own on which Redis sends no
    replies (``CLIENT REPLY OFF``), so a count costs no round trip. Under
    gevent the requests answered in one turn of the event loop are sent as one
    ``INCRBY`` as soon as the answers are written: a read that one of their
    clients makes next finds them counted. Reads and resets go over the same
    connection, replies on for them, after every count of this worker.
    """

    def __init__(self, client, logger, clock=time.monotonic):
        self.client = client
        self.logger = logger
        self.clock = clock
        self.missed = 0
        self.circuit = Circuit(PAUSE_AFTER_FAILURE, clock=lambda: self.clock())
        self._owner = None
        self._conn = None
        self._unsent = 0
        self._sending = False
        # One request at a time on the connection (a gevent lock under gevent).
        self._lock = threading.Lock()

    def increment(self):
        """Add one answered request; it is sent with the others of this turn."""
        if not monkey.is_module_patched("threading"):
            with self._lock:
                self._unsent += 1
                self._send_counts()
            return
        # Greenlets switch only where they wait: no lock needed to add one.
        self._unsent += 1
        if not self._sending:
            self._sending = True
            gevent.spawn(self._send)

    def _send(self):
        with self._lock:
            self._sending = False
            self._send_counts()

    def _send_counts(self):
        """Send the unsent counts, and those missed while Redis failed."""
        count, self._unsent = self._unsent, 0
        if not count + self.missed:
            return
        if not self.circuit.allow():
            self.missed += count
            return
        try:
            self._connection().send_command("INCRBY", REDIS_KEY, count + self.missed)
        except (redis.RedisError, OSError) as exc:
            self.missed += count
            self._failed(exc)
        else:
            self.circuit.succeeded()
            self.missed = 0

    def read(self):
        """Return the count; CounterUnavailable if Redis fails."""
        return int(self._ask("GET", REDIS_KEY) or 0)

    def reset(self):
        """Set the count to zero; CounterUnavailable if Redis fails."""
        self._ask("SET", REDIS_KEY, 0)
        self.missed = 0

    def _ask(self, *command):
        """Send ``command`` after this worker's counts; return Redis's reply."""
        with self._lock:
            self._send_counts()
            conn = self._connection()
            try:
                conn.send_command("CLIENT", "REPLY", "ON")
                conn.send_command(*command)
                conn.send_command("CLIENT", "REPLY", "OFF")
                conn.read_response()
                return conn.read_response()
            except (redis.RedisError, OSError) as exc:
                conn.disconnect()
                raise CounterUnavailable(type(exc).__name__) from None

    def _connection(self):
        """Return this process's own connection for the counts."""
        if self._owner != os.getpid():
            pool = self.client.connection_pool
            self._conn = pool.connection_class(**pool.connection_kwargs)
            self._conn.register_connect_callback(self._no_replies)
            self._owner = os.getpid()
        return self._conn

    def _no_replies(self, conn):
        """Ask Redis for no replies on the counting connection, at each connect."""
        conn.send_command("CLIENT", "REPLY", "OFF")

    def _failed(self, exc):
        """Count in the worker for a pause; the counts in flight may be lost."""
        self._conn.disconnect()
        if not self.circuit.failed():
            return
        self.logger.warning(
            "request counter failed, counting in this worker for %.0f s"
            " (%d requests not yet in Redis): %s",
            PAUSE_AFTER_FAILURE,
            self.missed,
            type(exc).__name__,
        )


class CountingMiddleware:
    """WSGI middleware: count each request when its answer starts.

    An answer's count comes after its own body is made: a read of the count
    does not count itself, and a reset is counted once it has reset.
    """

    def __init__(self, wsgi_app, counter, logger):
        self.wsgi_app = wsgi_app
        self.counter = counter
        self.logger = logger

    def __call__(self, environ, start_response):
        """Answer the request, counting it as the answer starts."""

        def counting_start_response(status, headers, exc_info=None):
            try:
                self.counter.increment()
            except Exception as exc:  # counting must never fail an answer
                self.logger.warning("request counter failed: %s", type(exc).__name__)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, counting_start_response)


def create_counter(app):
    """Build the counter the settings ask for: Redis, or the file."""
    if app.config["REDIS_URL"]:
        return RedisCounter(app.extensions["redis"], app.logger)
    return FileCounter(app.config["REQUEST_COUNT_PATH"])


def init_app(app):
    """Count every request the app answers, unless REQUEST_COUNTING is off."""
    counter = app.extensions["request-counter"] = create_counter(app)
    if app.config["REQUEST_COUNTING"]:
        app.wsgi_app = CountingMiddleware(app.wsgi_app, counter, app.logger)
