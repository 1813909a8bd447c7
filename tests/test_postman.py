"""The Postman collection, run by newman against the real service.

Each run builds a small generated catalogue with the ``flask`` commands, starts
gunicorn with ``gunicorn.conf.py`` (gevent worker) and ``flask reports worker``
beside it, as ``make run`` does, pointed at the fake movie provider of
``tests/fixtures``, and runs every request of ``postman/`` against it: once on
the embedded parts, once on the production path (Elasticsearch and Redis). The
admin the Admin folder logs in as is made first, as an operator makes one:
``flask users create --admin``.
"""

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.commands import command_env, flask, gunicorn, reports_worker
from tests.fixtures.elasticsearch import drop_indices
from tests.fixtures.redis import free_port

ROOT = Path(__file__).resolve().parent.parent
POSTMAN = ROOT / "postman"
COLLECTION = POSTMAN / "movie-catalogue.postman_collection.json"
ENVIRONMENT = POSTMAN / "local.postman_environment.json"
NEWMAN = POSTMAN / "node_modules" / ".bin" / "newman"
FILMS = 300
SEED = 7
STARTUP_SECONDS = 30
STOP_SECONDS = 20
NEWMAN_SECONDS = 120
ADMIN_USERNAME = "postman_admin"
ADMIN_PASSWORD = "correct horse battery staple"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def newman():
    """Path of the newman that scripts/install-test-deps installs."""
    if NEWMAN.exists():
        return NEWMAN
    if os.environ.get("CI"):
        pytest.fail(
            f"newman is not installed ({NEWMAN}): CI must run "
            "scripts/install-test-deps before the tests"
        )
    pytest.skip("newman is not installed: run scripts/install-test-deps")


@pytest.fixture
def service_env(request, search_config, movies_provider, tmp_path):
    """Environment of the service: the embedded parts, or the production ones
    (PostgreSQL, Elasticsearch and Redis); the fake movie provider for ``/movies/``.
    """
    settings = {
        **search_config,
        **movies_provider.settings(),
        "DATABASE_PATH": tmp_path / "movies.sqlite",
    }
    if settings["ELASTICSEARCH_URL"]:
        # The production path: PostgreSQL for what users write, Elasticsearch
        # for search, Redis for the cache.
        settings["DATABASE_URL"] = request.getfixturevalue("postgresql_url")
        settings["REDIS_URL"] = request.getfixturevalue("redis_url")
        # The report jobs' queue too, under a name of this run's own.
        settings["REPORT_QUEUE_NAME"] = f"postman-{uuid.uuid4().hex}"
    yield command_env(settings, FLASK_APP="wsgi", LOG_LEVEL="WARNING")
    if settings["ELASTICSEARCH_URL"]:
        drop_indices(
            settings["ELASTICSEARCH_URL"], settings["ELASTICSEARCH_INDEX_PREFIX"]
        )


def catalogue_commands(env, films=FILMS, seed=SEED):
    """The ``flask`` commands that build and index a generated catalogue in ``env``.

    On PostgreSQL, the generated legacy file is imported once cleaned.
    """
    commands = [
        ["data", "generate", "--films", str(films), "--seed", str(seed)],
        ["db", "upgrade"],
    ]
    if env.get("DATABASE_URL"):
        commands.append(["db", "import", env["DATABASE_PATH"]])
    # With REDIS_URL set, the run also clears answers cached for older data.
    return [*commands, ["etl", "run"]]


@pytest.fixture
def catalogue(service_env):
    """A generated catalogue, migrated and indexed by the ``flask`` commands."""
    for command in catalogue_commands(service_env):
        run_flask(command, service_env)
    run_flask(
        ["users", "create", "--admin", ADMIN_USERNAME],
        service_env,
        input=f"{ADMIN_PASSWORD}\n",
    )


def run_flask(args, env, **kwargs):
    """Run a ``flask`` command of the app; fail the test with its output if it fails."""
    result = flask(env, *args, timeout=120, **kwargs)
    assert result.returncode == 0, (
        f"flask {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
    )


@pytest.fixture
def service_url(catalogue, service_env, tmp_path):
    """Base URL of gunicorn serving the catalogue with one gevent worker."""
    port = free_port()
    env = dict(service_env, GUNICORN_WORKERS="1", BIND=f"127.0.0.1:{port}")
    env.pop("PORT", None)
    log_path = tmp_path / "gunicorn.log"
    url = f"http://127.0.0.1:{port}"
    worker_log = tmp_path / "reports-worker.log"
    with (
        reports_worker(env, worker_log, stop_seconds=STOP_SECONDS),
        gunicorn("wsgi:app", env, log_path, stop_seconds=STOP_SECONDS) as server,
    ):
        wait_until_ready(url, server, log_path)
        yield url


def wait_until_ready(url, server, log_path):
    """Poll ``/readyz`` until it answers 200; fail with gunicorn's log otherwise."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            state = "exited" if server.poll() is not None else "is not ready"
            pytest.fail(f"gunicorn {state} at {url}:\n{log_path.read_text()}")
        time.sleep(0.1)


def readiness_checks(url):
    """The checks ``/readyz`` reports to the admin: which database, search, cache."""
    credentials = json.dumps(
        {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
    ).encode()
    login = urllib.request.Request(
        f"{url}/login/", data=credentials, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(login, timeout=30) as response:
        token = json.load(response)["access_token"]
    ready = urllib.request.Request(
        f"{url}/readyz", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(ready, timeout=5) as response:
        return json.load(response)["checks"]


def run_newman(newman, base_url):
    """Run the collection against ``base_url``; stop at the first failure."""
    return subprocess.run(
        [
            str(newman),
            "run",
            str(COLLECTION),
            "-e",
            str(ENVIRONMENT),
            "--env-var",
            f"baseUrl={base_url}",
            "--env-var",
            f"adminUsername={ADMIN_USERNAME}",
            "--env-var",
            f"adminPassword={ADMIN_PASSWORD}",
            "--reporters",
            "cli",
            "--bail",
            "--color",
            "off",
        ],
        # --color off leaves colour codes in the failure table; this removes them.
        env=dict(os.environ, FORCE_COLOR="0"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=NEWMAN_SECONDS,
        check=False,
    )


def test_postman_collection_passes(newman, service_url, service_env):
    checks = readiness_checks(service_url)
    backend = "elasticsearch:" if service_env.get("ELASTICSEARCH_URL") else "embedded:"
    assert checks["search"]["detail"].startswith(backend)
    cache = "redis" if service_env.get("REDIS_URL") else "in-process"
    assert checks["cache"]["detail"] == cache

    result = run_newman(newman, service_url)

    exit_code = result.returncode
    assert exit_code == 0, f"newman failed:\n{result.stdout}{result.stderr}"
