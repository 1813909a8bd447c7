import threading
from contextlib import closing

import pytest
from flask import current_app

from catalogue.db import DatabaseError, transaction
from catalogue.db.sqlite import connect
from catalogue.ids import stable_id
from catalogue.search import FilmQuery, SearchUnavailable, Sort
from etl import pipeline, state
from tests.factories import (
    FORD,
    HAMILL,
    KASDAN,
    LUCAS,
    NA_ACTOR,
    make_star_wars_db,
    movie,
    open_migrated,
)

pytestmark = pytest.mark.stores


@pytest.fixture
def conn(search_app, db_path):
    """A migrated catalogue in the app's database: ``star_wars()`` and two films."""
    make_star_wars_db(
        db_path,
        movie(
            "tt0000002",
            "Return of the Jedi",
            genre="Action, Adventure",
            director="Richard Marquand",
            writers=[KASDAN, LUCAS, KASDAN],
            imdb_rating="8.3",
        ),
        movie("tt0000003", "Звёздные войны", genre="Sci-Fi", plot="Фильм о войне."),
        links=[
            ("tt0000001", HAMILL),
            ("tt0000001", FORD),
            ("tt0000002", FORD),
            ("tt0000002", HAMILL),
            ("tt0000003", NA_ACTOR),
        ],
    )
    with closing(open_migrated(search_app.config)) as connection:
        yield connection


@pytest.fixture
def state_db(search_app):
    """Where the ETL keeps the runs of the test's catalogue."""
    with closing(state.state_store(search_app.config)) as conn:
        yield conn


def run(conn, indexer, **kwargs):
    """Run the ETL from ``conn`` in batches of two, its state where the app keeps it."""
    with closing(state.state_store(current_app.config)) as state_db:
        return pipeline.run(conn, indexer, state_db=state_db, batch_size=2, **kwargs)


def sqlite_count(conn, table):
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def assert_counts_match(conn, indexer):
    assert indexer.count("movies") == sqlite_count(conn, "film")
    assert indexer.count("genres") == sqlite_count(conn, "genre")
    assert indexer.count("persons") == sqlite_count(conn, "person")


def test_first_run_is_a_full_load_of_every_index(conn, indexer, state_db):
    summary = run(conn, indexer)
    assert summary.mode == "full"
    assert summary.documents == {"movies": 3, "persons": 5, "genres": 3}
    assert_counts_match(conn, indexer)
    assert (
        indexer.live_generation()
        == state.latest(state_db, indexer.describe()).generation
    )


def test_movie_document_carries_legacy_and_new_fields(conn, reader, indexer):
    run(conn, indexer)
    doc = reader.get_film("tt0000002")
    assert doc["title"] == "Return of the Jedi"
    assert doc["description"] is None
    assert doc["imdb_rating"] == 8.3
    assert doc["genre"] == ["Action", "Adventure"]
    assert doc["director"] == ["Richard Marquand"]
    assert doc["writers"] == [
        {"id": KASDAN, "name": "Lawrence Kasdan"},
        {"id": LUCAS, "name": "George Lucas"},
    ]
    assert doc["actors"] == [
        {"id": 2, "name": "Harrison Ford"},
        {"id": 1, "name": "Mark Hamill"},
    ]
    assert doc["actors_names"] == ["Harrison Ford", "Mark Hamill"]
    assert doc["writers_names"] == ["Lawrence Kasdan", "George Lucas"]
    assert doc["genres"] == [
        {"id": stable_id("genre", "Action"), "name": "Action"},
        {"id": stable_id("genre", "Adventure"), "name": "Adventure"},
    ]
    assert doc["persons"]["directors"] == [
        {"id": stable_id("person", "Richard Marquand"), "full_name": "Richard Marquand"}
    ]
    assert [p["full_name"] for p in doc["persons"]["actors"]] == [
        "Harrison Ford",
        "Mark Hamill",
    ]


def test_na_actor_leaves_no_trace(conn, reader, indexer):
    run(conn, indexer)
    doc = reader.get_film("tt0000003")
    assert doc["actors"] == [] and doc["actors_names"] == [] and doc["director"] == []
    assert reader.search_films(FilmQuery(text="N/A")).total == 0


def test_person_and_genre_documents(conn, reader, indexer):
    run(conn, indexer)
    lucas = reader.get_person(stable_id("person", "George Lucas"))
    assert lucas["full_name"] == "George Lucas"
    assert lucas["films"] == [
        {"id": "tt0000001", "roles": ["writer", "director"]},
        {"id": "tt0000002", "roles": ["writer"]},
    ]
    scifi = reader.get_genre(stable_id("genre", "Sci-Fi"))
    assert scifi == {
        "id": stable_id("genre", "Sci-Fi"),
        "name": "Sci-Fi",
        "film_count": 2,
    }


def test_loaded_films_are_searchable_with_morphology(conn, reader, indexer):
    run(conn, indexer)
    assert [f["id"] for f in reader.search_films(FilmQuery(text="войны")).items] == [
        "tt0000003"
    ]
    assert [f["id"] for f in reader.search_films(FilmQuery(text="skywalkr")).items] == [
        "tt0000001"
    ]


def test_incremental_run_picks_up_inserts_updates_and_deletes(conn, reader, indexer):
    run(conn, indexer)
    with transaction(conn):
        conn.execute(
            "INSERT INTO film (id, title, imdb_rating) VALUES ('tt0000004', 'Willow', 7.3)"
        )
        conn.execute(
            "INSERT INTO film_genre (film_id, genre_id, position)"
            " SELECT 'tt0000004', id, 0 FROM genre WHERE name = 'Action'"
        )
        conn.execute("UPDATE film SET title = 'A New Hope' WHERE id = 'tt0000001'")
        conn.execute(
            "UPDATE person SET full_name = 'Harrison J. Ford' WHERE full_name = 'Harrison Ford'"
        )
        conn.execute("DELETE FROM film WHERE id = 'tt0000003'")
    summary = run(conn, indexer)
    assert summary.mode == "incremental"
    assert summary.removed == 1
    # changed: tt0000001 (title, Ford), tt0000002 (Ford), tt0000004 (new)
    assert summary.documents["movies"] == 3
    assert reader.get_film("tt0000003") is None
    assert reader.get_film("tt0000004")["genre"] == ["Action"]
    assert reader.get_film("tt0000001")["title"] == "A New Hope"
    assert "Harrison J. Ford" in reader.get_film("tt0000002")["actors_names"]
    action = reader.get_genre(stable_id("genre", "Action"))
    assert action["film_count"] == 3
    assert_counts_match(conn, indexer)


def test_incremental_run_removes_deleted_people_and_genres(conn, reader, indexer):
    run(conn, indexer)
    lucas = stable_id("person", "George Lucas")
    with transaction(conn):
        conn.execute("DELETE FROM person WHERE id = ?", (lucas,))
        conn.execute("DELETE FROM genre WHERE name = 'Adventure'")
    run(conn, indexer)
    assert reader.get_person(lucas) is None
    assert reader.get_genre(stable_id("genre", "Adventure")) is None
    assert reader.get_film("tt0000001")["director"] == []
    assert reader.get_film("tt0000002")["genre"] == ["Action"]
    assert_counts_match(conn, indexer)


def test_rerun_is_idempotent(conn, reader, indexer):
    run(conn, indexer)
    first = [reader.get_film(f"tt000000{i}") for i in (1, 2, 3)]
    nothing = run(conn, indexer)
    assert nothing.mode == "incremental"
    assert nothing.documents["movies"] == 0
    again = run(conn, indexer, full=True)
    assert again.mode == "full"
    assert [reader.get_film(f"tt000000{i}") for i in (1, 2, 3)] == first
    assert_counts_match(conn, indexer)


def test_live_indices_that_want_a_full_load_get_one(conn, reader, indexer, monkeypatch):
    run(conn, indexer)
    # What a backend says of live indices an earlier release made.
    monkeypatch.setattr(indexer, "outdated", lambda: True)

    summary = run(conn, indexer)

    assert summary.mode == "full"
    assert summary.documents["movies"] == 3


def segments(search_app):
    """The segments of each full-text table of the live embedded index."""
    with closing(connect(search_app.config["EMBEDDED_SEARCH_PATH"])) as index:
        return [
            index.execute(f"SELECT count(DISTINCT segid) FROM {fts}_idx").fetchone()[0]
            for fts in ("movie_fts", "person_fts")
        ]


def found(reader, texts):
    """The ids each of ``texts`` finds, in order."""
    return [
        [doc["id"] for doc in reader.search_films(FilmQuery(text=text)).items]
        for text in texts
    ]


@pytest.mark.parametrize("search_config", ["embedded"], indirect=True)
def test_incremental_runs_leave_the_segments_of_a_fresh_index(
    search_app, conn, reader, indexer
):
    texts = ["star wars", "jedi", "ford", "войны", "skywalkr"]
    run(conn, indexer, full=True)
    fresh, results = segments(search_app), found(reader, texts)

    for rating in ("8.0", "8.1", "8.2"):
        with transaction(conn):
            conn.execute("UPDATE film SET imdb_rating = ?", (rating,))
            conn.execute("UPDATE person SET full_name = full_name || ''")
        assert run(conn, indexer).mode == "incremental"

    assert segments(search_app) == fresh == [1, 1]
    assert found(reader, texts) == results


def test_full_run_swaps_generations(conn, reader, indexer, state_db):
    first = run(conn, indexer)
    second = run(conn, indexer, full=True)
    assert second.run_id != first.run_id
    assert indexer.live_generation() == state.get(state_db, second.run_id).generation
    page = reader.search_films(FilmQuery(sort=(Sort("id"),)))
    assert [f["id"] for f in page.items] == ["tt0000001", "tt0000002", "tt0000003"]


class FailingAfter:
    """Wraps an indexer so that writes fail after ``n`` successful ones."""

    def __init__(self, indexer, n):
        self.indexer, self.left = indexer, n

    def write(self, *args, **kwargs):
        if self.left == 0:
            raise SearchUnavailable("search engine went away")
        self.left -= 1
        return self.indexer.write(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.indexer, name)


def test_failure_mid_load_leaves_live_indices_untouched_and_resumes(
    conn,
    reader,
    indexer,
    state_db,
):
    first = run(conn, indexer)
    live, version = indexer.live_generation(), reader.data_version()
    with pytest.raises(SearchUnavailable):
        run(conn, FailingAfter(indexer, 1), full=True)
    failed = state.latest(state_db, indexer.describe())
    assert failed.state == "failed" and "went away" in failed.error
    assert (indexer.live_generation(), reader.data_version()) == (live, version)
    assert_counts_match(conn, indexer)
    resumed = run(conn, indexer)
    assert resumed.resumed and resumed.run_id == failed.id != first.run_id
    assert resumed.documents["movies"] == 1  # the batch after the checkpoint
    assert indexer.live_generation() == failed.generation
    assert reader.data_version() != version
    assert_counts_match(conn, indexer)


def test_second_run_while_one_holds_the_file_lock_is_refused(db_path, tmp_path):
    db_path.touch()
    linked = tmp_path / "linked.sqlite"
    linked.symlink_to(db_path)
    with state.exclusive(db_path):
        for path in (db_path, linked):
            second = state.exclusive(path)
            with pytest.raises(state.RunInProgress, match="in progress"):
                second.__enter__()


def test_each_run_goes_live_with_a_new_data_version(conn, reader, indexer):
    with pytest.raises(SearchUnavailable):
        reader.data_version()
    run(conn, indexer)
    first = reader.data_version()
    run(conn, indexer)
    second = reader.data_version()
    run(conn, indexer, full=True)
    third = reader.data_version()
    assert len({"0", first, second, third}) == 4


def test_prefetched_hands_over_every_batch_in_order(conn):
    def produce(reader):
        for n in range(10):
            yield reader.execute("SELECT ?", (n,)).fetchone()[0]

    with pipeline.prefetched(conn, produce) as batches:
        assert list(batches) == list(range(10))


def test_prefetched_raises_what_the_reading_thread_raised(conn):
    def produce(reader):
        yield 1
        reader.execute("SELECT * FROM no_such_table")

    with pipeline.prefetched(conn, produce) as batches:
        assert next(batches) == 1
        with pytest.raises(DatabaseError, match="no_such_table"):
            next(batches)


def test_prefetched_stops_its_thread_when_the_consumer_fails(conn):
    produced = []

    def produce(reader):
        for n in range(1000):
            produced.append(n)
            yield n

    with (
        pytest.raises(RuntimeError),
        pipeline.prefetched(conn, produce, depth=1) as batches,
    ):
        next(batches)
        raise RuntimeError("the load failed")
    assert len(produced) < 10
    assert not [t for t in threading.enumerate() if t.name == "etl-extract"]
