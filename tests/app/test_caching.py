"""Caching of whole GET answers, keyed by query and data version, in Redis or not."""

import logging
import socket
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from app import caching
from app.extensions import cache
from catalogue.search import MOVIES, get_indexer, get_search
from catalogue.versions import new_data_version
from tests.factories import make_legacy_db, movie
from tests.fixtures.redis import free_port

COLLECTION = "/api/v1/video/collection"


class CountingReader:
    """A search reader that counts the film queries it answers."""

    COUNTED = ("search_films", "get_film")

    def __init__(self, reader, counted=COUNTED):
        self.reader = reader
        self.counted = counted
        self.calls = 0

    def __getattr__(self, name):
        attribute = getattr(self.reader, name)
        if name not in self.counted:
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


def count_reader_calls(app, counted=CountingReader.COUNTED):
    """Put a counting wrapper around the app's search reader and return it."""
    with app.app_context():
        counting = CountingReader(get_search(), counted)
    app.extensions["search"] = counting
    return counting


def publish_new_data(app, film):
    """Write ``film`` and a new data version, as the ETL does in another process."""
    with app.app_context():
        indexer = get_indexer()
        indexer.write(MOVIES, [film])
        indexer.refresh()
        indexer.set_data_version(new_data_version())


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
    """Stand in for the clock of the app's data version."""
    fake = Clock()
    app.extensions["data-version"].clock = fake
    return fake


@pytest.fixture
def catalogue(app):
    """The ``app`` fixture on an indexed catalogue, its backend calls counted."""
    build_catalogue(app)
    return count_reader_calls(app)


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

    publish_new_data(app, changed)
    # The worker goes on with the version it read until the interval is over.
    assert client.get(path).json["title"] == "Alien"
    clock.advance(app.config["CACHE_VERSION_CHECK_MS"] / 1000)

    assert client.get(path).json["title"] == "Aliens"


def test_the_etl_makes_old_answers_unreachable_at_once_in_its_process(app, catalogue):
    client = app.test_client()
    path = "/api/v1/video/get/tt0000002"
    assert client.get(path).json["title"] == "Alien"
    with app.app_context():
        changed = {**get_search().get_film("tt0000002"), "title": "Aliens"}
        get_indexer().write(MOVIES, [changed])
    assert client.get(path).json["title"] == "Alien"  # still the cached answer

    result = app.test_cli_runner().invoke(args=["etl", "run"])

    assert result.exit_code == 0, result.output
    assert client.get(path).json["title"] == "Aliens"


def test_a_cached_answer_asks_nothing_of_sqlite_or_the_search_engine(
    app, catalogue, monkeypatch
):
    counting = count_reader_calls(
        app, counted=("data_version", *CountingReader.COUNTED)
    )
    client = app.test_client()
    client.get(COLLECTION)
    assert counting.calls == 2  # the version, then the page

    def refuse(*args, **kwargs):
        raise AssertionError("a cached answer opened a SQLite connection")

    monkeypatch.setattr(sqlite3, "connect", refuse)
    assert client.get(COLLECTION).status_code == 200
    assert counting.calls == 2


def test_an_elasticsearch_node_keys_its_cache_without_the_database(
    make_app, elasticsearch_url, tmp_path, monkeypatch
):
    app = make_app(
        ELASTICSEARCH_URL=elasticsearch_url,
        ELASTICSEARCH_INDEX_PREFIX=f"node_{tmp_path.name[-8:].lower()}_",
        DATABASE_PATH=str(tmp_path / "elsewhere" / "movies.sqlite"),
    )
    with app.app_context():
        indexer = get_indexer()
        indexer.prepare()
        indexer.write(MOVIES, [{"id": "tt0000001", "title": "Alien"}])
        indexer.refresh()
        indexer.set_data_version(new_data_version())
    counting = count_reader_calls(app)

    def refuse(*args, **kwargs):
        raise AssertionError("an Elasticsearch node opened a SQLite file")

    monkeypatch.setattr(sqlite3, "connect", refuse)
    client = app.test_client()
    answers = [client.get("/api/v1/video/get/tt0000001") for _ in range(2)]

    assert [answer.json["title"] for answer in answers] == ["Alien", "Alien"]
    assert counting.calls == 1


def test_answers_before_the_index_is_built_are_not_cached(app):
    counting = count_reader_calls(app)
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
    counting = count_reader_calls(second_worker)

    answer = first_worker.test_client().get(f"{COLLECTION}?sort=title")
    cached = second_worker.test_client().get(f"{COLLECTION}?sort=title")

    assert counting.calls == 0
    assert cached.data == answer.data
    assert cached.headers["X-Total-Count"] == "3"
    keys = empty_redis.keys("*")
    assert keys
    assert all(key.startswith(b"movie-catalogue:") for key in keys)


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


def test_redis_down_still_answers_and_logs_once(make_app, caplog, monkeypatch):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    build_catalogue(app)
    client = app.test_client()
    tries = []
    with app.app_context():
        redis_get = cache.cache.get
    monkeypatch.setattr(
        cache.cache, "get", lambda key: tries.append(key) or redis_get(key)
    )

    with caplog.at_level(logging.WARNING):
        responses = [client.get(f"{COLLECTION}?limit={n}") for n in (1, 2, 1)]

    assert [response.status_code for response in responses] == [200, 200, 200]
    assert [len(response.json) for response in responses] == [1, 2, 1]
    # The first failure pauses the cache: the other answers do not wait on it.
    assert len(tries) == 1
    warnings = [r for r in caplog.records if "answering uncached" in r.getMessage()]
    assert len(warnings) == 1


@pytest.fixture
def hung_redis():
    """URL of a Redis that accepts connections and never answers; and its count."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held = []

    def accept():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0", held
    listener.close()
    for conn in held:
        conn.close()


def test_a_hung_redis_is_asked_once_a_pause_and_warned_of_once(
    make_app, hung_redis, caplog
):
    url, connections = hung_redis
    app = make_app(REDIS_URL=url, REQUEST_COUNTING=False)
    build_catalogue(app)
    clock = Clock()
    app.extensions["response-cache"].clock = clock
    client = app.test_client()

    with caplog.at_level(logging.WARNING):
        # Requests in flight together all wait on the hung Redis once...
        with ThreadPoolExecutor(max_workers=5) as pool:
            together = list(
                pool.map(
                    lambda n: app.test_client().get(f"{COLLECTION}?limit={n}"),
                    range(1, 6),
                )
            )
        asked = len(connections)
        # ...then the cache is skipped for the pause: Redis is not asked.
        during = [client.get(f"{COLLECTION}?limit={n}") for n in (1, 2, 3)]
        assert len(connections) == asked
        clock.advance(caching.PAUSE_AFTER_FAILURE)
        probe = client.get(COLLECTION)

    assert [r.status_code for r in together + during + [probe]] == [200] * 9
    assert len(connections) == asked + 1  # one probe after the pause
    warnings = [r for r in caplog.records if "answering uncached" in r.getMessage()]
    assert len(warnings) == 2  # the first failure, and the failed probe
