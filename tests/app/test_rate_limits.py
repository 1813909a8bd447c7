"""The rate limits' own storage without Redis: a SQLite file the workers share."""

import json
import time
import urllib.error
import urllib.request

import pytest

from app.rate_limits import SCHEME, SQLiteStorage
from tests.commands import command_env, gunicorn
from tests.factories import make_migrated_db
from tests.fixtures.accounts import make_account
from tests.fixtures.redis import free_port
from tests.settings import make_test_app
from tests.waiting import wait_until


@pytest.fixture
def storage(tmp_path):
    return SQLiteStorage(f"{SCHEME}://{tmp_path / 'limits.sqlite'}")


def test_hits_count_within_their_window_then_start_again(storage):
    assert [storage.incr("k", 1) for _ in range(3)] == [1, 2, 3]
    assert storage.get("k") == 3
    assert time.time() < storage.get_expiry("k") <= time.time() + 1

    wait_until(lambda: storage.get("k") == 0, attempts=60)

    assert storage.incr("k", 1) == 1


def test_two_processes_on_one_file_share_the_counts(storage):
    other = SQLiteStorage(f"{SCHEME}://{storage.path}")

    storage.incr("k", 60)
    other.incr("k", 60, amount=2)

    assert storage.get("k") == other.get("k") == 3


def test_clear_reset_and_check(storage):
    storage.incr("a", 60)
    storage.incr("b", 60)

    storage.clear("a")
    assert storage.get("a") == 0
    assert storage.get("b") == 1
    assert storage.reset() == 1
    assert storage.get("b") == 0
    assert storage.check() is True


def test_a_file_that_cannot_be_opened_fails_the_check(tmp_path):
    broken = SQLiteStorage(f"{SCHEME}://{tmp_path / 'missing' / 'dir' / 'x'}")
    (tmp_path / "missing").write_text("a file where a folder should be")

    assert broken.check() is False


def _login(base, password):
    request = urllib.request.Request(
        f"{base}/login/",
        data=json.dumps({"username": "alice", "password": password}).encode(),
        headers={"Content-Type": "application/json", "Connection": "close"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _answers(base):
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.slow
def test_failed_logins_count_across_the_workers_of_a_server(db_path, tmp_path):
    make_migrated_db(db_path)
    make_account(make_test_app(db_path), "alice")
    port = free_port()
    env = command_env(
        {"DATABASE_PATH": db_path},
        BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="2",
        LOGIN_FAILURES_PER_USERNAME="5 per minute",
    )
    base = f"http://127.0.0.1:{port}"
    with gunicorn("wsgi:app", env, tmp_path / "gunicorn.log"):
        wait_until(lambda: _answers(base))
        # Each on a new connection, which the kernel gives either worker.
        answers = [_login(base, "not the password") for _ in range(20)]
        # The owner, from the same address, waits too: that is the limit.
        assert _login(base, "correct horse battery") == 429

    assert answers == [401] * 5 + [429] * 15
