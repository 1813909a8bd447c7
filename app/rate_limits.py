"""Rate limits (flask-limiter): in Redis when REDIS_URL is set, else in a SQLite file.

Only the routes that name a limit have one (log-ins and registrations, see
``app.resources.accounts.routes``). Without Redis the counts are kept in
``RATE_LIMITS_PATH``, shared by every worker of the machine: counted in each
worker's memory, two workers let twice the failed log-ins through.

That file is written as the catalogue is (``catalogue.db``): WAL, one short
transaction per hit, whose wait for the write lock sleeps cooperatively under
gevent instead of in SQLite's busy handler, which would freeze the worker.
A storage that fails (Redis down, the file's lock held too long) lets requests
through on per-worker limits in memory, rather than failing them.
"""

import sqlite3
import time
from contextlib import contextmanager
from functools import partial

from limits.storage import Storage

from app.extensions import limiter
from catalogue.db import DatabaseBusy
from catalogue.db.sqlite import IdleConnections, connect, transaction, use_wal

KEY_PREFIX = "movie-catalogue:limits"
SCHEME = "movie-catalogue-sqlite"
# Seconds a hit waits for the file's write lock before the memory fallback.
WRITE_TIMEOUT = 1.0
# Seconds between two purges of expired counts by one process.
PURGE_INTERVAL = 60.0
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS hit ("
    " key TEXT PRIMARY KEY,"
    " count INTEGER NOT NULL,"
    " expires_at REAL NOT NULL"
    ") WITHOUT ROWID"
)


def _open(path, write_timeout):
    """Open the limits file, making it (WAL, its one table) if it is new."""
    conn = connect(path, write_timeout=write_timeout)
    use_wal(conn)
    with transaction(conn):
        conn.execute(_SCHEMA)
    return conn


class SQLiteStorage(Storage):
    """A storage of ``limits`` counts in a SQLite file (fixed windows).

    Its URI is ``movie-catalogue-sqlite:///<path>``. Each key holds a count and
    when its window ends; a hit in an ended window starts the next one.
    """

    STORAGE_SCHEME = [SCHEME]

    def __init__(
        self, uri, wrap_exceptions=False, write_timeout=WRITE_TIMEOUT, **options
    ):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = uri.split("://", 1)[1]
        self._connections = IdleConnections(
            self.path,
            write_timeout,
            opener=partial(_open, write_timeout=write_timeout),
        )
        self._purged_at = 0.0

    @property
    def base_exceptions(self):
        """What a failing file raises: flask-limiter then falls back to memory."""
        return (sqlite3.Error, DatabaseBusy, OSError)

    @contextmanager
    def _connection(self):
        conn = self._connections.take()
        try:
            yield conn
        except BaseException:
            conn.close()
            raise
        self._connections.give_back(conn)

    def incr(self, key, expiry, amount=1):
        """Add ``amount`` to the count of ``key``'s window; return the new count."""
        now = time.time()
        with self._connection() as conn, transaction(conn):
            (count,) = conn.execute(
                "INSERT INTO hit (key, count, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET"
                " count = CASE WHEN expires_at <= ? THEN excluded.count"
                "   ELSE count + excluded.count END,"
                " expires_at = CASE WHEN expires_at <= ? THEN excluded.expires_at"
                "   ELSE expires_at END"
                " RETURNING count",
                (key, amount, now + expiry, now, now),
            ).fetchone()
            if now - self._purged_at > PURGE_INTERVAL:
                self._purged_at = now
                conn.execute("DELETE FROM hit WHERE expires_at <= ?", (now,))
        return count

    def get(self, key):
        """Return the count of ``key``'s current window, 0 if it has none."""
        with self._connection() as conn:
            row = conn.execute(
                "SELECT count FROM hit WHERE key = ? AND expires_at > ?",
                (key, time.time()),
            ).fetchone()
        return row[0] if row else 0

    def get_expiry(self, key):
        """Return when ``key``'s window ends (Unix time); now if it has none."""
        now = time.time()
        with self._connection() as conn:
            row = conn.execute(
                "SELECT expires_at FROM hit WHERE key = ? AND expires_at > ?",
                (key, now),
            ).fetchone()
        return row[0] if row else now

    def check(self):
        """Whether the file can be read."""
        try:
            with self._connection() as conn:
                conn.execute("SELECT 1 FROM hit LIMIT 1").fetchall()
        except self.base_exceptions:
            return False
        return True

    def reset(self):
        """Forget every count; return how many there were."""
        with self._connection() as conn, transaction(conn):
            return conn.execute("DELETE FROM hit").rowcount

    def clear(self, key):
        """Forget the count of ``key``."""
        with self._connection() as conn, transaction(conn):
            conn.execute("DELETE FROM hit WHERE key = ?", (key,))


def init_app(app):
    """Keep the limits where the settings say; answer 429 with Retry-After."""
    config = app.config
    timeout = config["REDIS_SOCKET_TIMEOUT"]
    if config["REDIS_URL"]:
        uri = config["REDIS_URL"]
        options = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    else:
        uri = f"{SCHEME}://{config['RATE_LIMITS_PATH']}"
        options = {}
    app.config.update(
        RATELIMIT_STORAGE_URI=uri,
        RATELIMIT_STORAGE_OPTIONS=options,
        RATELIMIT_KEY_PREFIX=KEY_PREFIX,
        RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
    )
    limiter.init_app(app)
