import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.db import connect
from app.migrations import upgrade
from tests.factories import make_legacy_db, movie

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = (
    "DATABASE_PATH",
    "EMBEDDED_SEARCH_PATH",
    "ELASTICSEARCH_URL",
    "ELASTICSEARCH_INDEX_PREFIX",
    "REDIS_URL",
)


@pytest.fixture
def catalogue(search_app, db_path, runner_env):
    """A generated and migrated catalogue of 3,000 films."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flask",
            "data",
            "generate",
            "--films",
            "3000",
            "--seed",
            "7",
        ],
        env=runner_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    conn = connect(db_path)
    upgrade(conn)
    conn.close()
    return db_path


@pytest.fixture
def runner_env(search_app):
    """Environment for ``flask`` subprocesses on the test's settings."""
    env = dict(os.environ, FLASK_APP="app:create_app")
    for key in SETTINGS:
        value = search_app.config.get(key)
        env.pop(key, None)
        if value:
            env[key] = str(value)
    return env


def flask(env, *args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "flask", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        **kwargs,
    )


def test_run_prints_a_summary_and_status_shows_matching_counts(catalogue, runner_env):
    result = flask(runner_env, "etl", "run")
    assert result.returncode == 0, result.stderr
    assert "full run" in result.stdout
    assert "movies" in result.stdout and "documents in" in result.stdout
    status = flask(runner_env, "etl", "status")
    assert status.returncode == 0, status.stderr
    assert "completed" in status.stdout
    conn = sqlite3.connect(catalogue)
    films = conn.execute("SELECT count(*) FROM film").fetchone()[0]
    assert f"sqlite {films:>9}  index {films}" in status.stdout


def test_killed_run_is_resumed_with_nothing_lost_or_duplicated(
    catalogue, runner_env, backend
):
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "etl", "run", "--batch-size", "25"],
        env=runner_env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    conn = sqlite3.connect(catalogue)
    deadline = time.monotonic() + 60
    documents = 0
    while time.monotonic() < deadline and documents < 500:
        time.sleep(0.05)
        row = conn.execute("SELECT max(documents) FROM etl_run").fetchone()
        documents = row[0] or 0
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 500 <= documents < 3000, "the run must be killed in the middle of the movies"
    state_row = conn.execute("SELECT state FROM etl_run ORDER BY id DESC").fetchone()
    assert state_row == ("running",)

    result = flask(runner_env, "etl", "run")
    assert result.returncode == 0, result.stderr
    assert "resumed full run" in result.stdout
    films = conn.execute("SELECT count(*) FROM film").fetchone()[0]
    persons = conn.execute("SELECT count(*) FROM person").fetchone()[0]
    assert backend.count("movies") == films
    assert backend.count("persons") == persons
    assert conn.execute("SELECT count(*), max(state) FROM etl_run").fetchone() == (
        1,
        "completed",
    )


def test_unreachable_elasticsearch_fails_clearly(db_path, tmp_path):
    make_legacy_db(db_path, movies=[movie("tt0000001", "Star Wars")])
    upgrade(connect(db_path))
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS} | {
        "FLASK_APP": "app:create_app",
        "DATABASE_PATH": str(db_path),
        "ELASTICSEARCH_URL": "http://127.0.0.1:9",
        "ELASTICSEARCH_TIMEOUT": "1",
        "ELASTICSEARCH_WRITE_ATTEMPTS": "2",
        "ELASTICSEARCH_WRITE_BACKOFF": "0.1",
    }
    result = flask(env, "etl", "run", timeout=120)
    assert result.returncode != 0
    assert "search backend failed" in result.stderr
    assert "Traceback" not in result.stderr
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT state FROM etl_run").fetchall() == [("failed",)]


def test_run_before_migration_is_a_clear_error(search_app, db_path, runner_env):
    make_legacy_db(db_path)
    result = flask(runner_env, "etl", "run")
    assert result.returncode != 0
    assert "run flask db upgrade" in result.stderr
