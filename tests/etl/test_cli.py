import signal
import sqlite3
import subprocess
import sys
from contextlib import closing

import pytest

from catalogue.db import open_catalogue
from catalogue.db.sqlite import connect
from catalogue.migrations import upgrade
from tests.commands import ROOT, SETTINGS, command_env, flask
from tests.factories import make_legacy_db, migrate_catalogue, movie
from tests.settings import etl_state_path
from tests.waiting import wait_until

pytestmark = pytest.mark.stores


@pytest.fixture
def catalogue(search_app, db_path, runner_env):
    """A generated and migrated catalogue of 3,000 films; the settings of its app."""
    result = flask(runner_env, "data", "generate", "--films", "3000", "--seed", "7")
    assert result.returncode == 0, result.stderr
    migrate_catalogue(search_app.config)
    return search_app.config


def count(config, table):
    """The rows of ``table`` in the catalogue of ``config``."""
    with closing(open_catalogue(config)) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.fixture
def runner_env(search_app):
    """Environment for ``flask`` subprocesses on the test's settings."""
    settings = {key: search_app.config.get(key) for key in SETTINGS}
    return command_env(settings, FLASK_APP="service:create_service")


def test_run_prints_a_summary_and_status_shows_matching_counts(catalogue, runner_env):
    result = flask(runner_env, "etl", "run")
    assert result.returncode == 0, result.stderr
    assert "full run" in result.stdout
    assert "movies" in result.stdout and "documents in" in result.stdout
    status = flask(runner_env, "etl", "status")
    assert status.returncode == 0, status.stderr
    assert "completed" in status.stdout
    films = count(catalogue, "film")
    engine = "postgresql" if catalogue["DATABASE_URL"] else "sqlite"
    assert f"{engine} {films:>9}  index {films}" in status.stdout


def test_killed_run_is_resumed_with_nothing_lost_or_duplicated(
    catalogue, runner_env, indexer
):
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "etl", "run", "--batch-size", "25"],
        env=runner_env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    state_file = not catalogue["DATABASE_URL"]
    runs = (
        sqlite3.connect(runner_env["ETL_STATE_PATH"])
        if state_file
        else open_catalogue(catalogue)
    )

    def documents_loaded():
        try:
            return runs.execute("SELECT max(documents) FROM etl_run").fetchone()[0]
        except sqlite3.OperationalError:  # the run has not made its file yet
            return None

    wait_until(lambda: (documents_loaded() or 0) >= 500)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    documents = documents_loaded()
    assert 500 <= documents < 3000, "the run must be killed in the middle of the movies"
    state_row = runs.execute("SELECT state FROM etl_run ORDER BY id DESC").fetchone()
    assert state_row == ("running",)

    result = flask(runner_env, "etl", "run")
    assert result.returncode == 0, result.stderr
    assert "resumed full run" in result.stdout
    assert indexer.count("movies") == count(catalogue, "film")
    assert indexer.count("persons") == count(catalogue, "person")
    assert runs.execute("SELECT count(*), max(state) FROM etl_run").fetchone() == (
        1,
        "completed",
    )


@pytest.mark.stores("sqlite")
def test_unreachable_elasticsearch_fails_clearly(db_path, tmp_path):
    make_legacy_db(db_path, movies=[movie("tt0000001", "Star Wars")])
    upgrade(connect(db_path))
    env = command_env(
        {"DATABASE_PATH": db_path, "ELASTICSEARCH_URL": "http://127.0.0.1:9"},
        FLASK_APP="service:create_service",
        ELASTICSEARCH_TIMEOUT="1",
        ELASTICSEARCH_WRITE_ATTEMPTS="2",
        ELASTICSEARCH_WRITE_BACKOFF="0.1",
    )
    result = flask(env, "etl", "run", timeout=120)
    assert result.returncode != 0
    assert "search backend failed" in result.stderr
    assert "Traceback" not in result.stderr
    runs = sqlite3.connect(etl_state_path(db_path))
    assert runs.execute("SELECT state FROM etl_run").fetchall() == [("failed",)]


@pytest.mark.stores("sqlite")
def test_run_before_migration_is_a_clear_error(search_app, db_path, runner_env):
    make_legacy_db(db_path)
    result = flask(runner_env, "etl", "run")
    assert result.returncode != 0
    assert "run flask db upgrade" in result.stderr
