"""The write-through: writes that commit while a batch indexes go together."""

import os
import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from types import SimpleNamespace

import pytest

from catalogue.db import get_checkpointer
from catalogue.indexing import writethrough
from catalogue.indexing.writethrough import (
    WRITE_THROUGH_LIMIT,
    Batches,
    Changes,
    catch_up,
    writethrough_indexer,
)
from catalogue.search import embedded
from tests.app.resources.catalogue import build_from_legacy, run_cli
from tests.fixtures.accounts import bearer, make_account
from tests.waiting import wait_until


class Index:
    """An index_batch that records each batch and can be held while it runs."""

    def __init__(self):
        self.batches = []
        self.running = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.fail = None

    def __call__(self, changes):
        self.batches.append(changes)
        self.running.set()
        self.release.wait()
        if self.fail is not None:
            raise self.fail


def films(*ids):
    return Changes(films=set(ids))


def in_threads(batches, index, changes_list):
    """Index each Changes from a thread of its own; return (threads, failures)."""
    failures = {}

    def write(changes):
        try:
            batches.index(changes, index)
        except BaseException as exc:
            failures[frozenset(changes.films)] = exc

    threads = [threading.Thread(target=write, args=(c,)) for c in changes_list]
    for thread in threads:
        thread.start()
    return threads, failures


def waiting(batches):
    return len(batches._waiting)


def test_a_write_alone_is_indexed_at_once():
    index = Index()

    Batches().index(films("a"), index)

    assert index.batches == [films("a")]


def test_writes_that_commit_while_a_batch_indexes_go_together_in_the_next():
    batches, index = Batches(), Index()
    index.release.clear()
    first, _ = in_threads(batches, index, [films("a")])
    assert index.running.wait(5)
    others, failures = in_threads(batches, index, [films("b"), films("c", "d")])
    wait_until(lambda: waiting(batches) == 2)

    index.release.set()
    for thread in first + others:
        thread.join(5)

    assert index.batches == [films("a"), films("b", "c", "d")]
    assert failures == {}


def test_the_first_writer_lets_the_writes_ready_to_commit_join_its_batch(
    monkeypatch,
):
    batches, index = Batches(), Index()
    others = []

    def one_turn_of_the_loop(seconds):
        # What the turn lets run: another request's write, committing now.
        assert seconds == 0
        others.extend(in_threads(batches, index, [films("b")])[0])
        wait_until(lambda: waiting(batches) == 2)

    monkeypatch.setattr(
        writethrough, "time", SimpleNamespace(sleep=one_turn_of_the_loop)
    )

    batches.index(films("a"), index)
    for thread in others:
        thread.join(5)

    assert index.batches == [films("a", "b")]


def test_a_failed_batch_fails_each_of_its_writes_and_the_next_batch_runs():
    batches, index = Batches(), Index()
    index.release.clear()
    first, failures = in_threads(batches, index, [films("a")])
    assert index.running.wait(5)
    index.fail = ConnectionError("search engine down")
    others, more_failures = in_threads(batches, index, [films("b"), films("c")])
    wait_until(lambda: waiting(batches) == 2)
    index.release.set()
    for thread in first:
        thread.join(5)
    for thread in others:
        thread.join(5)

    assert set(failures) == {frozenset({"a"})}
    assert set(more_failures) == {frozenset({"b"}), frozenset({"c"})}
    assert index.batches == [films("a"), films("b", "c")]
    # Nothing is left waiting or leading: the next write is indexed at once.
    index.fail = None
    batches.index(films("e"), index)
    assert index.batches[-1] == films("e")


def test_a_batch_holds_at_most_the_write_through_limit():
    batches, index = Batches(), Index()
    index.release.clear()
    first, _ = in_threads(batches, index, [films("a")])
    assert index.running.wait(5)
    big = [
        films(*(f"{name}{n}" for n in range(WRITE_THROUGH_LIMIT // 2 + 1)))
        for name in "xy"
    ]
    others, failures = in_threads(batches, index, big)
    wait_until(lambda: waiting(batches) == 2)

    index.release.set()
    for thread in first + others:
        thread.join(5)

    assert failures == {}
    assert (
        sorted(len(batch.films) for batch in index.batches[1:])
        == [WRITE_THROUGH_LIMIT // 2 + 1] * 2
    )


@pytest.mark.parametrize("stopped", [KeyboardInterrupt, SystemExit])
def test_a_leader_stopped_midway_fails_the_others_instead_of_stopping_them(stopped):
    batches, index = Batches(), Index()
    index.release.clear()
    first, _ = in_threads(batches, index, [films("x")])
    assert index.running.wait(5)
    # "a" and "b" wait together; the first of them in line leads their batch.
    others, failures = in_threads(batches, index, [films("a")])
    wait_until(lambda: waiting(batches) == 1)
    more, more_failures = in_threads(batches, index, [films("b")])
    wait_until(lambda: waiting(batches) == 2)
    index.fail = stopped()

    index.release.set()
    for thread in first + others + more:
        thread.join(5)

    assert index.batches[1] == films("a", "b")
    assert isinstance(failures[frozenset({"a"})], stopped)
    assert isinstance(more_failures[frozenset({"b"})], RuntimeError)
    index.fail = None
    batches.index(films("c"), index)
    assert index.batches[-1] == films("c")


def test_the_write_through_leaves_the_live_index_checkpoints_to_the_process(
    make_app,
):
    app = make_app()

    indexer = writethrough_indexer(app)

    assert indexer.checkpointer is get_checkpointer(app)


def test_a_small_batch_is_indexed_here_and_a_large_one_in_the_threads(monkeypatch):
    indexed, in_threads = [], []

    def index_changes(conn, indexer, changes):
        indexed.append(changes)

    monkeypatch.setattr(writethrough, "index_changes", index_changes)
    monkeypatch.setattr(
        writethrough,
        "indexing",
        lambda function, *args: in_threads.append(args[-1]) or function(*args),
    )
    small = films(*range(writethrough.ON_LOOP_DOCUMENTS))
    large = films(*range(writethrough.ON_LOOP_DOCUMENTS + 1))

    writethrough.index_batch(None, None, small)
    writethrough.index_batch(None, None, large)

    assert indexed == [small, large]
    assert in_threads == [large]


def deleted_index_files(app):
    """The replaced index files this process still holds open."""
    index, held = app.config["EMBEDDED_SEARCH_PATH"], []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            held.append(os.readlink(fd))
        except OSError:  # the descriptor of the listing itself, closed since
            continue
    return [f for f in held if f.startswith(index) and f.endswith("(deleted)")]


def test_a_request_after_a_full_load_frees_the_old_file_a_write_held(
    make_app, monkeypatch
):
    monkeypatch.setattr(embedded, "WRITERS_CHECK_SECONDS", 0)
    app = make_app()
    build_from_legacy(app)
    client = app.test_client()
    headers = bearer(app, make_account(app, "admin", role="admin"))
    response = client.post("/api/v1/genres", json={"name": "Noir"}, headers=headers)
    assert response.headers["X-Indexing"] == "done"

    run_cli(make_app(), "etl", "run", "--full")  # as another process runs it
    assert deleted_index_files(app)  # the write's kept connection holds it

    assert client.get("/healthz").status_code == 200
    assert deleted_index_files(app) == []


def segments(app):
    """The segments of the live embedded index's full-text table of films."""
    with closing(sqlite3.connect(app.config["EMBEDDED_SEARCH_PATH"])) as index:
        return index.execute(
            "SELECT count(DISTINCT segid) FROM movie_fts_idx"
        ).fetchone()[0]


def test_the_catch_up_merges_the_segments_writes_left(make_app):
    app = make_app(SEARCH_CATCH_UP_SECONDS=0.01)
    build_from_legacy(app)
    client = app.test_client()
    headers = bearer(app, make_account(app, "admin", role="admin"))
    fresh = segments(app)
    for rating in (7.1, 7.2, 7.3):
        response = client.patch(
            "/api/v1/films/tt0000002", json={"imdb_rating": rating}, headers=headers
        )
        assert response.headers["X-Indexing"] == "done"
    assert segments(app) > fresh
    assert not catch_up(app).running()

    catch_up(app).start()

    wait_until(lambda: not catch_up(app).running())
    assert segments(app) == fresh == 1
    found = client.get("/api/v1/films/search", query_string={"query": "alien"})
    assert [film["id"] for film in found.json] == ["tt0000002"]
