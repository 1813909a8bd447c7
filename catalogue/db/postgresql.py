"""PostgreSQL access: the catalogue's raw SQL through psycopg 3, connections pooled.

The query functions are written once, with SQLite's placeholders (``?`` and
``:name``) and in the SQL both engines speak. A :class:`Connection` takes
them as they are: :func:`translate` turns the placeholders into psycopg's
(``%s``, ``%(name)s``) and a JSON array's values, ``json_each(?)`` in SQLite,
into PostgreSQL's ``json_array_elements_text(?)``, which also names its
column ``value``. Nothing else is rewritten: SQL that differs in more than
that is written for each engine where it is used. Rows answer by position
and by column name, as ``sqlite3.Row`` does.

Connections are in autocommit mode, like SQLite's here: a read runs on its
own, a write in :func:`transaction` (``BEGIN`` … ``COMMIT``, at READ
COMMITTED), and nothing waits on a lock of the whole database. A write that
waits on a row longer than its ``lock_timeout`` is DatabaseBusy, and a
database that cannot be reached is DatabaseUnavailable.

Each web process keeps a pool (:class:`Pool`, psycopg_pool), opened on its
first request, after gevent has patched the standard library: psycopg then
waits on its sockets through gevent, so a slow query holds only its own
request (psycopg 3.1.14 and later leave their C wait function aside once
gevent has patched ``select``; :func:`check_cooperative` refuses to open a
pool where that did not happen).
"""

import functools
import re
from contextlib import contextmanager

import psycopg
from psycopg import errors, pq
from psycopg_pool import ConnectionPool, PoolTimeout

from catalogue.db.errors import DatabaseBusy, DatabaseUnavailable

# What a query's text is made of, for translate(): literals and comments are
# passed over as they are, and so are casts (``::``).
_TOKENS = re.compile(
    r"""'(?:[^']|'')*'"""
    r'''|"(?:[^"]|"")*"'''
    r"|--[^\n]*"
    r"|::"
    r"|:(?P<name>[A-Za-z_]\w*)"
    r"|\?"
    r"|%"
    r"|\bjson_each\("
)
_REPLACEMENTS = {"?": "%s", "%": "%%", "json_each(": "json_array_elements_text("}
# Errors of a statement that waited too long, for a row or on the whole.
_TOO_LONG = (
    errors.LockNotAvailable,
    errors.QueryCanceled,
    errors.DeadlockDetected,
    errors.SerializationFailure,
)


@functools.lru_cache(maxsize=2048)
def translate(query):
    """Return ``query``, written with SQLite's placeholders, in psycopg's form."""

    def replace(match):
        text = match.group(0)
        if match.group("name"):
            return f"%({match.group('name')})s"
        return _REPLACEMENTS.get(text, text)

    return _TOKENS.sub(replace, query)


class Row(tuple):
    """A row that answers by position and by column name, as ``sqlite3.Row``."""

    _index = {}

    def __getitem__(self, key):
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self):
        """Return the column names, in order."""
        return list(self._index)


@functools.lru_cache(maxsize=512)
def _row_class(names):
    return type("Row", (Row,), {"_index": {name: n for n, name in enumerate(names)}})


def row_factory(cursor):
    """Make a cursor's rows :class:`Row` objects of its columns."""
    description = cursor.description
    if description is None:
        return tuple
    row_class = _row_class(tuple(column.name for column in description))
    return row_class


def _failure(exc):
    """Return the store's own exception for a psycopg error, or None to keep it."""
    if isinstance(exc, _TOO_LONG):
        return DatabaseBusy(f"the database did not answer in time: {exc.sqlstate}")
    if isinstance(exc, psycopg.OperationalError):
        return DatabaseUnavailable("the database cannot be reached")
    return None


class Connection(psycopg.Connection):
    """A psycopg connection that runs the query functions' SQL as written."""

    engine = "postgresql"
    # The settings it was opened with, to open another like it (catalogue.db.reopen).
    settings = None

    def execute(self, query, params=None, *, prepare=None, binary=False):
        """Run ``query`` (SQLite placeholders) with ``params``; return the cursor."""
        try:
            return super().execute(
                translate(query), params, prepare=prepare, binary=binary
            )
        except psycopg.Error as exc:
            failure = _failure(exc)
            if failure is None:
                raise
            raise failure from exc

    def executemany(self, query, params_seq):
        """Run ``query`` once for each parameter sequence; return the cursor."""
        cursor = self.cursor()
        try:
            cursor.executemany(translate(query), list(params_seq))
        except psycopg.Error as exc:
            failure = _failure(exc)
            if failure is None:
                raise
            raise failure from exc
        return cursor

    def run_script(self, script):
        """Run an SQL script as it is written (a migration), without parameters."""
        super().execute(script)

    @property
    def in_transaction(self):
        """Whether a transaction is open (as ``sqlite3.Connection.in_transaction``)."""
        return self.info.transaction_status != pq.TransactionStatus.IDLE


def connection_options(config, statement_timeout=None, write_timeout=None):
    """Return psycopg's connection arguments for the settings in ``config``.

    ``statement_timeout`` (seconds, 0 for none) defaults to
    ``DATABASE_STATEMENT_TIMEOUT``; a write waits for a row another
    transaction holds at most ``write_timeout`` (``DATABASE_WRITE_TIMEOUT``)
    seconds.
    """
    if statement_timeout is None:
        statement_timeout = config["DATABASE_STATEMENT_TIMEOUT"]
    settings = {
        "statement_timeout": int(statement_timeout * 1000),
        "lock_timeout": int((write_timeout or config["DATABASE_WRITE_TIMEOUT"]) * 1000),
        "idle_in_transaction_session_timeout": 60_000,
        "timezone": "UTC",
    }
    return {
        "autocommit": True,
        "row_factory": row_factory,
        "connect_timeout": max(1, round(config["DATABASE_CONNECT_TIMEOUT"])),
        "application_name": "movie-catalogue",
        "options": " ".join(f"-c {name}={value}" for name, value in settings.items()),
    }


def connect(config, statement_timeout=None, write_timeout=None):
    """Open a connection to ``DATABASE_URL``; DatabaseUnavailable if it cannot."""
    options = connection_options(config, statement_timeout, write_timeout)
    try:
        conn = Connection.connect(config["DATABASE_URL"], **options)
    except psycopg.OperationalError as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise DatabaseUnavailable(
            f"the database cannot be reached: {message}"
        ) from None
    conn.settings = config
    return conn


@contextmanager
def transaction(conn):
    """Run the block in one transaction: all of it is committed, or nothing."""
    conn.execute("BEGIN")
    try:
        yield conn
    except BaseException:
        _roll_back(conn)
        raise
    conn.execute("COMMIT")


@contextmanager
def snapshot(conn):
    """Run the block's reads in one consistent snapshot of the database."""
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    try:
        yield conn
    finally:
        _roll_back(conn)


def _roll_back(conn):
    """Roll back, unless the connection broke (the server rolled back then)."""
    if not conn.broken and conn.in_transaction:
        conn.execute("ROLLBACK")


def check_cooperative():
    """Refuse to wait on the database in a way that would freeze a gevent worker.

    psycopg picks its wait function when it is first imported; imported
    before gevent patched ``select``, it keeps its C one, which never yields.
    """
    from gevent import monkey
    from psycopg import waiting

    if monkey.is_module_patched("select") and waiting.wait is getattr(
        waiting, "wait_c", None
    ):
        raise RuntimeError(
            "psycopg was imported before gevent patched the standard library:"
            " its waits would freeze the worker"
        )


class Pool:
    """The connections of one process to the database, opened on first use.

    A request takes one for its whole life and gives it back at its end; a
    request that finds none free waits up to ``DATABASE_POOL_TIMEOUT``
    seconds, then DatabaseUnavailable (a 503).
    """

    def __init__(self, config):
        self.config = config
        self._pool = None

    def _open(self):
        if self._pool is None:
            check_cooperative()
            config = self.config
            self._pool = ConnectionPool(
                config["DATABASE_URL"],
                min_size=1,
                max_size=config["DATABASE_POOL_SIZE"],
                timeout=config["DATABASE_POOL_TIMEOUT"],
                max_idle=config["DATABASE_POOL_MAX_IDLE"],
                kwargs=connection_options(config),
                connection_class=Connection,
                configure=self._configure,
                open=False,
                name="catalogue",
            )
            self._pool.open(wait=False)
        return self._pool

    def _configure(self, conn):
        conn.settings = self.config

    def take(self):
        """Return a connection of the pool."""
        try:
            return self._open().getconn()
        except PoolTimeout:
            raise DatabaseUnavailable("no database connection came free") from None

    def give_back(self, conn):
        """Return ``conn`` to the pool, which rolls back what it left open."""
        self._pool.putconn(conn)

    def close(self):
        """Close every connection of the pool (tests; a process that ends)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None
