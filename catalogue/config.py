"""Settings, read from the environment in this one module.

Every setting has a working default, so a fresh checkout runs on embedded parts
(SQLite, the embedded search index, an in-process cache). Production points
``DATABASE_URL``, ``ELASTICSEARCH_URL`` and ``REDIS_URL`` at real services.
"""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """A setting holds a value the service cannot run with."""


def _env_str(name, default=None):
    value = os.environ.get(name, "").strip()
    return value or default


def _env_int(name, default, minimum=0):
    raw = _env_str(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _env_float(name, default):
    raw = _env_str(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


def _env_bool(name, default=False):
    raw = _env_str(name)
    if raw is None:
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _env_list(name, default):
    """Return a comma-separated setting as a tuple of its items, lower case."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return tuple(item.strip().lower() for item in raw.split(",") if item.strip())


def _env_base_url(name):
    """Return an absolute http(s) URL without its trailing slash; None if unset."""
    raw = _env_str(name)
    if raw is None:
        return None
    if not raw.startswith(("http://", "https://")) or "?" in raw or "#" in raw:
        raise ConfigError(
            f"{name} must be an http:// or https:// URL without a query, got {raw!r}"
        )
    return raw.rstrip("/")


def from_environment():
    """Build the settings dictionary from environment variables."""
    database_path = Path(
        _env_str("DATABASE_PATH", str(PROJECT_ROOT / "var" / "movies.sqlite"))
    )
    embedded_default = database_path.with_name(database_path.stem + ".search.sqlite")
    return {
        "DATABASE_PATH": str(database_path),
        # PostgreSQL instead of the SQLite file (postgresql://user:pass@host/db):
        # every machine of a deployment then shares it.
        "DATABASE_URL": _env_str("DATABASE_URL"),
        # Connections each process keeps to PostgreSQL; a request waits this many
        # seconds for a free one before a 503. Idle ones above one close after
        # DATABASE_POOL_MAX_IDLE seconds.
        "DATABASE_POOL_SIZE": _env_int("DATABASE_POOL_SIZE", 10, minimum=1),
        "DATABASE_POOL_TIMEOUT": _env_float("DATABASE_POOL_TIMEOUT", 5.0),
        "DATABASE_POOL_MAX_IDLE": _env_float("DATABASE_POOL_MAX_IDLE", 600.0),
        "DATABASE_CONNECT_TIMEOUT": _env_float("DATABASE_CONNECT_TIMEOUT", 5.0),
        # Seconds a statement of a request may run on PostgreSQL (a 503 then);
        # the ETL, the report worker and the import have no such limit.
        "DATABASE_STATEMENT_TIMEOUT": _env_float("DATABASE_STATEMENT_TIMEOUT", 15.0),
        # With PostgreSQL, one machine alone may keep the embedded index, cache,
        # queue and counters in its local files (a deployment of one node).
        "SINGLE_NODE": _env_bool("SINGLE_NODE"),
        # Seconds a request that writes waits for another writer (the ETL, another
        # request) to commit before it answers 503; the wait yields to other
        # requests. On PostgreSQL, how long a write waits for a row another holds.
        "DATABASE_WRITE_TIMEOUT": _env_float("DATABASE_WRITE_TIMEOUT", 5.0),
        "EMBEDDED_SEARCH_PATH": _env_str("EMBEDDED_SEARCH_PATH", str(embedded_default)),
        "ELASTICSEARCH_URL": _env_str("ELASTICSEARCH_URL"),
        "ELASTICSEARCH_INDEX_PREFIX": _env_str("ELASTICSEARCH_INDEX_PREFIX", ""),
        # A request that waits longer than this on the search engine answers 503.
        "ELASTICSEARCH_TIMEOUT": _env_float("ELASTICSEARCH_TIMEOUT", 5.0),
        # The client keeps 10 connections per node by default and queues the rest;
        # a gevent worker runs hundreds of requests at once, so size the pool for it.
        "ELASTICSEARCH_MAXSIZE": _env_int("ELASTICSEARCH_MAXSIZE", 100, minimum=1),
        # The ETL retries a failed bulk write this many times, waiting
        # BACKOFF, 2 x BACKOFF, ... (capped at 8 s) in between: the defaults ride
        # out about a minute of cluster restart before giving up.
        "ELASTICSEARCH_WRITE_ATTEMPTS": _env_int(
            "ELASTICSEARCH_WRITE_ATTEMPTS", 10, minimum=1
        ),
        "ELASTICSEARCH_WRITE_BACKOFF": _env_float("ELASTICSEARCH_WRITE_BACKOFF", 0.5),
        # An admin's write indexes its change before it answers, trying the search
        # engine this many times; what fails, the process's catch-up indexes
        # every SEARCH_CATCH_UP_SECONDS until the engine is back.
        "WRITE_THROUGH_ATTEMPTS": _env_int("WRITE_THROUGH_ATTEMPTS", 2, minimum=1),
        "SEARCH_CATCH_UP_SECONDS": _env_float("SEARCH_CATCH_UP_SECONDS", 2.0),
        "REDIS_URL": _env_str("REDIS_URL"),
        # redis-py waits 5 s by default: a hung Redis would cost every request 5 s.
        # A Redis call takes a millisecond; a hung one costs a request this, once
        # a pause (the cache, the count and the limits then skip Redis a while).
        "REDIS_SOCKET_TIMEOUT": _env_float("REDIS_SOCKET_TIMEOUT", 0.1),
        # redis-py 8 raises once its pool is exhausted; a blocking pool of this size
        # makes a greenlet wait briefly for a free connection instead.
        "REDIS_MAX_CONNECTIONS": _env_int("REDIS_MAX_CONNECTIONS", 200, minimum=1),
        "CACHE_TTL": _env_int("CACHE_TTL", 300, minimum=1),
        # A worker reads the data version (the cache key's last part) at most this
        # often: a cached answer then needs no SQLite connection at all.
        "CACHE_VERSION_CHECK_MS": _env_int("CACHE_VERSION_CHECK_MS", 1000),
        "TRUSTED_PROXIES": _env_int("TRUSTED_PROXIES", 0),
        # Links the service writes into answers (GET /movies/'s next and
        # previous) start with PUBLIC_BASE_URL when it is set; else with the
        # request's own scheme and host only if the host is one of LINK_HOSTS,
        # else they are relative (/movies/?page=2): never a Host header's echo.
        "PUBLIC_BASE_URL": _env_base_url("PUBLIC_BASE_URL"),
        "LINK_HOSTS": _env_list("LINK_HOSTS", ("localhost", "127.0.0.1", "::1")),
        "DOCS_ONLY": _env_bool("DOCS_ONLY"),
        "MAX_RESULT_WINDOW": _env_int("MAX_RESULT_WINDOW", 10_000, minimum=100),
        "ETL_BATCH_SIZE": _env_int("ETL_BATCH_SIZE", 2_000, minimum=1),
        # `flask etl run` lowers its CPU priority by this much (nice): on a machine
        # it shares with the API, the batch work gives way to the requests.
        "ETL_NICENESS": _env_int("ETL_NICENESS", 10),
        # The ETL's runs and checkpoints, in a file of their own: the ETL never
        # writes to the SQLite catalogue, so it never waits on a request that
        # does. With DATABASE_URL they are in PostgreSQL, for every machine.
        "ETL_STATE_PATH": _env_str(
            "ETL_STATE_PATH",
            str(database_path.with_name(database_path.stem + ".etl.sqlite")),
        ),
        # Reports: the embedded queue's file (unused with REDIS_URL, where the
        # queue is in Redis under REPORT_QUEUE_NAME), jobs run at once per worker
        # process, and how long finished results are kept, in seconds.
        "REPORT_QUEUE_PATH": _env_str(
            "REPORT_QUEUE_PATH",
            str(database_path.with_name(database_path.stem + ".reports-queue.sqlite")),
        ),
        "REPORT_QUEUE_NAME": _env_str("REPORT_QUEUE_NAME", "movie-catalogue-reports"),
        "REPORT_WORKERS": _env_int("REPORT_WORKERS", 1, minimum=1),
        "REPORT_RESULT_TTL": _env_int("REPORT_RESULT_TTL", 7 * 24 * 3600, minimum=1),
        # A running job whose worker has not said it is alive for this many
        # seconds is taken as lost (a killed worker): it runs again, up to
        # REPORT_MAX_ATTEMPTS attempts in all, then ends in error. A job queued
        # this long whose message is not on the queue is enqueued again.
        "REPORT_HEARTBEAT_TIMEOUT": _env_float("REPORT_HEARTBEAT_TIMEOUT", 30.0),
        "REPORT_MAX_ATTEMPTS": _env_int("REPORT_MAX_ATTEMPTS", 3, minimum=1),
        # Report jobs one user may have queued or running at once (a 429 past
        # it), and jobs the queue may hold waiting (a 503 past it); a reused
        # result counts against neither.
        "REPORT_JOBS_PER_USER": _env_int("REPORT_JOBS_PER_USER", 5, minimum=1),
        "REPORT_QUEUE_LIMIT": _env_int("REPORT_QUEUE_LIMIT", 1000, minimum=1),
        # The longest a request for a report job waits for it to finish when the
        # client asks to (Prefer: wait=N), in seconds; the wait yields.
        "REPORT_MAX_WAIT": _env_int("REPORT_MAX_WAIT", 10),
        # Seconds a worker's write of result rows waits for the write lock.
        "REPORT_WRITE_TIMEOUT": _env_float("REPORT_WRITE_TIMEOUT", 30.0),
        # `flask reports worker` lowers its CPU priority by this much, so that
        # requests on the same machine come first.
        "REPORT_NICENESS": _env_int("REPORT_NICENESS", 10),
        "LOG_LEVEL": _env_str("LOG_LEVEL", "INFO").upper(),
        "JWT_ACCESS_TOKEN_MINUTES": _env_int("JWT_ACCESS_TOKEN_MINUTES", 15, minimum=1),
        "JWT_REFRESH_TOKEN_DAYS": _env_int("JWT_REFRESH_TOKEN_DAYS", 30, minimum=1),
        # Argon2id's cost (OWASP's baseline: 19 MiB, 2 passes, 1 lane), and the
        # threads per worker that hash, off the event loop.
        "PASSWORD_HASH_TIME_COST": _env_int("PASSWORD_HASH_TIME_COST", 2, minimum=1),
        "PASSWORD_HASH_MEMORY_KIB": _env_int(
            "PASSWORD_HASH_MEMORY_KIB", 19_456, minimum=8
        ),
        "PASSWORD_HASH_PARALLELISM": _env_int(
            "PASSWORD_HASH_PARALLELISM", 1, minimum=1
        ),
        "PASSWORD_HASH_THREADS": _env_int("PASSWORD_HASH_THREADS", 2, minimum=1),
        # Failed log-ins allowed per username from one client address, and per
        # client address, and registrations per address (flask-limiter's
        # notation), before a 429.
        "LOGIN_FAILURES_PER_USERNAME": _env_str(
            "LOGIN_FAILURES_PER_USERNAME", "5 per minute"
        ),
        "LOGIN_FAILURES_PER_ADDRESS": _env_str(
            "LOGIN_FAILURES_PER_ADDRESS", "20 per minute"
        ),
        "REGISTRATIONS_PER_ADDRESS": _env_str(
            "REGISTRATIONS_PER_ADDRESS", "10 per minute"
        ),
        # Where the limits count without Redis, shared by the workers of one server.
        "RATE_LIMITS_PATH": _env_str(
            "RATE_LIMITS_PATH", str(database_path.with_name("rate-limits.sqlite"))
        ),
        # Count every answered request (GET /request-count/): in Redis when
        # REDIS_URL is set, in this file for the workers of one server otherwise.
        "REQUEST_COUNTING": _env_bool("REQUEST_COUNTING", True),
        "REQUEST_COUNT_PATH": _env_str(
            "REQUEST_COUNT_PATH", str(database_path.with_name("request-count"))
        ),
        # Signs the access and refresh tokens. Required with Redis or Elasticsearch;
        # on the embedded default, a secret is made once and kept in JWT_SECRET_PATH.
        "JWT_SECRET_KEY": _env_str("JWT_SECRET_KEY"),
        "JWT_SECRET_PATH": _env_str(
            "JWT_SECRET_PATH", str(database_path.with_name("jwt-secret"))
        ),
        # The third-party movie provider behind GET /movies/. Without both
        # credentials, /movies/ answers 503 naming them; the rest runs.
        "MOVIES_PROVIDER_URL": _env_str(
            "MOVIES_PROVIDER_URL", "https://demo.credy.in/api/v1/maya/movies/"
        ),
        "MOVIES_PROVIDER_USERNAME": _env_str("MOVIES_PROVIDER_USERNAME"),
        "MOVIES_PROVIDER_PASSWORD": _env_str("MOVIES_PROVIDER_PASSWORD"),
        "MOVIES_PROVIDER_CONNECT_TIMEOUT": _env_float(
            "MOVIES_PROVIDER_CONNECT_TIMEOUT", 2.0
        ),
        "MOVIES_PROVIDER_READ_TIMEOUT": _env_float("MOVIES_PROVIDER_READ_TIMEOUT", 5.0),
        # The largest answer read from the provider (a page is a few KiB): a longer
        # one, announced or sent, is refused as garbage is, read no further.
        "MOVIES_PROVIDER_MAX_BYTES": _env_int(
            "MOVIES_PROVIDER_MAX_BYTES", 1024 * 1024, minimum=1024
        ),
        # Retries of a failed call (connection error, timeout, 429, 5xx), after
        # waits growing from MOVIES_PROVIDER_BACKOFF seconds, with as much jitter;
        # a Retry-After up to MOVIES_PROVIDER_LONGEST_WAIT is waited out, a
        # longer one answered at once (503 with that Retry-After).
        "MOVIES_PROVIDER_RETRIES": _env_int("MOVIES_PROVIDER_RETRIES", 2),
        "MOVIES_PROVIDER_BACKOFF": _env_float("MOVIES_PROVIDER_BACKOFF", 0.2),
        "MOVIES_PROVIDER_LONGEST_WAIT": _env_float("MOVIES_PROVIDER_LONGEST_WAIT", 2.0),
        # After this many failed calls in a row, every worker answers at once for
        # MOVIES_PROVIDER_PAUSE seconds; then one call probes the provider.
        "MOVIES_PROVIDER_FAILURES": _env_int("MOVIES_PROVIDER_FAILURES", 3, minimum=1),
        "MOVIES_PROVIDER_PAUSE": _env_float("MOVIES_PROVIDER_PAUSE", 10.0),
        # The breaker's state: in Redis with REDIS_URL, else in this file, shared
        # by the workers of one server.
        "MOVIES_PROVIDER_BREAKER_PATH": _env_str(
            "MOVIES_PROVIDER_BREAKER_PATH",
            str(database_path.with_name("movies-provider-breaker")),
        ),
        # A page is read again after CACHE_TTL seconds, and kept for STALE_TTL to
        # be served when the provider fails.
        "MOVIES_PROVIDER_CACHE_TTL": _env_int(
            "MOVIES_PROVIDER_CACHE_TTL", 60, minimum=1
        ),
        "MOVIES_PROVIDER_STALE_TTL": _env_int(
            "MOVIES_PROVIDER_STALE_TTL", 86_400, minimum=1
        ),
    }


def check_deployment(config):
    """Refuse settings that cannot serve as configured; name what to set.

    PostgreSQL is for several machines, which share nothing else: each keeping
    its own embedded index, cache, counters and queue in local files would
    answer differently. One machine alone may, with ``SINGLE_NODE``.
    """
    if not config.get("DATABASE_URL") or config.get("SINGLE_NODE"):
        return
    missing = [name for name in ("ELASTICSEARCH_URL", "REDIS_URL") if not config[name]]
    if missing:
        raise ConfigError(
            f"DATABASE_URL is set but {' and '.join(missing)} not: several machines"
            " cannot share local files; set it, or SINGLE_NODE=true for one machine"
        )
