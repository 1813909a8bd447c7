"""The SQLite layer: one transaction helper for every write, and waits that yield."""

import os
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest
from flask import Blueprint

from catalogue.db import DatabaseBusy, get_db, transaction
from catalogue.db.sqlite import Checkpointer, IdleConnections, connect, use_wal
from tests.commands import ROOT, command_env, gunicorn
from tests.fixtures.redis import free_port
from tests.waiting import wait_until


@pytest.fixture
def probe_db(db_path):
    """A WAL database with an empty ``probe`` table."""
    with closing(connect(db_path)) as conn:
        use_wal(conn)
        conn.execute("CREATE TABLE probe (n INTEGER PRIMARY KEY)")
    return db_path


def rows(path):
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT count(*) FROM probe").fetchone()[0]


def test_a_transaction_commits_all_of_its_writes(probe_db):
    with closing(connect(probe_db)) as conn:
        with transaction(conn):
            conn.execute("INSERT INTO probe DEFAULT VALUES")
            conn.execute("INSERT INTO probe DEFAULT VALUES")
        assert not conn.in_transaction
    assert rows(probe_db) == 2


def test_a_failing_transaction_leaves_nothing_behind(probe_db):
    with closing(connect(probe_db)) as conn:
        with pytest.raises(ZeroDivisionError), transaction(conn):
            conn.execute("INSERT INTO probe DEFAULT VALUES")
            1 / 0  # noqa: B018
        assert not conn.in_transaction
    assert rows(probe_db) == 0


def test_a_transaction_cannot_nest(probe_db):
    with (
        closing(connect(probe_db)) as conn,
        transaction(conn),
        pytest.raises(RuntimeError, match="already open"),
        transaction(conn),
    ):
        pass


def test_a_requests_first_write_yields_to_the_waiting_requests(
    probe_app, probe_db, monkeypatch
):
    events = []
    monkeypatch.setattr(time, "sleep", lambda seconds: events.append(seconds))
    with probe_app.test_request_context():
        conn = get_db()
        conn.set_trace_callback(events.append)
        for _ in range(2):
            with transaction(conn):
                conn.execute("INSERT INTO probe DEFAULT VALUES")
        conn.set_trace_callback(None)

    # Under gevent, time.sleep(0) lets the worker's other greenlets run first:
    # once before the request's first write, not before each.
    assert events.count(0) == 1
    assert events.index(0) < events.index("BEGIN IMMEDIATE")


def test_a_write_gives_up_when_the_lock_stays_taken(probe_db):
    with (
        closing(sqlite3.connect(probe_db, isolation_level=None)) as other,
        closing(connect(probe_db, write_timeout=0.2)) as conn,
    ):
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(DatabaseBusy), transaction(conn):
            conn.execute("INSERT INTO probe DEFAULT VALUES")
        other.execute("ROLLBACK")
        # The connection is usable again, with SQLite's own short wait back.
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 50
        with transaction(conn):
            conn.execute("INSERT INTO probe DEFAULT VALUES")
    assert rows(probe_db) == 1


@pytest.fixture
def probe_app(make_app, probe_db):
    """An app with a write route and a route that leaves a transaction open."""
    app = make_app(DATABASE_WRITE_TIMEOUT=0.2)
    routes = Blueprint("probe", __name__)

    @routes.post("/write")
    def write():
        with transaction() as conn:
            conn.execute("INSERT INTO probe DEFAULT VALUES")
        return {}, 201

    @routes.post("/forgets-to-commit")
    def forgets_to_commit():
        db = get_db()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO probe DEFAULT VALUES")
        return {}, 201

    app.register_blueprint(routes)
    return app


def test_a_transaction_left_open_is_rolled_back_when_the_request_ends(
    probe_app, probe_db, caplog
):
    response = probe_app.test_client().post("/forgets-to-commit")

    assert response.status_code == 201
    assert rows(probe_db) == 0
    assert "rolled back a transaction left open" in caplog.text
    # Nothing is left holding the lock.
    assert probe_app.test_client().post("/write").status_code == 201


def test_a_request_that_cannot_get_the_lock_answers_503(probe_app, probe_db):
    with closing(sqlite3.connect(probe_db, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        response = probe_app.test_client().post("/write")
        other.execute("ROLLBACK")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json["message"].startswith("The database is busy")
    assert rows(probe_db) == 0


def test_a_connection_serves_the_next_request_once_given_back(probe_db):
    connections = IdleConnections(probe_db)
    first = connections.take()
    connections.give_back(first)

    assert connections.take() is first


def test_a_database_replaced_at_the_same_path_is_opened_anew(probe_db):
    connections = IdleConnections(probe_db)
    old = connections.take()
    connections.give_back(old)
    os.replace(probe_db, f"{probe_db}.old")
    with closing(connect(probe_db)) as conn:
        conn.execute("CREATE TABLE fresh (n INTEGER)")

    new = connections.take()

    assert new is not old
    assert [row["name"] for row in new.execute("SELECT name FROM sqlite_master")] == [
        "fresh"
    ]
    with pytest.raises(sqlite3.ProgrammingError):
        old.execute("SELECT 1")  # the stale connection was closed


def test_no_more_connections_are_kept_than_the_size(probe_db):
    connections = IdleConnections(probe_db, size=1)
    first, second = connections.take(), connections.take()
    connections.give_back(first)
    connections.give_back(second)

    with pytest.raises(sqlite3.ProgrammingError):
        second.execute("SELECT 1")
    assert connections.take() is first


def test_connections_are_opened_by_the_opener_given(probe_db):
    opened = []

    def opener(path):
        opened.append(path)
        return connect(path)

    connections = IdleConnections(probe_db, opener=opener)
    first = connections.take()
    connections.give_back(first)

    assert connections.take() is first
    assert opened == [probe_db]


def test_closed_connections_close_those_kept_and_those_given_back(probe_db):
    connections = IdleConnections(probe_db)
    kept, out = connections.take(), connections.take()
    connections.give_back(kept)

    connections.close()
    connections.give_back(out)

    for conn in (kept, out):
        with pytest.raises(sqlite3.ProgrammingError):
            conn.execute("SELECT 1")


def test_a_forked_process_never_uses_its_parents_connections(probe_db, monkeypatch):
    connections = IdleConnections(probe_db)
    parents = connections.take()
    connections.give_back(parents)
    monkeypatch.setattr(os, "getpid", lambda: -1)

    childs = connections.take()

    assert childs is not parents
    parents.execute("SELECT 1")  # left open: it is the parent's to close


def write_pages(conn, pages):
    """Commit about ``pages`` pages (more than 1,000 make SQLite checkpoint)."""
    with transaction(conn):
        conn.execute("CREATE TABLE IF NOT EXISTS filler (b BLOB)")
        conn.executemany("INSERT INTO filler VALUES (zeroblob(4000))", [()] * pages)


def test_a_commit_leaves_its_checkpoint_to_the_checkpointer(probe_db):
    checkpointer = Checkpointer(interval=0.2)
    with closing(connect(probe_db)) as conn:
        checkpointer.attach(conn, probe_db)
        before = os.path.getsize(probe_db)

        write_pages(conn, 2000)

        # The commit left its pages in the log, past SQLite's own threshold...
        assert os.path.getsize(probe_db) == before
        # ... and the checkpointer folds them into the file soon after.
        wait_until(lambda: os.path.getsize(probe_db) > before)


def test_the_checkpointer_rests_when_nothing_is_written_and_wakes_on_a_write(
    probe_db,
):
    checkpointer = Checkpointer(interval=0.1)
    with closing(connect(probe_db)) as conn:
        checkpointer.attach(conn, probe_db)
        write_pages(conn, 10)
        wait_until(lambda: not checkpointer.running())
        before = os.path.getsize(probe_db)

        write_pages(conn, 2000)

        wait_until(lambda: os.path.getsize(probe_db) > before)


# Under gevent, the first write after a rest may come from an indexing thread.
CHECKPOINT_FROM_A_THREAD = """
from gevent import monkey

monkey.patch_all()

import os, sys

import gevent
from gevent.threadpool import ThreadPool

from catalogue.db.sqlite import Checkpointer, connect, transaction

path = sys.argv[1]
checkpointer = Checkpointer(interval=0.1)
conn = connect(path)
checkpointer.attach(conn, path)
before = os.path.getsize(path)

def write():
    with transaction(conn):
        conn.execute("CREATE TABLE filler (b BLOB)")
        conn.executemany("INSERT INTO filler VALUES (zeroblob(4000))", [()] * 2000)

ThreadPool(1).apply(write)
for _ in range(100):
    if os.path.getsize(path) > before:
        print("checkpointed")
        break
    gevent.sleep(0.05)
"""


def test_under_gevent_a_write_from_a_real_thread_is_checkpointed(probe_db):
    done = subprocess.run(
        [sys.executable, "-c", CHECKPOINT_FROM_A_THREAD, str(probe_db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.stdout.strip() == "checkpointed", done.stderr


def test_request_connections_leave_their_checkpoints_to_the_process(probe_app):
    with probe_app.app_context():
        conn = get_db()
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        assert conn.checkpointer is probe_app.extensions["db-checkpointer"]


def test_a_missing_database_is_not_created_by_a_request(make_app, tmp_path):
    app = make_app(DATABASE_PATH=str(tmp_path / "missing.sqlite"))

    with app.app_context(), pytest.raises(sqlite3.OperationalError):
        get_db()
    assert not (tmp_path / "missing.sqlite").exists()


@pytest.mark.slow
def test_a_write_waiting_for_the_lock_does_not_freeze_reads_on_its_worker(
    probe_db, tmp_path
):
    port = free_port()
    env = command_env(
        {"DATABASE_PATH": probe_db},
        BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
        DATABASE_WRITE_TIMEOUT="30",
    )
    base = f"http://127.0.0.1:{port}/probe"
    with (
        gunicorn("tests.apps.write_probe:app", env, tmp_path / "gunicorn.log"),
        closing(sqlite3.connect(probe_db, isolation_level=None)) as holder,
    ):
        wait_until_serving(f"{base}/read")
        holder.execute("BEGIN IMMEDIATE")  # the write lock, held by another process
        answers = {}

        def write():
            request = urllib.request.Request(f"{base}/write", method="POST")
            with urllib.request.urlopen(request, timeout=60) as response:
                answers["write"] = response.status

        writer = threading.Thread(target=write)
        writer.start()
        # The write has reached the worker and waits for the lock...
        wait_until(lambda: holder_sees_a_waiter(probe_db))
        # ...while a read on the same (only) worker is answered.
        with urllib.request.urlopen(f"{base}/read", timeout=10) as response:
            assert response.status == 200
        assert writer.is_alive() and "write" not in answers

        holder.execute("COMMIT")
        writer.join(timeout=60)

    assert answers == {"write": 201}
    assert rows(probe_db) == 1


def holder_sees_a_waiter(path):
    """Whether the probe worker has opened its connection to the database.

    Its request connection is opened by the write, before it waits for the
    lock; /proc tells which processes hold the file open.
    """
    count = 0
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            if os.readlink(fd) == str(path):
                count += 1
        except OSError:
            continue
    # This test process holds one; the worker's is the second.
    return count >= 2


def wait_until_serving(url):
    """Wait until ``url`` answers."""

    def answers():
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except (OSError, urllib.error.URLError):
            return False

    wait_until(answers)
