"""What the real service writes in its logs: no secret, no trace of an expected failure.

gunicorn with gevent workers, its access log on: a token or a password sent in a
query string is never written, and a wrong password (whose check raises in a
thread of the hashing pool) leaves no traceback.
"""

import json
import urllib.error
import urllib.request

import pytest

from tests.commands import command_env, gunicorn
from tests.factories import make_migrated_db
from tests.fixtures.accounts import make_account
from tests.fixtures.redis import free_port
from tests.settings import make_test_app
from tests.waiting import wait_until

pytestmark = pytest.mark.slow
SECRETS = ("eyJhbGciOiJIUzI1NiJ9.s3cret", "hunter2-password", "refresh-s3cret")


def _call(url, body=None):
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Referer": url},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _up(base):
    try:
        return _call(f"{base}/healthz") == 200
    except OSError:
        return False


def test_the_logs_hold_no_secret_and_no_traceback_of_a_wrong_password(
    db_path, tmp_path
):
    make_migrated_db(db_path)
    make_account(make_test_app(db_path), "alice")
    port = free_port()
    env = command_env(
        {"DATABASE_PATH": db_path},
        BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
        GUNICORN_ACCESSLOG="true",
    )
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "gunicorn.log"
    with gunicorn("wsgi:app", env, log_path):
        wait_until(lambda: _up(base))
        answers = [
            _call(f"{base}/healthz?jwt={SECRETS[0]}&page=2"),
            _call(f"{base}/client/info?Password={SECRETS[1]}"),
            _call(f"{base}/client/info?x=1&%72efresh_token={SECRETS[2]};token=a"),
            _call(f"{base}/healthz?access_token={SECRETS[0]}"),
        ]
        wrong = [
            _call(f"{base}/login/", {"username": "alice", "password": "not it!!"})
            for _ in range(3)
        ]
        wait_until(lambda: log_path.read_text().count("/login/") >= 3)

    log = log_path.read_text()
    assert answers == [200] * 4
    assert wrong == [401] * 3
    for secret in SECRETS:
        assert secret not in log
    assert log.count("[redacted]") >= 5
    assert "page=2" in log  # what is no secret stays
    assert "Traceback" not in log
    assert "VerifyMismatchError" not in log
    # One line a log-in: the access log's.
    assert len([line for line in log.splitlines() if "/login/" in line]) == 3
