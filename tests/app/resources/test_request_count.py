"""The request counter: every answered request, exact across workers, Redis or not."""

import http.client
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import pytest
import redis

from app.resources.request_count.counter import REDIS_KEY, RedisCounter
from tests.commands import command_env, gunicorn
from tests.factories import make_migrated_db
from tests.fixtures.accounts import PASSWORD, bearer, make_account
from tests.fixtures.redis import free_port
from tests.settings import make_test_app
from tests.waiting import wait_until

COUNT = "/request-count/"
RESET = "/request-count/reset/"


@pytest.fixture(params=["embedded", "redis"])
def counted(request, accounts_app, make_app):
    """An app and the Authorization header of one of its accounts.

    The count is in a file (the embedded default) or in the session's Redis.
    """
    app = accounts_app
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        redis.Redis.from_url(url).delete(REDIS_KEY)
        app = make_app(REDIS_URL=url)
    return app, bearer(app, make_account(app, "counter", role="admin"))


def test_a_reset_then_n_requests_then_a_read_answers_n_plus_the_reset(counted):
    app, headers = counted
    client = app.test_client()
    reset = client.post(RESET, headers=headers)

    for _ in range(7):
        client.get("/healthz")
    first = client.get(COUNT, headers=headers)
    second = client.get(COUNT, headers=headers)

    assert reset.status_code == 200
    assert reset.json == {"message": "request count reset successfully"}
    # The reset's own answer counts; a read does not count itself.
    assert first.json == {"requests": 8}
    assert second.json == {"requests": 9}


def test_every_path_and_status_counts(counted):
    app, headers = counted
    client = app.test_client()
    client.post(RESET, headers=headers)

    statuses = [
        client.get("/healthz").status_code,
        client.get("/nowhere").status_code,
        client.get(COUNT).status_code,
        client.get("/api/v1/video/collection?limit=0").status_code,
        client.delete("/healthz").status_code,
        client.get("/openapi.json").status_code,
    ]

    assert statuses == [200, 404, 401, 422, 405, 200]
    assert client.get(COUNT, headers=headers).json == {"requests": 7}


def test_the_count_is_for_signed_in_users_only(counted):
    app, _ = counted
    client = app.test_client()

    assert client.get(COUNT).status_code == 401
    assert client.post(RESET).status_code == 401


def test_only_an_admin_resets_the_count(counted):
    app, admin = counted
    user = bearer(app, make_account(app, "reader"))
    client = app.test_client()
    client.post(RESET, headers=admin)
    for _ in range(3):
        client.get("/healthz")

    refused = client.post(RESET, headers=user)

    assert refused.status_code == 403
    assert set(refused.json) == {"code", "status", "message", "errors"}
    assert "admin" in refused.json["message"]
    # Nothing was reset: the refusal counts like any answer.
    assert client.get(COUNT, headers=user).json == {"requests": 5}


def test_the_spec_says_the_reset_is_for_admins(accounts_app):
    spec = accounts_app.test_client().get("/openapi.json").json

    reset = spec["paths"][RESET]["post"]
    assert reset["security"] == [{"bearerAuth": []}]
    assert {"401", "403"} <= set(reset["responses"])
    assert "admin" in reset["responses"]["403"]["description"]


def test_counting_can_be_switched_off(accounts_app, make_app):
    app = make_app(REQUEST_COUNTING=False)
    headers = bearer(app, make_account(app, "counter", role="admin"))
    client = app.test_client()
    client.post(RESET, headers=headers)
    for _ in range(3):
        client.get("/healthz")

    assert client.get(COUNT, headers=headers).json == {"requests": 0}


def test_a_redis_that_is_down_fails_no_request(accounts_app, make_app, caplog):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    headers = bearer(app, make_account(app, "counter"))
    client = app.test_client()

    with caplog.at_level(logging.WARNING):
        answers = [client.get("/healthz").status_code for _ in range(5)]
    read = client.get(COUNT, headers=headers)

    assert answers == [200] * 5
    counter_warnings = [r for r in caplog.records if "request counter" in r.message]
    assert len(counter_warnings) == 1  # once a pause, not once a request
    # The blocklist is in that Redis too: tokens cannot be checked.
    assert read.status_code == 503
    assert int(read.headers["Retry-After"]) > 0


class Clock:
    """A monotonic clock that moves only when told to."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class BrokenConnection:
    """A Redis connection whose peer has gone: every command fails."""

    def send_command(self, *args):
        raise redis.ConnectionError("Connection reset by peer")

    def disconnect(self):
        pass


def test_requests_missed_while_redis_failed_are_added_when_it_is_back(
    redis_url, monkeypatch
):
    client = redis.Redis.from_url(redis_url)
    client.delete(REDIS_KEY)
    clock = Clock()
    counter = RedisCounter(client, logging.getLogger("test"), clock=clock)
    counter.increment()
    working = counter._connection
    monkeypatch.setattr(counter, "_connection", BrokenConnection)

    counter.increment()  # fails: counted in the worker, Redis paused
    monkeypatch.setattr(counter, "_connection", working)
    counter.increment()  # paused: counted in the worker
    assert counter.read() == 1
    clock.now += 60
    counter.increment()

    assert counter.read() == 4
    assert counter.missed == 0


@pytest.fixture(params=["embedded", "redis"])
def served(request, tmp_path, db_path):
    """A migrated catalogue served by gunicorn with two gevent workers."""
    make_migrated_db(db_path)
    make_account(make_test_app(db_path), "counter", role="admin")
    settings = {"DATABASE_PATH": db_path}
    if request.param == "redis":
        settings["REDIS_URL"] = request.getfixturevalue("redis_url")
        redis.Redis.from_url(settings["REDIS_URL"]).delete(REDIS_KEY)
    port = free_port()
    env = command_env(
        settings,
        BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="2",
        REGISTRATIONS_PER_ADDRESS="100 per minute",
    )
    with gunicorn("wsgi:app", env, tmp_path / "gunicorn.log"):
        wait_until(lambda: _answers(port))
        yield port


def _answers(port):
    try:
        return _request(port, "GET", "/healthz")[0] == 200
    except OSError:
        return False


def _request(port, method, path, body=None, headers=None, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = json.dumps(body) if body is not None else None
        conn.request(
            method,
            path,
            body=payload,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        if own:
            conn.close()


@pytest.mark.slow
def test_the_count_is_exact_over_two_workers_and_fifty_clients(served):
    port = served
    status, tokens = _request(
        port,
        "POST",
        "/login/",
        {"username": "counter", "password": PASSWORD},
    )
    assert status == 200
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert _request(port, "POST", RESET, headers=headers)[0] == 200
    answered = []
    lock = threading.Lock()

    def client(requests):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        with closing(conn):
            for _ in range(requests):
                status, _ = _request(port, "GET", "/healthz", conn=conn)
                with lock:
                    answered.append(status)

    with ThreadPoolExecutor(max_workers=50) as pool:
        list(pool.map(client, [40] * 50))

    status, count = _request(port, "GET", COUNT, headers=headers)
    assert answered == [200] * 2000
    assert (status, count) == (200, {"requests": 2001})
