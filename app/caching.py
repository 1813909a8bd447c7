"""Whole GET answers cached in Redis (or in process), and made conditional for clients.

An answer is keyed by its path, its sorted query arguments and the data version
that the search indices hold (``catalogue.versions``), so new data (a completed
ETL run, an admin's write) makes every older entry unreachable (within
``CACHE_VERSION_CHECK_MS``, how long a worker reuses the version it read). A
cache that fails is skipped for a few seconds, and the failure is logged once
for that pause: answers go on, uncached.

Caching is opt-in per blueprint (``Blueprint(..., cached=True)``). An answer
that depends on who asks (a ``login_required`` view) is never served from or
stored in the shared cache, and is sent ``Cache-Control: private, no-store``.
"""

import hashlib
import time
from urllib.parse import urlencode

import redis
from flask import current_app, request
from werkzeug.wrappers import Response

from app.extensions import cache
from catalogue import versions
from catalogue.circuit import Circuit

# Every cache key starts with this: the service's other keys (the request
# count, revoked tokens, rate limits) have other prefixes, which clear() spares.
KEY_PREFIX = "movie-catalogue:cache:"
# After a cache failure, answer uncached for this many seconds before trying again.
PAUSE_AFTER_FAILURE = 5.0
# The headers that belong to an answer; the rest is set again on each request.
STORED_HEADERS = ("Content-Type", "X-Total-Count", "Link", "X-Pagination")
CACHE_CONTROL_HEADER = {
    "description": "public, with max-age the seconds this answer stays fresh.",
    "schema": {"type": "string"},
}
_KEY = "movie_catalogue.cache_key"
_HIT = "movie_catalogue.cache_hit"
_PERSONAL = "movie_catalogue.personal"
_CACHEABLE_METHODS = ("GET", "HEAD")


class ResponseCache:
    """The app's cache as seen by the response hooks: failures pause it, never raise."""

    def __init__(self, ttl, logger, clock=time.monotonic):
        self.clock = clock
        self.ttl = ttl
        self.logger = logger
        self.circuit = Circuit(PAUSE_AFTER_FAILURE, clock=lambda: self.clock())

    def get(self, key):
        """Return the entry stored under ``key``, or None (also if the cache fails)."""
        return self._call("read", cache.get, key)

    def set(self, key, entry, ttl=None):
        """Store ``entry`` under ``key`` for ``ttl`` (the TTL), if the cache works."""
        self._call("write", cache.set, key, entry, timeout=ttl or self.ttl)

    def _call(self, action, operation, *args, **kwargs):
        """Call the cache, unless its circuit is open (see ``catalogue.circuit``)."""
        if not self.circuit.allow():
            return None
        try:
            result = operation(*args, **kwargs)
        except Exception as exc:  # any failure of the cache must not fail the answer
            if self.circuit.failed():
                self.logger.warning(
                    "response cache %s failed, answering uncached for %.0f s: %s: %s",
                    action,
                    PAUSE_AFTER_FAILURE,
                    type(exc).__name__,
                    exc,
                )
            return None
        self.circuit.succeeded()
        return result


def redis_client(config):
    """Build a Redis client that fails fast and waits briefly on a full pool."""
    timeout = config["REDIS_SOCKET_TIMEOUT"]
    pool = redis.BlockingConnectionPool.from_url(
        config["REDIS_URL"],
        max_connections=config["REDIS_MAX_CONNECTIONS"],
        timeout=timeout,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )
    return redis.Redis(connection_pool=pool)


def ping():
    """Raise unless the cache accepts a write; used by the readiness check."""
    if not cache.set("readiness-probe", "1", timeout=10):
        raise RuntimeError("the cache refused a write")


def response_key():
    """Return the cache key of this request's answer, or None if it has no version."""
    version = versions.current()
    if version is None:
        return None
    query = urlencode(sorted(request.args.items(multi=True)))
    raw = f"{request.script_root}{request.path}?{query}#{version}"
    return "response:" + hashlib.sha256(raw.encode()).hexdigest()


def mark_personal():
    """Say that this request's answer depends on who asks."""
    request.environ[_PERSONAL] = True


def is_personal():
    """Whether this request's answer depends on who asks: its view needs a user."""
    if request.environ.get(_PERSONAL):
        return True
    view = current_app.view_functions.get(request.endpoint)
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        method = "get" if request.method == "HEAD" else request.method.lower()
        view = getattr(view_class, method, None)
    return getattr(view, "_personal", False)


def keep_personal_answers_private(response):
    """Send an answer that depends on who asks ``private, no-store``."""
    if is_personal():
        response.cache_control.public = False
        response.cache_control.max_age = None
        response.cache_control.private = True
        response.cache_control.no_store = True
    return response


def serve_from_cache():
    """Answer a GET from the cache when this exact query was answered before."""
    if request.method not in _CACHEABLE_METHODS or is_personal():
        return None
    key = response_key()
    if key is None:
        return None
    request.environ[_KEY] = key
    entry = current_app.extensions["response-cache"].get(key)
    if entry is None:
        return None
    request.environ[_HIT] = True
    return Response(entry["body"], status=entry["status"], headers=entry["headers"])


def finish_cacheable_response(response):
    """Store a fresh 200 answer; give every 200 answer Cache-Control and an ETag."""
    if (
        request.method not in _CACHEABLE_METHODS
        or response.status_code != 200
        or is_personal()
    ):
        return response
    key = request.environ.get(_KEY)
    responses = current_app.extensions["response-cache"]
    if key is not None and not request.environ.get(_HIT):
        headers = [
            (name, response.headers[name])
            for name in STORED_HEADERS
            if name in response.headers
        ]
        entry = {"status": 200, "body": response.get_data(), "headers": headers}
        responses.set(key, entry)
    response.cache_control.public = True
    response.cache_control.max_age = responses.ttl
    response.add_etag()
    return response.make_conditional(request)


def document_caching(doc, doc_info, *, method, **kwargs):
    """Document If-None-Match, 304, ETag and Cache-Control on cached GET operations."""
    personal = doc_info.get("manual_doc", {}).get("security")
    if method.upper() != "GET" or personal:
        return doc
    doc.setdefault("parameters", []).append("IF_NONE_MATCH")
    responses = doc.setdefault("responses", {})
    for status_code in doc_info.get("success_status_codes", []):
        responses[status_code].setdefault("headers", {}).update(
            {"ETag": "ETAG", "Cache-Control": CACHE_CONTROL_HEADER}
        )
    responses[304] = "NOT_MODIFIED"
    return doc


def init_app(app):
    """Use Redis when REDIS_URL is set, an in-process cache otherwise."""
    settings = {
        "CACHE_DEFAULT_TIMEOUT": app.config["CACHE_TTL"],
        "CACHE_KEY_PREFIX": KEY_PREFIX,
    }
    if app.config["REDIS_URL"]:
        # One client for the cache, the request counter and the token blocklist.
        # Passed as the host: flask-caching would build its own pool, which can
        # be neither blocking nor bounded.
        client = app.extensions["redis"] = redis_client(app.config)
        settings.update(CACHE_TYPE="RedisCache", CACHE_REDIS_HOST=client)
    else:
        settings.update(CACHE_TYPE="SimpleCache")
    cache.init_app(app, config=settings)
    app.after_request(keep_personal_answers_private)
    app.extensions["response-cache"] = ResponseCache(
        app.config["CACHE_TTL"], app.logger
    )
