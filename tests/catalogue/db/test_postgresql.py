"""PostgreSQL's store: the query functions' SQL as written, rows, errors, the pool."""

import threading
import time
import urllib.request
from contextlib import closing

import psycopg
import pytest

from catalogue.config import from_environment
from catalogue.db import (
    DatabaseBusy,
    DatabaseUnavailable,
    IntegrityError,
    get_db,
    lock_rows,
    open_catalogue,
    snapshot,
    transaction,
)
from catalogue.db.postgresql import translate
from tests.catalogue.db.test_sqlite import wait_until_serving
from tests.commands import command_env, gunicorn
from tests.fixtures.redis import free_port
from tests.settings import postgresql_settings
from tests.waiting import wait_until


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("SELECT * FROM film WHERE id = ?", "SELECT * FROM film WHERE id = %s"),
        (
            "UPDATE t SET a = :a WHERE b = :b_2",
            "UPDATE t SET a = %(a)s WHERE b = %(b_2)s",
        ),
        (
            "SELECT '?', 'it''s :no', \"a?\" FROM t",
            "SELECT '?', 'it''s :no', \"a?\" FROM t",
        ),
        ("SELECT x::text, ? FROM t", "SELECT x::text, %s FROM t"),
        ("SELECT '100%' || ? LIKE 'a%'", "SELECT '100%' || %s LIKE 'a%'"),
        (
            "SELECT 5 % 3 -- a comment with ? and :x\n, ?",
            "SELECT 5 %% 3 -- a comment with ? and :x\n, %s",
        ),
        (
            "WHERE id IN (SELECT value FROM json_each(?))",
            "WHERE id IN (SELECT value FROM json_array_elements_text(%s))",
        ),
    ],
)
def test_the_sql_is_sent_with_psycopgs_placeholders(written, sent):
    assert translate(written) == sent


@pytest.fixture
def config(postgresql_url):
    """The settings of an app on a migrated PostgreSQL database."""
    return {**from_environment(), **postgresql_settings(postgresql_url)}


@pytest.fixture
def conn(config):
    with closing(open_catalogue(config)) as conn:
        yield conn


def test_rows_answer_by_position_and_by_name(conn):
    with transaction(conn):
        conn.execute(
            "INSERT INTO film (id, title, imdb_rating) VALUES (?, ?, ?)",
            ("tt1", "Alien", 8.5),
        )
    row = conn.execute(
        "SELECT id, title, imdb_rating FROM film WHERE id IN"
        " (SELECT value FROM json_each(?))",
        ('["tt1", "tt2"]',),
    ).fetchone()

    assert (row[0], row["title"], row["imdb_rating"]) == ("tt1", "Alien", 8.5)
    assert dict(row) == {"id": "tt1", "title": "Alien", "imdb_rating": 8.5}
    assert row.keys() == ["id", "title", "imdb_rating"]


def test_a_failed_transaction_writes_nothing(conn):
    with pytest.raises(RuntimeError), transaction(conn):
        conn.execute("INSERT INTO film (id, title) VALUES ('tt1', 'Alien')")
        raise RuntimeError("refused")

    assert conn.execute("SELECT count(*) FROM film").fetchone()[0] == 0
    assert not conn.in_transaction


def test_a_broken_constraint_is_an_integrity_error(conn):
    with transaction(conn):
        conn.execute("INSERT INTO genre (id, name) VALUES ('g1', 'Drama')")

    with pytest.raises(IntegrityError), transaction(conn):
        conn.execute("INSERT INTO genre (id, name) VALUES ('g2', 'Drama')")


def test_times_are_text_in_utc_millisecond_iso_8601(conn):
    with transaction(conn):
        conn.execute("INSERT INTO film (id, title) VALUES ('tt1', 'Alien')")
    modified = conn.execute("SELECT modified FROM film").fetchone()[0]

    assert len(modified) == 24 and modified.endswith("Z") and modified[10] == "T"


def test_a_change_to_a_films_links_touches_the_film_and_a_deletion_leaves_a_tombstone(
    conn,
):
    with transaction(conn):
        conn.execute("INSERT INTO film (id, title) VALUES ('tt1', 'Alien')")
        conn.execute("INSERT INTO genre (id, name) VALUES ('g1', 'Horror')")
        conn.execute(
            "UPDATE film SET modified = '2000-01-01T00:00:00.000Z' WHERE id = 'tt1'"
        )
    with transaction(conn):
        conn.execute(
            "INSERT INTO film_genre (film_id, genre_id, position) VALUES ('tt1', 'g1', 0)"
        )
    touched = conn.execute("SELECT modified FROM film").fetchone()[0]
    with transaction(conn):
        conn.execute("DELETE FROM film WHERE id = 'tt1'")

    assert touched > "2000-01-01T00:00:00.000Z"
    assert conn.execute("SELECT entity, entity_id FROM tombstone").fetchall() == [
        ("film", "tt1")
    ]


def test_a_write_that_waits_on_a_locked_row_longer_than_its_timeout_is_busy(config):
    config = {**config, "DATABASE_WRITE_TIMEOUT": 0.2}
    with (
        closing(open_catalogue(config)) as first,
        closing(open_catalogue(config)) as second,
    ):
        with transaction(first):
            first.execute("INSERT INTO film (id, title) VALUES ('tt1', 'Alien')")
        with transaction(first):
            lock_rows(first, "film", ["tt1"])
            started = time.monotonic()
            with pytest.raises(DatabaseBusy), transaction(second):
                lock_rows(second, "film", ["tt1"])
            waited = time.monotonic() - started

    assert 0.15 < waited < 2


def test_writes_of_different_rows_do_not_wait_on_each_other(config):
    with (
        closing(open_catalogue(config)) as first,
        closing(open_catalogue(config)) as second,
    ):
        with transaction(first):
            first.execute(
                "INSERT INTO film (id, title) VALUES ('tt1', 'A'), ('tt2', 'B')"
            )
        with transaction(first):
            lock_rows(first, "film", ["tt1"])
            first.execute("UPDATE film SET title = 'A2' WHERE id = 'tt1'")
            started = time.monotonic()
            with transaction(second):
                lock_rows(second, "film", ["tt2"])
                second.execute("UPDATE film SET title = 'B2' WHERE id = 'tt2'")
            assert time.monotonic() - started < 0.5

        titles = second.execute("SELECT title FROM film ORDER BY id").fetchall()
    assert [row[0] for row in titles] == ["A2", "B2"]


def test_a_snapshot_does_not_see_what_commits_meanwhile(config):
    with (
        closing(open_catalogue(config)) as reader,
        closing(open_catalogue(config)) as writer,
    ):
        with snapshot(reader):
            before = reader.execute("SELECT count(*) FROM film").fetchone()[0]
            with transaction(writer):
                writer.execute("INSERT INTO film (id, title) VALUES ('tt1', 'Alien')")
            during = reader.execute("SELECT count(*) FROM film").fetchone()[0]
        after = reader.execute("SELECT count(*) FROM film").fetchone()[0]

    assert (before, during, after) == (0, 0, 1)


def test_a_database_that_cannot_be_reached_is_unavailable(config):
    config = {
        **config,
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/nothing",
        "DATABASE_CONNECT_TIMEOUT": 1.0,
    }
    with pytest.raises(DatabaseUnavailable):
        open_catalogue(config)


def test_a_request_that_finds_no_connection_free_is_unavailable(make_app, config):
    app = make_app(
        **{
            **postgresql_settings(config["DATABASE_URL"]),
            "DATABASE_POOL_SIZE": 1,
            "DATABASE_POOL_TIMEOUT": 0.2,
        }
    )
    held = threading.Event()
    release = threading.Event()

    def hold():
        with app.app_context():
            get_db().execute("SELECT 1")
            held.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        held.wait(5)
        with app.app_context(), pytest.raises(DatabaseUnavailable):
            get_db()
    finally:
        release.set()
        holder.join()


def test_an_api_request_on_an_unreachable_database_is_503_in_the_error_shape(make_app):
    app = make_app(
        **postgresql_settings("postgresql://nobody@127.0.0.1:9/nothing"),
        DATABASE_POOL_TIMEOUT=0.5,
        DATABASE_CONNECT_TIMEOUT=1.0,
    )
    response = app.test_client().post(
        "/login/", json={"username": "alice", "password": "correct horse battery"}
    )

    assert response.status_code == 503
    assert response.json["code"] == 503
    assert "Retry-After" in response.headers
    assert "127.0.0.1" not in response.get_data(as_text=True)


def test_psycopg_errors_of_the_query_itself_are_not_hidden(conn):
    with pytest.raises(psycopg.errors.UndefinedTable):
        conn.execute("SELECT * FROM no_such_table")


@pytest.mark.slow
def test_a_slow_query_holds_only_its_own_request_of_a_gevent_worker(
    postgresql_url, tmp_path
):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = {
        **postgresql_settings(postgresql_url),
        "DATABASE_PATH": tmp_path / "movies.sqlite",
        "EMBEDDED_SEARCH_PATH": tmp_path / "movies.search.sqlite",
    }
    env = command_env(settings, BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="1")
    with gunicorn("tests.apps.slow_query:app", env, tmp_path / "gunicorn.log"):
        wait_until_serving(f"{base}/healthz")
        answers = {}

        def ask_slow():
            started = time.monotonic()
            with urllib.request.urlopen(f"{base}/probe/slow", timeout=30) as response:
                answers["slow"] = (response.status, time.monotonic() - started)

        slow = threading.Thread(target=ask_slow)
        slow.start()
        wait_until(lambda: sleeping(postgresql_url))
        started = time.monotonic()
        with urllib.request.urlopen(f"{base}/client/info", timeout=10) as response:
            assert response.status == 200
        answered_in = time.monotonic() - started
        slow.join(30)

    assert answers["slow"][0] == 200 and answers["slow"][1] >= 1
    assert answered_in < 0.5


def sleeping(url):
    """Whether a session of the database at ``url`` is in pg_sleep."""
    with closing(psycopg.connect(url)) as conn:
        found = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'"
            " AND pid <> pg_backend_pid()"
        ).fetchone()[0]
    return found > 0
