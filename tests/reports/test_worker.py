"""``flask reports worker`` as an operator runs it: a job survives restarts, a
worker killed with SIGKILL mid-job leaves the job to run again or to end in
error, a job whose message was taken by a worker that died before claiming it
is queued again (once), a report that raises ends in error without its
traceback; and expired results are purged. On the embedded queue and on Redis.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from catalogue.db import open_catalogue
from catalogue.db.sqlite import connect
from catalogue.migrations import discover, upgrade
from reports import jobs, worker
from reports.queue import get_queue
from tests.commands import ROOT, command_env, process_settings
from tests.factories import make_star_wars_db
from tests.fixtures.reports import RunningConsumer
from tests.reports.extra import with_extra_reports
from tests.reports.test_api import TOP_MOVIES, finished, job_of, rows_of, submit
from tests.waiting import wait_until

pytestmark = pytest.mark.stores

# A killed worker's job is noticed within 4/3 of this.
HEARTBEAT_TIMEOUT = 1.0


@pytest.fixture
def extra_app(make_app, reports_db, reports_settings):
    """An app on the reports catalogue that also knows the tests' extra reports."""
    return make_app(
        REPORTS=with_extra_reports(),
        REPORT_HEARTBEAT_TIMEOUT=HEARTBEAT_TIMEOUT,
        **reports_settings,
    )


@pytest.fixture
def start_worker(extra_app, tmp_path):
    """Start ``flask reports worker`` on the app's database and queue; yield a starter."""
    config = extra_app.config
    started = []

    def start(**variables):
        settings = process_settings(config)
        settings["REPORT_HEARTBEAT_TIMEOUT"] = HEARTBEAT_TIMEOUT
        env = command_env(settings, LOG_LEVEL="INFO", **variables)
        log_path = tmp_path / f"worker-{len(started) + 1}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "flask",
                    "--app",
                    "tests.apps.extra_reports",
                    "reports",
                    "worker",
                    "--workers",
                    "1",
                ],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        process.log_path = log_path
        started.append(process)
        return process

    yield start
    for process in started:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def gate_body(tmp_path):
    """A request of the gated report, its gate a fresh folder; and the folder."""
    gate = tmp_path / "gate"
    gate.mkdir(exist_ok=True)
    return {"report_name": "gated", "gate": str(gate)}, gate


def killed_mid_job(client, headers, start_worker, tmp_path):
    """Submit a gated job, kill its worker with SIGKILL while it runs; return the
    job id and the gate.
    """
    body, gate = gate_body(tmp_path)
    job_id = submit(client, headers, body).get_json()["id"]
    first = start_worker()
    wait_until(lambda: (gate / "started-1").exists())
    assert job_of(client, headers, job_id)["status"] == "running"
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    return job_id, gate


def test_a_worker_runs_queued_reports(extra_app, users, start_worker):
    client = extra_app.test_client()
    job_id = submit(client, users.headers["alice"], TOP_MOVIES).get_json()["id"]

    process = start_worker()
    job = finished(client, users.headers["alice"], job_id)

    assert job["status"] == "completed", process.log_path.read_text()
    assert job["row_count"] == 4


def test_a_queued_job_survives_restarts_of_the_api_and_the_worker(
    extra_app, make_app, reports_settings, users, start_worker
):
    first = start_worker()
    wait_until(lambda: "report worker ready" in first.log_path.read_text())
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=20) == 0, first.log_path.read_text()
    client = extra_app.test_client()
    job_id = submit(client, users.headers["alice"], TOP_MOVIES).get_json()["id"]

    restarted_api = make_app(REPORTS=with_extra_reports(), **reports_settings)
    start_worker()
    job = finished(restarted_api.test_client(), users.headers["alice"], job_id)

    assert job["status"] == "completed"


def test_a_job_whose_worker_is_killed_runs_again(
    extra_app, users, start_worker, tmp_path
):
    client = extra_app.test_client()
    headers = users.headers["alice"]
    job_id, gate = killed_mid_job(client, headers, start_worker, tmp_path)
    (gate / "release").touch()

    start_worker()
    job = finished(client, headers, job_id)

    assert job["status"] == "completed"
    assert job["attempts"] == 2
    assert (gate / "started-2").exists()
    rows = rows_of(client, headers, job_id).get_json()
    assert [row["id"] for row in rows] == [f"tt000000{n}" for n in range(1, 7)]


def test_a_job_killed_at_its_last_attempt_ends_in_error(
    extra_app, users, start_worker, tmp_path
):
    client = extra_app.test_client()
    headers = users.headers["alice"]
    job_id, gate = killed_mid_job(client, headers, start_worker, tmp_path)

    start_worker(REPORT_MAX_ATTEMPTS="1")
    job = finished(client, headers, job_id)

    assert job["status"] == "error"
    assert job["message"] == (
        "The worker running this report stopped once before it finished;"
        " ask for the report again, or narrow it with limit or filters."
    )
    assert not (gate / "started-2").exists()
    assert (
        client.get(f"/api/v1/reports/{job_id}/results", headers=headers).status_code
        == 409
    )


def test_a_report_that_raises_ends_in_error_without_its_traceback(
    extra_app, users, start_worker
):
    client = extra_app.test_client()
    headers = users.headers["alice"]
    job_id = submit(client, headers, {"report_name": "broken"}).get_json()["id"]

    process = start_worker()
    response = client.get(f"/api/v1/reports/{job_id}", headers=headers)
    job = finished(client, headers, job_id)

    assert job["status"] == "error"
    assert job["message"] == (
        f"The report failed on our side; quote job {job_id} when you report it,"
        " or try it again later."
    )
    assert job["attempts"] == 1
    text = client.get(f"/api/v1/reports/{job_id}", headers=headers).get_data(True)
    assert "secret internal detail" not in text
    assert "Traceback" not in text
    assert response.status_code == 200
    wait_until(lambda: "secret internal detail" in process.log_path.read_text())


def after_the_grace(app):
    """A moment at which a job queued now has waited longer than its grace."""
    return datetime.now(UTC) + timedelta(
        seconds=app.config["REPORT_HEARTBEAT_TIMEOUT"] + 1
    )


def test_a_job_whose_message_was_lost_is_queued_again_and_runs(reports_app, users):
    client = reports_app.test_client()
    headers = users.headers["alice"]
    job_id = submit(client, headers, TOP_MOVIES).get_json()["id"]
    queue = get_queue(reports_app)
    # A worker takes the message, then dies before it claims the job.
    assert queue.huey.dequeue().args == (job_id,)

    assert worker.sweep(reports_app) == ([], 0, 0)
    assert worker.sweep(reports_app, now=after_the_grace(reports_app)) == (
        [job_id],
        0,
        0,
    )
    assert worker.sweep(reports_app, now=after_the_grace(reports_app)) == ([], 0, 0)
    assert queue.pending() == 1
    with RunningConsumer(reports_app):
        job = finished(client, headers, job_id)

    assert job["status"] == "completed"
    assert job["attempts"] == 1


def test_jobs_waiting_their_turn_on_the_queue_are_not_queued_twice(reports_app, users):
    client = reports_app.test_client()
    headers = users.headers["alice"]
    job_ids = [submit(client, headers, TOP_MOVIES).get_json()["id"] for _ in "abc"]

    assert worker.sweep(reports_app, now=after_the_grace(reports_app)) == ([], 0, 0)
    assert get_queue(reports_app).pending() == 3
    with RunningConsumer(reports_app):
        done = [finished(client, headers, job_id) for job_id in job_ids]

    assert [job["status"] for job in done] == ["completed"] * 3
    assert [job["attempts"] for job in done] == [1] * 3


def test_of_two_sweeps_that_find_the_same_lost_message_one_acts(reports_app, users):
    client = reports_app.test_client()
    job_id = submit(client, users.headers["alice"], TOP_MOVIES).get_json()["id"]
    get_queue(reports_app).huey.dequeue()
    later = after_the_grace(reports_app)
    timeout = reports_app.config["REPORT_HEARTBEAT_TIMEOUT"]

    with open_catalogue(reports_app.config) as conn:
        first = jobs.waiting_too_long(conn, timeout, now=later)
        second = jobs.waiting_too_long(conn, timeout, now=later)
        assert first == second == [(job_id, first[0][1])]
        acted = [
            jobs.requeue_lost(conn, *first[0], now=later),
            jobs.requeue_lost(conn, *second[0], now=later),
        ]

    assert acted == [True, False]


def test_a_queued_job_past_its_attempts_ends_in_error_when_taken(reports_app, users):
    client = reports_app.test_client()
    headers = users.headers["alice"]
    job_id = submit(client, headers, TOP_MOVIES).get_json()["id"]
    with open_catalogue(reports_app.config) as conn:
        # Requeued after its second attempt, then REPORT_MAX_ATTEMPTS lowered to 2.
        conn.execute("UPDATE report_job SET attempts = 2 WHERE id = ?", (job_id,))
        assert jobs.claim(conn, job_id, max_attempts=2) is None

    job = job_of(client, headers, job_id)
    assert job["status"] == "error"
    assert "stopped 2 times" in job["message"]


def test_a_job_queued_before_the_upgrade_counts_as_queued_since_it_was_asked(
    db_path, tmp_path
):
    make_star_wars_db(db_path)
    before = tmp_path / "migrations-before-queued-at"
    before.mkdir()
    for version, path in discover():
        if version < "0012":
            shutil.copy(path, before)
    asked = "2030-01-01T00:00:00.000Z"
    with contextlib.closing(connect(db_path)) as conn:
        upgrade(conn, before)
        conn.execute(
            "INSERT INTO account (id, username, username_key, password_hash)"
            " VALUES (1, 'alice', 'alice', 'x')"
        )
        conn.execute(
            "INSERT INTO report_job (id, owner_id, report_name, parameters,"
            " parameters_key, report_date) VALUES (7, 1, 'genres-summary', '{}',"
            " 'key', ?)",
            (asked,),
        )
        upgrade(conn)
        moment = datetime(2030, 1, 1, tzinfo=UTC)

        assert jobs.waiting_too_long(conn, 30, now=moment) == []
        assert jobs.waiting_too_long(conn, 30, now=moment + timedelta(seconds=31)) == [
            (7, asked)
        ]


def expire(app, seconds_after_ttl=1):
    """Sweep as a worker would once the results' TTL has passed."""
    later = datetime.now(UTC) + timedelta(
        seconds=app.config["REPORT_RESULT_TTL"] + seconds_after_ttl
    )
    return worker.sweep(app, now=later)


def count(app, table):
    """Rows in ``table``."""
    with open_catalogue(app.config) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_results_are_kept_for_their_ttl_then_purged(reports_app, users, report_worker):
    client = reports_app.test_client()
    headers = users.headers["alice"]
    job_id = submit(client, headers, TOP_MOVIES).get_json()["id"]
    finished(client, headers, job_id)
    reused_id = submit(client, users.headers["bob"], TOP_MOVIES).get_json()["id"]

    assert worker.sweep(reports_app) == ([], 0, 0)
    assert count(reports_app, "report_chunk") == 1
    assert expire(reports_app) == ([], 2, 1)

    assert client.get(f"/api/v1/reports/{job_id}", headers=headers).status_code == 404
    assert (
        client.get(
            f"/api/v1/reports/{reused_id}", headers=users.headers["bob"]
        ).status_code
        == 404
    )
    assert count(reports_app, "report_chunk") == 0
    assert count(reports_app, "report_result") == 0


def test_a_deleted_jobs_rows_are_purged_by_the_next_sweep(
    reports_app, users, report_worker
):
    client = reports_app.test_client()
    headers = users.headers["alice"]
    job_id = submit(client, headers, TOP_MOVIES).get_json()["id"]
    finished(client, headers, job_id)
    client.delete(f"/api/v1/reports/{job_id}", headers=headers)

    assert worker.sweep(reports_app) == ([], 0, 1)
    assert count(reports_app, "report_chunk") == 0


def test_flask_reports_purge(reports_app, users, report_worker):
    client = reports_app.test_client()
    headers = users.headers["alice"]
    job_id = submit(client, headers, TOP_MOVIES).get_json()["id"]
    finished(client, headers, job_id)

    result = reports_app.test_cli_runner().invoke(args=["reports", "purge"])

    assert result.exit_code == 0, result.output
    assert result.output == "requeued 0 job(s); purged 0 job(s) and 0 result(s)\n"
