"""The app's ``flask`` commands and its gunicorn server, run in a subprocess as an
operator runs them.
"""

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from tests.settings import TEST_JWT_SECRET

ROOT = Path(__file__).resolve().parent.parent
# Every setting the service reads from the environment that the tests set; a
# value inherited from the shell must not leak into a run.
SETTINGS = (
    "DATABASE_PATH",
    "DATABASE_URL",
    "SINGLE_NODE",
    "EMBEDDED_SEARCH_PATH",
    "ETL_STATE_PATH",
    "ELASTICSEARCH_URL",
    "ELASTICSEARCH_INDEX_PREFIX",
    "REDIS_URL",
    "JWT_SECRET_KEY",
    "JWT_SECRET_PATH",
    "ETL_NICENESS",
    "REQUEST_COUNT_PATH",
    "RATE_LIMITS_PATH",
    "MOVIES_PROVIDER_URL",
    "MOVIES_PROVIDER_USERNAME",
    "MOVIES_PROVIDER_PASSWORD",
    "MOVIES_PROVIDER_BREAKER_PATH",
    "REPORT_QUEUE_PATH",
    "REPORT_QUEUE_NAME",
    "REPORT_NICENESS",
    "REPORT_HEARTBEAT_TIMEOUT",
    "REPORT_MAX_ATTEMPTS",
    "REPORT_JOBS_PER_USER",
    "REPORT_QUEUE_LIMIT",
    "REPORT_MAX_WAIT",
    "PUBLIC_BASE_URL",
    "LINK_HOSTS",
)


# The files a process of an app reads and writes, and where its queue is.
PROCESS_FILES = (
    "DATABASE_PATH",
    "DATABASE_URL",
    "SINGLE_NODE",
    "EMBEDDED_SEARCH_PATH",
    "ETL_STATE_PATH",
    "REQUEST_COUNT_PATH",
    "RATE_LIMITS_PATH",
    "JWT_SECRET_PATH",
    "REDIS_URL",
    "REPORT_QUEUE_PATH",
    "REPORT_QUEUE_NAME",
)


def process_settings(config):
    """The settings of ``config`` that another process needs to share its files."""
    return {name: config[name] for name in PROCESS_FILES}


def command_env(settings, **variables):
    """This process's environment without SETTINGS, then ``settings`` and ``variables``.

    Settings without a value (None or empty) are left out, so the service falls
    back on its defaults for them.
    """
    env = {name: value for name, value in os.environ.items() if name not in SETTINGS}
    env["JWT_SECRET_KEY"] = TEST_JWT_SECRET
    # ETL subprocesses keep the suite's priority: niced, they would come last on a
    # busy CI machine.
    env["ETL_NICENESS"] = "0"
    env["REPORT_NICENESS"] = "0"
    env.update({name: str(value) for name, value in settings.items() if value})
    return env | variables


def flask(env, *args, cwd=ROOT, **kwargs):
    """Run ``flask *args`` in ``env`` from ``cwd`` (this checkout); return what it did."""
    return subprocess.run(
        [sys.executable, "-m", "flask", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        **kwargs,
    )


@contextlib.contextmanager
def gunicorn(app, env, log_path, stop_seconds=20, cwd=ROOT):
    """Serve ``app`` with ``gunicorn -c gunicorn.conf.py`` in ``env``; yield the process.

    It runs in ``cwd``, a checkout of the service (this one by default). Its
    output goes to ``log_path``. On the way out it is stopped, and killed if
    it takes longer than ``stop_seconds``.
    """
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", app],
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=stop_seconds)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def children(pid):
    """Process ids of ``pid``'s children (a gunicorn master's: its workers)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


@contextlib.contextmanager
def reports_worker(env, log_path, app="wsgi", stop_seconds=20, cwd=ROOT):
    """Run ``flask reports worker`` in ``env`` (in ``cwd``); yield the process.

    Its output goes to ``log_path``. On the way out it is stopped with SIGTERM
    (running jobs finish), and killed if it takes longer than ``stop_seconds``.
    """
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", app, "reports", "worker"],
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=stop_seconds)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
