"""The data version: which state of the catalogue the search indices hold.

Every load of the indices (an ETL run, an admin's write indexed through) gives
them a new version, and every cached answer is keyed by it, so new data makes
older answers unreachable. The version lives with the indices, so a node that
serves reads needs nothing but the search engine to know it. Each process reads
it at most once per ``CACHE_VERSION_CHECK_MS`` (:class:`DataVersion`); a process
that moved it on reads it again at once (:func:`invalidate`).
"""

import time
import uuid
from datetime import UTC, datetime

from flask import current_app

from catalogue.search import SearchError, get_search

_EXTENSION = "data-version"


def new_data_version():
    """Return a data version no indices ever had: the time, and a random part.

    Unique across databases and machines, so deployments that share one Redis
    never share cache entries.
    """
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}-{uuid.uuid4().hex[:8]}"


class DataVersion:
    """The indices' data version as one process knows it."""

    def __init__(self, interval, clock=time.monotonic):
        self.interval = interval
        self.clock = clock
        self._version = None
        self._read_at = None

    def current(self):
        """Return the data version of the indices, read at most once per interval.

        Every GET needs it for its cache key, and reading it costs more than
        answering from the cache: each worker reuses it for ``interval``
        seconds, so new data reaches every worker within that time. None while
        the search engine cannot tell it (not built, unavailable); that too is
        kept for the interval, so a search engine that is down is not asked
        again by every request.
        """
        now = self.clock()
        if self._read_at is None or now - self._read_at >= self.interval:
            try:
                self._version = get_search().data_version()
            except SearchError:
                self._version = None
            self._read_at = now
        return self._version

    def forget(self):
        """Read the data version anew the next time it is asked for."""
        self._read_at = None


def current():
    """Return the app's data version (see :meth:`DataVersion.current`)."""
    return current_app.extensions[_EXTENSION].current()


def invalidate():
    """Make the answers cached before new data unreachable from this process now.

    The new data version already makes them unreachable everywhere within
    ``CACHE_VERSION_CHECK_MS``; they expire from the cache with their TTL.
    """
    current_app.extensions[_EXTENSION].forget()


def init_app(app):
    """Keep the app's data version, read again every ``CACHE_VERSION_CHECK_MS``."""
    app.extensions[_EXTENSION] = DataVersion(
        app.config["CACHE_VERSION_CHECK_MS"] / 1000
    )
