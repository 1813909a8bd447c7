"""The reports API under gunicorn's gevent worker: a report asked for while the
embedded queue's file is locked waits for the lock off the event loop, and the
worker's other requests are answered meanwhile.
"""

import json
import sqlite3
import threading
import time
import urllib.request
from contextlib import closing

import pytest

from reports.queue import QUEUE_LOCK_TIMEOUT, get_queue
from tests.catalogue.db.test_sqlite import holder_sees_a_waiter, wait_until_serving
from tests.commands import command_env, gunicorn, process_settings
from tests.fixtures.redis import free_port
from tests.fixtures.reports import Users
from tests.reports.test_api import TOP_MOVIES
from tests.waiting import wait_until


@pytest.fixture
def embedded_app(make_app, reports_db):
    """An app on the reports catalogue and the embedded queue, its file made."""
    app = make_app()
    get_queue(app)
    return app


def served_env(app, port):
    """The environment of a gunicorn serving ``app``'s files with one worker."""
    return command_env(
        process_settings(app.config),
        BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
    )


@pytest.mark.slow
def test_a_report_waiting_for_the_queue_lock_does_not_freeze_its_worker(
    embedded_app, tmp_path
):
    headers = Users(embedded_app).headers["alice"]
    queue_path = embedded_app.config["REPORT_QUEUE_PATH"]
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1/reports"
    with (
        gunicorn("wsgi:app", served_env(embedded_app, port), tmp_path / "gunicorn.log"),
        closing(sqlite3.connect(queue_path, isolation_level=None)) as holder,
    ):
        wait_until_serving(f"http://127.0.0.1:{port}/healthz")
        holder.execute("BEGIN IMMEDIATE")  # the queue's write lock, held elsewhere
        answers = {}

        def ask():
            request = urllib.request.Request(
                base,
                data=json.dumps(TOP_MOVIES).encode(),
                headers={**headers, "Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=60) as response:
                answers["post"] = response.status

        asking = threading.Thread(target=ask)
        asking.start()
        # The worker has opened the queue's file and waits for its lock...
        wait_until(lambda: holder_sees_a_waiter(queue_path))
        # ...while a request on the same (only) worker is answered well before
        # the queue would give up waiting (a frozen worker answers only then).
        listing = urllib.request.Request(base, headers=headers)
        with urllib.request.urlopen(listing, timeout=QUEUE_LOCK_TIMEOUT / 2) as got:
            assert got.status == 200
            assert [job["status"] for job in json.load(got)] == ["queued"]
        assert asking.is_alive() and "post" not in answers

        holder.execute("COMMIT")
        asking.join(timeout=60)

    assert answers == {"post": 202}
    assert get_queue(embedded_app).pending() == 1


@pytest.mark.slow
def test_a_request_waiting_for_its_report_does_not_hold_its_worker(
    embedded_app, tmp_path
):
    headers = Users(embedded_app).headers["alice"]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(served_env(embedded_app, port), REPORT_MAX_WAIT="3")
    with gunicorn("wsgi:app", env, tmp_path / "gunicorn.log"):
        wait_until_serving(f"{base}/healthz")
        answers = {}

        def ask():
            request = urllib.request.Request(
                f"{base}/api/v1/reports",
                data=json.dumps(TOP_MOVIES).encode(),
                headers={
                    **headers,
                    "Content-Type": "application/json",
                    "Prefer": "wait=30",
                },
            )
            started = time.monotonic()
            with urllib.request.urlopen(request, timeout=60) as response:
                answers["post"] = (response.status, json.load(response)["status"])
                answers["applied"] = response.headers["Preference-Applied"]
            answers["seconds"] = time.monotonic() - started

        asking = threading.Thread(target=ask)
        asking.start()
        time.sleep(0.5)
        # No report worker runs: the job stays queued, and the request waits...
        started = time.monotonic()
        with urllib.request.urlopen(f"{base}/healthz", timeout=10) as response:
            assert response.status == 200
        # ...while the same (only) worker answers at once.
        assert time.monotonic() - started < 1
        assert "post" not in answers
        asking.join(timeout=60)

    assert answers["post"] == (202, "queued")
    assert answers["applied"] == "wait=3"
    assert 3 <= answers["seconds"] < 10
