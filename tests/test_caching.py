"""Caching of whole GET answers, keyed by query and data version, in Redis or not."""

import logging
import time

import pytest
import redis

from app import caching
from app.db import connect
from app.extensions import cache
from app.search import MOVIES, get_search
from etl import state
from tests.factories import make_legacy_db, movie
from tests.fixtures.redis import free_port

COLLECTION = "/api/v1/video/collection"


class CountingBackend:
    """A search backend that counts the film queries it answers."""

    def __init__(self, backend):
        self.backend = backend
        self.calls = 0

    def __getattr__(self, name):
        attribute = getattr(self.backend, name)
        if name not in ("search_films", "get_film"):
            return attribute

        def counted(*args, **kwargs):
            self.calls += 1
            return attribute(*args, **kwargs)

        return counted


def build_catalogue(app):
    """Migrate a small legacy database and index it, as an operator would."""
    make_legacy_db(
        app.config["DATABASE_PATH"],
        movies=[
            movie("tt0000001", "Star Wars", imdb_rating="8.6", plot="Luke and Leia."),
            movie("tt0000002", "Alien", imdb_rating="8.5"),
            movie("tt0000003", "Blade Runner", imdb_rating="8.1"),
        ],
    )
    runner = app.test_cli_runner()
    for command in (["db", "upgrade"], ["etl", "run"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, result.output


def count_backend_calls(app):
    """Put a counting wrapper around the app's search backend and return it."""
    with app.app_context():
        counting = CountingBackend(get_search())
    app.extensions["search"] = counting
    return counting


def complete_an_etl_run(app):
    """Record a completed run, as the ETL does, without clearing the cache."""
    conn = connect(app.config["DATABASE_PATH"])
    try:
        run = state.start(conn, "test", "incremental", None)
        state.finish(conn, run, "completed")
    finally:
        conn.close()


class Clock:
    """A monotonic clock that moves only when told to."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock(app):
    """Stand in for the app's response cache clock."""
    fake = Clock()
    app.extensions["response-cache"].clock = fake
    return fake


@pytest.fixture
def catalogue(app):
    """The ``app`` fixture on an indexed catalogue, its backend calls counted."""
    build_catalogue(app)
    return count_backend_calls(app)


# --- hits and misses -------------------------------------------------------------


def test_the_same_query_is_answered_from_the_cache(app, catalogue):
    client = app.test_client()
    first = client.get(f"{COLLECTION}?limit=2")
    second = client.get(f"{COLLECTION}?limit=2")

    assert catalogue.calls == 1
    assert second.status_code == 200
    assert second.data == first.data
    for header in ("X-Total-Count", "Link", "X-Pagination", "ETag", "Content-Type"):
        assert second.headers[header] == first.headers[header]
    assert second.headers["X-Request-ID"] != first.headers["X-Request-ID"]


def test_query_arguments_are_normalised_before_lookup(app, catalogue):
    client = app.test_client()
    client.get(f"{COLLECTION}?limit=2&sort=title&page=1")
    client.get(f"{COLLECTION}?page=1&sort=title&limit=2")

    assert catalogue.calls == 1


def test_a_different_query_is_a_miss(app, catalogue):
    client = app.test_client()
    client.get(f"{COLLECTION}?limit=2")
    client.get(f"{COLLECTION}?limit=3")
    client.get("/api/v1/video/get/tt0000001")
    client.get("/api/v1/video/get/tt0000001")

    assert catalogue.calls == 3


def test_errors_are_not_cached(app, catalogue):
    client = app.test_client()
    for _ in range(2):
        assert client.get("/api/v1/video/get/tt0009999").status_code == 404

    assert catalogue.calls == 2


def test_a_completed_etl_run_makes_old_answers_unreachable(app, catalogue, clock):
    client = app.test_client()
    path = "/api/v1/video/get/tt0000002"
    assert client.get(path).json["title"] == "Alien"
    with app.app_context():
        changed = {**get_search().get_film("tt0000002"), "title": "Aliens"}
        get_search().write(MOVIES, [changed])
        get_search().refresh()

    assert client.get(path).json["title"] == "Alien"  # still the cached answer

    complete_an_etl_run(app)
    # The worker goes on with the version it read until the interval is over.
    assert client.get(path).json["title"] == "Alien"
    clock.advance(app.config["CACHE_VERSION_CHECK_MS"] / 1000)

    assert client.get(path).json["title"] == "Aliens"


def test_a_cached_answer_opens_no_database_connection(app, catalogue, monkeypatch):
    client = app.test_client()
    client.get(COLLECTION)
    opened = []
    monkeypatch.setattr(caching, "get_db", lambda: opened.append(1))

    assert client.get(COLLECTION).status_code == 200
    assert opened == []


def test_answers_of_an_unmigrated_database_are_not_cached(app):
    counting = count_backend_calls(app)
    client = app.test_client()
    for _ in range(2):
        client.get(COLLECTION)

    assert counting.calls == 2


# --- what clients see ----------------------------------------------------------------


def test_get_answers_are_publicly_cacheable_with_an_etag(app, catalogue):
    response = app.test_client().get(COLLECTION)

    assert (
        response.headers["Cache-Control"]
        == f"public, max-age={app.config['CACHE_TTL']}"
    )
    assert response.headers["ETag"]


def test_matching_if_none_match_is_304(app, catalogue):
    client = app.test_client()
    etag = client.get("/api/v1/video/get/tt0000001").headers["ETag"]

    response = client.get(
        "/api/v1/video/get/tt0000001", headers={"If-None-Match": etag}
    )

    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == etag
    assert response.headers["X-Request-ID"]


def test_stale_if_none_match_gets_the_answer(app, catalogue):
    response = app.test_client().get(
        "/api/v1/video/get/tt0000001", headers={"If-None-Match": '"stale"'}
    )

    assert response.status_code == 200
    assert response.json["id"] == "tt0000001"


# --- Redis ---------------------------------------------------------------------------


@pytest.fixture
def empty_redis(redis_url):
    """The session's Redis, emptied for this test."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


def test_workers_share_answers_through_redis(make_app, redis_url, empty_redis):
    first_worker = make_app(REDIS_URL=redis_url)
    build_catalogue(first_worker)
    second_worker = make_app(REDIS_URL=redis_url)
    counting = count_backend_calls(second_worker)

    answer = first_worker.test_client().get(f"{COLLECTION}?sort=title")
    cached = second_worker.test_client().get(f"{COLLECTION}?sort=title")

    assert counting.calls == 0
    assert cached.data == answer.data
    assert cached.headers["X-Total-Count"] == "3"
    keys = empty_redis.keys("*")
    assert keys
    assert all(key.startswith(b"movie-catalogue:") for key in keys)


def test_clearing_the_cache_leaves_other_keys_alone(make_app, redis_url, empty_redis):
    app = make_app(REDIS_URL=redis_url)
    build_catalogue(app)  # `flask etl run` clears the cache at its end
    app.test_client().get(COLLECTION)
    empty_redis.set("someone-else:key", "kept")

    with app.app_context():
        cache.clear()

    assert empty_redis.keys("*") == [b"someone-else:key"]


def test_redis_client_uses_a_bounded_blocking_pool(make_app, redis_url):
    app = make_app(REDIS_URL=redis_url, REDIS_MAX_CONNECTIONS=7)

    with app.app_context():
        client = cache.cache._write_client
    pool = client.connection_pool

    assert isinstance(pool, redis.BlockingConnectionPool)
    assert pool.max_connections == 7
    assert pool.timeout == app.config["REDIS_SOCKET_TIMEOUT"]
    assert (
        pool.connection_kwargs["socket_timeout"] == app.config["REDIS_SOCKET_TIMEOUT"]
    )
    assert (
        pool.connection_kwargs["socket_connect_timeout"]
        == app.config["REDIS_SOCKET_TIMEOUT"]
    )


def test_redis_down_still_answers_and_logs_once(make_app, caplog):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    build_catalogue(app)
    client = app.test_client()

    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        responses = [client.get(f"{COLLECTION}?limit={n}") for n in (1, 2, 1)]

    assert [response.status_code for response in responses] == [200, 200, 200]
    assert [len(response.json) for response in responses] == [1, 2, 1]
    assert time.monotonic() - started < 3
    warnings = [r for r in caplog.records if "answering uncached" in r.getMessage()]
    assert len(warnings) == 1
