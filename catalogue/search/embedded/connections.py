"""Read connections to the live file: one per request, a few kept between requests.

A request reads through one connection, inside one read transaction per call,
so that counts, pages and documents agree while a writer commits. Idle
connections keep their page cache between requests: a search reads its
posting lists from memory instead of from the file again.
"""

import sqlite3
from contextlib import closing, contextmanager

from flask import g, has_app_context

from catalogue.search import SearchIndexDamaged, SearchUnavailable
from catalogue.search.embedded.layout import open_for_reading

# Read connections kept open per process between requests, and the page cache of
# each: 16 MiB holds a search's hot pages (a query measured 1.7 ms with SQLite's
# 2 MiB default, 1.5 ms with 16 MiB, 2.1 ms on a new connection each time).
IDLE_CONNECTIONS = 4
READ_CACHE_KIB = 16 * 1024
# Tries at opening the live file, which a publish may delete under a reader.
OPEN_ATTEMPTS = 3
_HELD = "embedded_search"


class ReadConnections:
    """The read connections of one process to the live file of ``files``."""

    def __init__(self, files):
        self.files = files
        self._idle = []

    @contextmanager
    def reading(self):
        """Yield a connection to the live file, inside a read transaction.

        SQLite failures come out as SearchUnavailable.
        """
        with unavailable_on_failure(), self._live_connection() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("ROLLBACK")

    def release(self):
        """Give this request's connection back to the idle ones, if it opened one."""
        if has_app_context():
            held = g.pop(_HELD, None)
            if held is not None and len(self._idle) < IDLE_CONNECTIONS:
                self._idle.append(held)
            elif held is not None:
                held[0].close()

    @contextmanager
    def _live_connection(self):
        """Yield this request's connection, or outside a request one of our own."""
        if has_app_context():
            yield self._request_connection()
        else:
            conn, _ = self._open_live()
            with closing(conn):
                yield conn

    def _request_connection(self):
        """Return this request's connection, reopened if the live file was replaced."""
        identity = self.files.identity(self.files.path)
        held = g.get(_HELD)
        if held is not None and held[1] == identity:
            return held[0]
        self.release()
        while self._idle:
            conn, held_identity = self._idle.pop()
            if held_identity == identity:
                break
            conn.close()
        else:
            conn, identity = self._open_live()
            conn.execute(f"PRAGMA cache_size = -{READ_CACHE_KIB}")
        setattr(g, _HELD, (conn, identity))
        return conn

    def _open_live(self, attempts=OPEN_ATTEMPTS):
        """Open the live file; return the connection and the file's identity.

        A publish deletes the file it replaces, maybe between reading the link
        and opening the file: then the link, read again, names the new one.
        The identity is read first, so a connection is never taken for one to
        a newer file than it is.
        """
        path = self.files.live_file()
        try:
            identity = self.files.identity(path)
            return open_for_reading(path), identity
        except (SearchUnavailable, sqlite3.OperationalError):
            if attempts > 1 and self.files.live_file() != path:
                return self._open_live(attempts - 1)
            raise


def drop_request_connection():
    """Close this request's connection: after a failure, the next starts anew."""
    if has_app_context():
        held = g.pop(_HELD, None)
        if held is not None:
            held[0].close()


@contextmanager
def unavailable_on_failure():
    """Raise SQLite's failures as SearchUnavailable."""
    try:
        yield
    except sqlite3.ProgrammingError:
        raise
    except sqlite3.DatabaseError as exc:
        drop_request_connection()
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            raise SearchIndexDamaged(
                f"embedded search index is damaged: {exc}; rebuild it with"
                " flask etl run --full"
            ) from exc
        raise SearchUnavailable(f"embedded search index failed: {exc}") from exc
