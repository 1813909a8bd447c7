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
import requests

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
    env = command_env(
        settings,
        FLASK_APP="wsgi",
        LOG_LEVEL="WARNING",
        # No report worker runs here: a Prefer: wait on a report waits it out.
        REPORT_MAX_WAIT="1",
    )
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


# Bodies Python reads but no view can use, and ids beyond SQLite's integers: every
# operation of the spec gets them (schemathesis makes none of them), and each
# must be a 4xx in the API's error shape (issue 26: they were 500s).
HOSTILE_BODIES = {
    "nested 100,000 deep": "[" * 100_000 + "]" * 100_000,
    "nested deep in a field": '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "a lone surrogate": '{"username": "zoe", "password": "abcdefgh\\udfff",'
    ' "title": "\\udfff", "name": "\\udfff", "report_name": "\\udfff"}',
    "a number of 4,400 digits": '{"limit": 1' + "0" * 4_400 + "}",
}
HOSTILE_IDS = (2**63, 99_999_999_999_999_999_999_999)


def _filled(template, value_of):
    """The path ``template`` with each ``{name}`` replaced by ``value_of(name)``."""
    return re.sub(r"\{([^}]+)\}", lambda match: value_of(match[1]), template)


def _some_value(name):
    return "00000000-0000-4000-8000-000000000000" if "uuid" in name else "x"


def _hostile_requests(spec):
    """Yield ``(label, method, path, body)`` for every operation of ``spec``."""
    for template, operations in spec["paths"].items():
        shared = operations.get("parameters", [])
        for method, operation in operations.items():
            if method == "parameters":
                continue
            parameters = shared + operation.get("parameters", [])
            integers = {
                p["name"]
                for p in parameters
                if p.get("in") == "path" and p["schema"].get("type") == "integer"
            }
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                path = _filled(template, _some_value)
                for label, text in HOSTILE_BODIES.items():
                    yield label, method.upper(), path, text
            for job_id in HOSTILE_IDS if integers else ():
                path = _filled(
                    template,
                    lambda name, job_id=job_id, integers=integers: (
                        str(job_id) if name in integers else _some_value(name)
                    ),
                )
                yield f"id {job_id}", method.upper(), path, None


def test_bodies_and_ids_no_view_can_use_are_4xx_on_every_operation(service_url):
    session = requests.Session()
    login = session.post(
        f"{service_url}/login/",
        json={"username": USERNAME, "password": PASSWORD},
        timeout=30,
    )
    login.raise_for_status()
    token = login.json()["access_token"]
    spec = session.get(f"{service_url}/openapi.json", timeout=30).json()
    failures, sent = [], 0

    for label, method, path, body in _hostile_requests(spec):
        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if path == "/logout/":
            continue  # would revoke the token the others use; it takes no body
        response = session.request(
            method, service_url + path, data=body, headers=headers, timeout=60
        )
        sent += 1
        shape = response.headers.get("Content-Type", "").startswith(
            "application/json"
        ) and set(response.json()) == {"code", "status", "message", "errors"}
        if not 400 <= response.status_code < 500 or not shape:
            failures.append(f"{method} {path} ({label}): {response.status_code}")

    assert sent > 40, sent
    assert failures == []
