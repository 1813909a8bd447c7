"""The third-party movie provider: one page of its movies, read through a breaker.

``GET <MOVIES_PROVIDER_URL>?page=N`` with HTTP basic auth, through urllib3:
connect and read timeouts, retries with exponential backoff and jitter on
connection errors, timeouts, 429 and 5xx (urllib3's ``Retry``), a
``Retry-After`` waited out when it is short and answered at once when it is
not. Under gevent the sockets and the waits yield, so a slow provider holds
only the requests that wait for it. A circuit shared by the workers
(``catalogue.circuit.SharedCircuit``) stops calling after a few failures in a row.

A page's body is read in chunks up to ``MOVIES_PROVIDER_MAX_BYTES``: a longer
one, or one whose Content-Length announces more, is refused as garbage is,
and its connection closed instead of read to the end. The body is read after
urllib3's retries, so a connection that breaks or stalls in the middle of a
body is answered at once (503, 504), not retried.

Pages are kept in the app's cache: fresh for ``MOVIES_PROVIDER_CACHE_TTL``,
then served stale, for ``MOVIES_PROVIDER_STALE_TTL``, whenever the provider
fails. While a worker reads a page from the provider, its other requests for
that page wait for that read (under gevent, ``threading.Event`` yields). Nothing the provider sends on failure, its URL or the credentials ever
reaches an answer or a log line.
"""

import hashlib
import json
import math
import threading
import time
from urllib.parse import parse_qs, urlsplit

import marshmallow as ma
import urllib3
from flask import current_app
from urllib3.exceptions import (
    DecodeError,
    HTTPError,
    InvalidHeader,
    MaxRetryError,
    NewConnectionError,
    ResponseError,
)
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from app.errors import error_response
from app.resources.movies.schemas import ProviderPageSchema
from catalogue.circuit import FileStore, RedisStore, SharedCircuit

CACHE_KEY_PREFIX = "movies-provider:"
BREAKER_KEY = "movie-catalogue:movies-provider-breaker"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Connections kept per worker to the provider; more are opened when needed.
POOL_SIZE = 50
# A provider's Retry-After is passed on up to this, so a client never waits a day.
LONGEST_RETRY_AFTER = 3600
CREDENTIALS = ("MOVIES_PROVIDER_USERNAME", "MOVIES_PROVIDER_PASSWORD")
# Bytes of the provider's body read at a time.
READ_CHUNK = 64 * 1024
_EXTENSION = "movies-provider"


class ProviderError(Exception):
    """The provider's page cannot be answered; ``status`` says how we answer."""

    status = 502

    def __init__(self, message, retry_after=None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class ProviderNotConfigured(ProviderError):
    """The credentials are not set: nothing to ask the provider with."""

    status = 503


class ProviderUnavailable(ProviderError):
    """Unreachable, resetting connections, rate-limiting us, or the breaker is open."""

    status = 503


class ProviderTimedOut(ProviderError):
    """The provider did not answer within the timeouts."""

    status = 504


class ProviderBadAnswer(ProviderError):
    """The provider answered an error, or something that is not a page."""

    status = 502


class PageNotFound(ProviderError):
    """The page lies beyond the provider's last."""

    status = 404


class ProviderRetry(Retry):
    """urllib3's Retry that waits out only a short ``Retry-After``.

    A longer one ends the retries at once: the answer (429 or 503) is returned
    to the caller, who passes the wait on to its client.
    """

    longest_wait = 2.0

    def new(self, **kwargs):
        """Return the next state of the retries, with the same longest wait."""
        retry = super().new(**kwargs)
        retry.longest_wait = self.longest_wait
        return retry

    def get_retry_after(self, response):
        """Return the seconds of the answer's Retry-After; None if absent or garbage."""
        try:
            return super().get_retry_after(response)
        except InvalidHeader:
            return None

    def increment(self, method=None, url=None, response=None, error=None, **kwargs):
        """Count a retry; stop at once if the answer asks for too long a wait."""
        if response is not None:
            wait = self.get_retry_after(response)
            if wait is not None and wait > self.longest_wait:
                raise MaxRetryError(
                    kwargs.get("_pool"), url, ResponseError("Retry-After too long")
                )
        return super().increment(method, url, response, error, **kwargs)


class Flight:
    """One read of a page from the provider, that other requests wait for.

    The worker's other requests for the same page wait for it instead of asking
    the provider too.
    """

    def __init__(self):
        self.done = threading.Event()
        self.followers = 0
        self.page = None
        self.error = None

    def join(self, timeout):
        """Wait for the read; return its page or raise its error."""
        self.followers += 1
        if not self.done.wait(timeout):
            raise ProviderTimedOut("The movie provider did not answer in time.", 1)
        if self.error is not None:
            raise self.error
        return self.page

    def finish(self, page=None, error=None):
        """Hand the read's page or error to the requests waiting for it."""
        self.page, self.error = page, error
        self.done.set()


class Provider:
    """The provider as one app sees it: its pool, its retries, its shared circuit."""

    def __init__(self, config, circuit, logger):
        self.url = config["MOVIES_PROVIDER_URL"]
        self.missing = [name for name in CREDENTIALS if not config[name]]
        self.logger = logger
        self.circuit = circuit
        self.fresh_ttl = config["MOVIES_PROVIDER_CACHE_TTL"]
        self.stale_ttl = max(config["MOVIES_PROVIDER_STALE_TTL"], self.fresh_ttl)
        self.pause = config["MOVIES_PROVIDER_PAUSE"]
        self.max_bytes = config["MOVIES_PROVIDER_MAX_BYTES"]
        retries = config["MOVIES_PROVIDER_RETRIES"]
        # The longest one call may take, retries and their pauses included.
        self.budget = (retries + 1) * (
            config["MOVIES_PROVIDER_CONNECT_TIMEOUT"]
            + config["MOVIES_PROVIDER_READ_TIMEOUT"]
            + config["MOVIES_PROVIDER_LONGEST_WAIT"]
        )
        # Pages being read from the provider by this worker, by cache key.
        self._flights = {}
        retry = ProviderRetry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            redirect=False,
            allowed_methods={"GET"},
            status_forcelist=RETRY_STATUSES,
            backoff_factor=config["MOVIES_PROVIDER_BACKOFF"],
            backoff_jitter=config["MOVIES_PROVIDER_BACKOFF"],
            backoff_max=config["MOVIES_PROVIDER_LONGEST_WAIT"],
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        retry.longest_wait = config["MOVIES_PROVIDER_LONGEST_WAIT"]
        self.headers = {"Accept": "application/json"}
        if not self.missing:
            self.headers.update(
                urllib3.make_headers(
                    basic_auth=f"{config['MOVIES_PROVIDER_USERNAME']}:"
                    f"{config['MOVIES_PROVIDER_PASSWORD']}"
                )
            )
        self.pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=POOL_SIZE,
            retries=retry,
            timeout=urllib3.Timeout(
                connect=config["MOVIES_PROVIDER_CONNECT_TIMEOUT"],
                read=config["MOVIES_PROVIDER_READ_TIMEOUT"],
            ),
        )

    def page(self, number, cache):
        """Return page ``number``: fresh from the cache, from the provider, or stale.

        The page is ``{count, next, previous, data}`` with ``next`` and
        ``previous`` as page numbers (or None). Raises a ProviderError.
        """
        if self.missing:
            raise ProviderNotConfigured(
                "The movie provider is not configured: set "
                + " and ".join(self.missing)
                + "."
            )
        key = self._cache_key(number)
        entry = cache.get(key)
        if entry is not None and time.time() - entry["at"] < self.fresh_ttl:
            return entry["page"]
        flight = self._flights.get(key)
        if flight is not None:
            return flight.join(self.budget)
        flight = self._flights[key] = Flight()
        try:
            page = self._refresh(key, number, entry, cache)
        except ProviderError as error:
            flight.finish(error=error)
            raise
        else:
            flight.finish(page=page)
            return page
        finally:
            del self._flights[key]

    def _refresh(self, key, number, entry, cache):
        """Read the page from the provider into the cache; the stale one if it fails."""
        try:
            page = self.fetch(number)
        except PageNotFound:
            raise
        except ProviderError as error:
            if entry is None:
                raise
            self.logger.info(
                "movies provider failed (%s); served page %d from %.0f s ago",
                type(error).__name__,
                number,
                time.time() - entry["at"],
            )
            return entry["page"]
        cache.set(key, {"page": page, "at": time.time()}, ttl=self.stale_ttl)
        return page

    def fetch(self, number):
        """Ask the provider for page ``number`` through the circuit; ProviderError."""
        if not self.circuit.allow():
            raise ProviderUnavailable(
                "The movie provider is failing; not asking it again for a while.",
                retry_after=self._seconds_left(),
            )
        try:
            response = self.pool.request(
                "GET",
                self.url,
                fields={"page": str(number)},
                headers=self.headers,
                preload_content=False,
            )
        except (MaxRetryError, HTTPError) as exc:
            raise self._unreachable(getattr(exc, "reason", exc)) from None
        try:
            return self._read(response, number)
        finally:
            # A body left unread (an error's, or one over the cap) must not be
            # taken for the next answer on this connection: close it, then
            # give the pool its place back. A body read to its end has already
            # released its connection, which this leaves open.
            response.close()
            response.release_conn()

    def _unreachable(self, reason):
        """Record a failed call; return the error a timeout or a broken connection means."""
        self._failed(type(reason).__name__)
        # A refused connection is a NewConnectionError, which urllib3 derives
        # from its connect timeout: unreachable, not slow.
        if isinstance(reason, Urllib3Timeout) and not isinstance(
            reason, NewConnectionError
        ):
            return ProviderTimedOut(
                "The movie provider did not answer in time.",
                retry_after=self._seconds_left(),
            )
        return ProviderUnavailable(
            "The movie provider cannot be reached.",
            retry_after=self._seconds_left(),
        )

    def _body(self, response):
        """Return the answer's body, read in chunks, at most ``max_bytes`` of it.

        A body over the cap, or a Content-Length that announces one, is a
        ProviderBadAnswer, and is read no further; a connection that fails
        while the body is read is the ProviderError it means.
        """
        if (response.length_remaining or 0) > self.max_bytes:
            raise self._too_large()
        body = bytearray()
        try:
            while chunk := response.read(READ_CHUNK):
                body += chunk
                if len(body) > self.max_bytes:
                    raise self._too_large()
        except DecodeError:  # a Content-Encoding the body does not follow
            raise self._not_a_page() from None
        except HTTPError as exc:
            raise self._unreachable(exc) from None
        return bytes(body)

    def _too_large(self):
        """Record an answer over the cap as a failure; return its error."""
        self._failed("an answer over MOVIES_PROVIDER_MAX_BYTES")
        self.logger.warning(
            "movies provider answered more than %d bytes, refused: raise"
            " MOVIES_PROVIDER_MAX_BYTES if its pages grew",
            self.max_bytes,
        )
        return ProviderBadAnswer(
            "The movie provider answered more than this service reads.",
            retry_after=self._seconds_left(),
        )

    def _not_a_page(self):
        """Record an answer that is not a page as a failure; return its error."""
        self._failed("an answer that is not a page of movies")
        return ProviderBadAnswer(
            "The movie provider answered something that is not a page of movies.",
            retry_after=self._seconds_left(),
        )

    def _read(self, response, number):
        """Turn the provider's answer into a page, or the ProviderError it means."""
        status = response.status
        if status == 200:
            body = self._body(response)
            try:
                page = ProviderPageSchema().load(json.loads(body))
            except (ValueError, ma.ValidationError):
                raise self._not_a_page() from None
            if number > 1 and not page["data"]:
                self.circuit.succeeded()
                raise PageNotFound(self._beyond(number))
            self.circuit.succeeded()
            return {
                "count": page["count"],
                "next": _page_number(page["next"], number + 1),
                "previous": _page_number(page["previous"], number - 1),
                "data": page["data"],
            }
        if status == 404:
            self.circuit.succeeded()
            raise PageNotFound(self._beyond(number))
        if status in (401, 403):
            self.circuit.settled()
            self.logger.error(
                "movies provider refused the credentials (%d): check %s",
                status,
                " and ".join(CREDENTIALS),
            )
            raise ProviderBadAnswer(
                "The movie provider refused this service's credentials.",
                retry_after=math.ceil(self.pause),
            )
        hint = _retry_after(response)
        if status in (429, 503) and hint is not None:
            self._failed(f"status {status}", hold=hint)
            raise ProviderUnavailable(
                "The movie provider asks us to wait before asking again.",
                retry_after=min(LONGEST_RETRY_AFTER, math.ceil(hint)) or 1,
            )
        if status == 429:
            self._failed("status 429")
            raise ProviderUnavailable(
                "The movie provider asks us to wait before asking again.",
                retry_after=self._seconds_left(),
            )
        self._failed(f"status {status}")
        raise ProviderBadAnswer(
            f"The movie provider answered an error ({status}).",
            retry_after=self._seconds_left(),
        )

    def _failed(self, what, hold=None):
        """Record a failure in the circuit; warn when it opens."""
        if self.circuit.failed(hold=hold):
            self.logger.warning(
                "movies provider failing (%s): answering without it for %.0f s",
                what,
                max(self.pause, hold or 0),
            )

    def _seconds_left(self):
        """Seconds a client should wait: until the circuit closes, or a pause."""
        return max(1, math.ceil(self.circuit.retry_after() or 1))

    def _cache_key(self, number):
        # The URL is hashed: the key names no host, and no credential in one.
        digest = hashlib.sha256(self.url.encode()).hexdigest()[:16]
        return f"{CACHE_KEY_PREFIX}{digest}:{number}"

    @staticmethod
    def _beyond(number):
        return f"Page {number} is beyond the movie provider's last page."


def _page_number(url, default):
    """Return the page a provider's ``next``/``previous`` URL points at, or None."""
    if url is None:
        return None
    try:
        return int(parse_qs(urlsplit(url).query).get("page", [default])[0])
    except ValueError:
        return default if default >= 1 else None


def _retry_after(response):
    """Return the provider's Retry-After in seconds, or None (absent or garbage)."""
    return ProviderRetry().get_retry_after(response)


def handle_provider_error(error):
    """Answer a ProviderError in the one error shape, with Retry-After if any."""
    headers = None
    if error.retry_after is not None and error.status != 404:
        headers = {"Retry-After": str(int(error.retry_after))}
    return error_response(error.status, error.message, headers=headers)


def get_provider():
    """Return the app's provider."""
    return current_app.extensions[_EXTENSION]


def init_app(app):
    """Build the provider with its circuit (Redis or a file); answer its errors."""
    config = app.config
    if config.get("REDIS_URL"):
        store = RedisStore(app.extensions["redis"], BREAKER_KEY, app.logger)
    else:
        store = FileStore(config["MOVIES_PROVIDER_BREAKER_PATH"])
    read_budget = (
        config["MOVIES_PROVIDER_CONNECT_TIMEOUT"]
        + (config["MOVIES_PROVIDER_READ_TIMEOUT"])
    )
    circuit = SharedCircuit(
        store,
        threshold=config["MOVIES_PROVIDER_FAILURES"],
        pause=config["MOVIES_PROVIDER_PAUSE"],
        probe_lease=read_budget * (config["MOVIES_PROVIDER_RETRIES"] + 1) + 1,
    )
    app.extensions[_EXTENSION] = Provider(config, circuit, app.logger)
    app.register_error_handler(ProviderError, handle_provider_error)
