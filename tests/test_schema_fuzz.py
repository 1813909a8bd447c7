"""schemathesis against the real service: the answers agree with /openapi.json.

The run of the README (Testing, schemathesis), bounded for CI: a small
generated catalogue built with the ``flask`` commands, gunicorn with
``gunicorn.conf.py`` on the embedded parts, an account for the operations that
need a token, then ``schemathesis run .../openapi.json --checks all`` with a
fixed seed and a bounded number of examples per operation
(``schemathesis.toml`` and ``tests/schemathesis_hooks.py`` give it the tokens,
people to ask for and the rules the spec says in words). Any failure fails the test with schemathesis's report, which names
each failure and the ``curl`` that reproduces it.

Only the embedded index is fuzzed here: the Elasticsearch test server spends a
third of a second of CPU on one fuzzy query, so a fuzzed run on it takes minutes.
The answers' shapes do not depend on the backend; the contract suite runs both.
Both stores are fuzzed: SQLite, and PostgreSQL for everything users write.
"""

import re
import subprocess
import sys

import pytest

from tests.commands import ROOT, command_env, flask, gunicorn
from tests.fixtures.redis import free_port
from tests.settings import postgresql_settings
from tests.test_postman import catalogue_commands, run_flask, wait_until_ready

FILMS = 300
SEED = 7
# Examples per operation, and the seed: about 25 s on 2 cores.
MAX_EXAMPLES = 60
FUZZ_SEED = 1
FUZZ_SECONDS = 300
USERNAME, PASSWORD = "fuzz-admin", "correct horse battery"

pytestmark = pytest.mark.slow


@pytest.fixture(params=("sqlite", "postgresql"))
def service_env(request, tmp_path, movies_provider):
    """The embedded parts on a generated catalogue (in SQLite, or PostgreSQL), an
    admin account in it, and the fake movie provider for ``/movies/``.
    """
    settings = {
        "DATABASE_PATH": tmp_path / "movies.sqlite",
        **movies_provider.settings(),
    }
    if request.param == "postgresql":
        settings.update(postgresql_settings(request.getfixturevalue("postgresql_url")))
    env = command_env(settings, FLASK_APP="wsgi", LOG_LEVEL="WARNING")
    for command in catalogue_commands(env, FILMS, SEED):
        run_flask(command, env)
    created = flask(env, "users", "create", USERNAME, "--admin", input=PASSWORD + "\n")
    assert created.returncode == 0, created.stdout + created.stderr
    return env


@pytest.fixture
def service_url(service_env, tmp_path):
    """Base URL of gunicorn serving the catalogue with two gevent workers."""
    port = free_port()
    env = dict(service_env, GUNICORN_WORKERS="2", BIND=f"127.0.0.1:{port}")
    env.pop("PORT", None)
    log_path = tmp_path / "gunicorn.log"
    url = f"http://127.0.0.1:{port}"
    with gunicorn("wsgi:app", env, log_path) as server:
        wait_until_ready(url, server, log_path)
        yield url


def run_schemathesis(url, *options):
    """Run ``schemathesis run`` from the project root (its schemathesis.toml)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{url}/openapi.json",
            "--checks",
            "all",
            "--no-color",
            *options,
        ],
        env=command_env({}, FUZZ_USERNAME=USERNAME, FUZZ_PASSWORD=PASSWORD),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=FUZZ_SECONDS,
        check=False,
    )


def test_schemathesis_finds_no_failure(service_url):
    result = run_schemathesis(
        service_url, "--max-examples", str(MAX_EXAMPLES), "--seed", str(FUZZ_SEED)
    )
    report = result.stdout + result.stderr

    assert result.returncode == 0, report
    assert "Operations:       39 selected / 39 total" in report, report
    # Every generated case passed every check.
    assert re.search(r"(\d+) generated, \1 passed", report), report
    # The operations behind a token were called with one.
    assert "Authentication failed" not in report, report
