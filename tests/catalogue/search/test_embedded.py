"""What only the embedded index does: its connections, layouts and ranking tiers."""

import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from flask import Flask

from catalogue.db.sqlite import connect
from catalogue.migrations import upgrade
from catalogue.search import (
    FILM_SUMMARY,
    MOVIES,
    FilmQuery,
    SearchError,
    SearchUnavailable,
    Sort,
)
from catalogue.search.embedded import (
    LAYOUT,
    EmbeddedIndexer,
    EmbeddedReader,
    caches,
    ranking,
)
from catalogue.search.embedded.connections import IDLE_CONNECTIONS
from etl import pipeline, state
from tests.documents import film, write_catalogue
from tests.factories import make_star_wars_db, movie
from tests.settings import etl_state_path


@pytest.fixture
def index_path(tmp_path):
    """Path of an embedded index that does not exist yet."""
    return tmp_path / "movies.search.sqlite"


@pytest.fixture
def reader(index_path):
    """An embedded reader on ``index_path``."""
    return EmbeddedReader(index_path, max_result_window=10_000)


@pytest.fixture
def indexer(index_path):
    """An embedded indexer on ``index_path``."""
    return EmbeddedIndexer(index_path)


def open_descriptors(path):
    """This process's open index files behind the live link ``path``.

    A file that a publish deleted since shows as ``... (deleted)``.
    """
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        name = target.removesuffix(" (deleted)")
        sidecar = name.endswith(("-wal", "-shm", "-journal"))
        if name.startswith(f"{path}.") and not sidecar:
            found.append(target)
    return found


def load(indexer, generation, films):
    """Write ``films`` into ``generation`` and make it live, as a full load does."""
    write_catalogue(indexer, generation, films)
    indexer.publish(generation)


def titles_in_a_request(reader):
    """Search every film in a request of its own, as the app does."""
    with Flask(__name__).app_context():
        try:
            page = reader.search_films(FilmQuery())
        finally:
            reader.release()
    return [doc["title"] for doc in page.items]


def test_requests_share_a_few_connections(reader, indexer, index_path):
    load(indexer, "gen1", [film("tt0000001", "Alien")])

    for _ in range(3 * IDLE_CONNECTIONS):
        assert titles_in_a_request(reader) == ["Alien"]

    assert 1 <= len(open_descriptors(index_path)) <= IDLE_CONNECTIONS


def test_a_request_after_a_full_reload_reads_the_new_file(reader, indexer, index_path):
    load(indexer, "gen1", [film("tt0000001", "Alien")])
    assert titles_in_a_request(reader) == ["Alien"]

    load(indexer, "gen2", [film("tt0000002", "Aliens")])

    assert titles_in_a_request(reader) == ["Aliens"]
    # The idle connection to the replaced file was closed, not kept.
    assert not [f for f in open_descriptors(index_path) if f.endswith("(deleted)")]


def write_live(indexer, film_id, title):
    """Write one film to the live index, as an API write does."""
    indexer.write_changes({MOVIES: [film(film_id, title)]}, {}, 1, film_id)


def test_live_writes_share_one_connection_kept_between_them(indexer, index_path):
    load(indexer, "gen1", [film("tt0000001", "Alien")])

    for n in range(2, 5):
        write_live(indexer, f"tt000000{n}", "Aliens")

    assert open_descriptors(index_path) == [f"{index_path}.gen1"]


def test_a_full_reload_frees_the_file_the_kept_writer_held(indexer, index_path):
    load(indexer, "gen1", [film("tt0000001", "Alien")])
    write_live(indexer, "tt0000002", "Aliens")

    load(indexer, "gen2", [film("tt0000003", "Alien 3")])
    held = open_descriptors(index_path)
    indexer.release()

    assert held == [f"{index_path}.gen1 (deleted)"]
    assert open_descriptors(index_path) == []
    write_live(indexer, "tt0000004", "Alien Resurrection")
    assert open_descriptors(index_path) == [f"{index_path}.gen2"]


# What layouts before 4 lacked: the keys of titles.
WITHOUT_TITLE_KEYS = (
    "DROP INDEX movie_title_key",
    "ALTER TABLE movie DROP COLUMN title_key",
)


def set_layout(path, layout, *statements):
    """Give the file at ``path`` another layout number, after ``statements``."""
    with closing(sqlite3.connect(path)) as conn, conn:
        for statement in statements:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {layout}")


def test_reads_refuse_an_index_of_the_first_layout_until_the_etl_upgrades_it(
    reader, indexer, index_path, db_path
):
    make_star_wars_db(db_path, movie("tt0000002", "The Empire Strikes Back"))
    with (
        closing(connect(db_path)) as conn,
        closing(state.open_state(etl_state_path(db_path))) as state_db,
    ):
        upgrade(conn)
        pipeline.run(conn, indexer, state_db=state_db)
        # What releases before layouts wrote: no titles beside the documents.
        set_layout(
            index_path,
            0,
            "ALTER TABLE movie DROP COLUMN title",
            "DROP TABLE movie_word",
            *WITHOUT_TITLE_KEYS,
        )

        with pytest.raises(SearchUnavailable, match="run flask etl run"):
            reader.search_films(FilmQuery(text="star wars"))
        # Nothing changed in the catalogue: the run only upgrades the index,
        # titles of the films already in it included.
        assert pipeline.run(conn, indexer, state_db=state_db).mode == "incremental"

    films = reader.search_films(FilmQuery(sort=(Sort("id"),)), FILM_SUMMARY).items
    assert [item["title"] for item in films] == ["Star Wars", "The Empire Strikes Back"]


def test_the_upgrade_of_an_index_of_layout_2_learns_the_words_of_its_films(
    reader, indexer, index_path
):
    films = [film("tt0000001", "Running Man"), film("tt0000002", "June", None, "Runes")]
    load(indexer, "gen1", films)
    # Layout 2 kept no words as typed: typo matches ranked by terms alone.
    set_layout(index_path, 2, "DROP TABLE movie_word", *WITHOUT_TITLE_KEYS)

    with pytest.raises(SearchUnavailable, match="run flask etl run"):
        reader.search_films(FilmQuery(text="runing"))
    indexer.remove(MOVIES, [])  # any write upgrades the file

    with closing(sqlite3.connect(index_path)) as conn:
        words = conn.execute("SELECT word, term FROM movie_word").fetchall()
    assert sorted(words) == [
        ("june", "june"),
        ("man", "man"),
        ("runes", "rune"),
        ("running", "run"),
    ]
    assert searched_ids(reader, "runing")[0] == "tt0000001"


def test_the_upgrade_of_an_index_of_layout_3_keys_the_titles_of_its_films(
    reader, indexer, index_path
):
    films = [
        film("tt0000001", "Football's Next Star", 7.0, "The next star of football."),
        film("tt0000002", "The Next Star", 5.0),
    ]
    load(indexer, "gen1", films)
    set_layout(index_path, 3, *WITHOUT_TITLE_KEYS)

    with pytest.raises(SearchUnavailable, match="run flask etl run"):
        reader.search_films(FilmQuery(text="The Next Star"))
    indexer.remove(MOVIES, [])  # any write upgrades the file

    with closing(sqlite3.connect(index_path)) as conn:
        keys = conn.execute("SELECT id, title_key FROM movie ORDER BY id").fetchall()
    assert keys == [("tt0000001", "football's next star"), ("tt0000002", "next star")]
    assert searched_ids(reader, "The Next Star")[0] == "tt0000002"


def test_a_file_of_a_newer_layout_is_neither_read_nor_written(
    reader, indexer, index_path
):
    load(indexer, "gen1", [film("tt0000001", "Alien")])
    set_layout(index_path, LAYOUT + 1)

    with pytest.raises(SearchUnavailable):
        reader.search_films(FilmQuery())
    with pytest.raises(SearchError, match="newer"):
        indexer.remove(MOVIES, ["tt0000001"])
    with closing(sqlite3.connect(index_path)) as conn:
        assert conn.execute("SELECT count(*) FROM movie").fetchone() == (1,)


def segments(path):
    """The segments of each full-text table of the index file at ``path``."""
    with closing(sqlite3.connect(path)) as conn:
        return [
            conn.execute(f"SELECT count(DISTINCT segid) FROM {fts}_idx").fetchone()[0]
            for fts in ("movie_fts", "person_fts")
        ]


def test_a_merge_folds_the_segments_of_live_writes_in_short_steps(
    reader, indexer, index_path
):
    # Words enough that the merged segment spans many pages.
    plots = [" ".join(f"w{n}x{k}" for k in range(300)) for n in range(60)]
    films = [film(f"tt{n:07d}", f"Film {n}", 5.0, plots[n]) for n in range(60)]
    load(indexer, "gen1", films)
    fresh = segments(index_path)
    for n in range(0, 60, 2):
        indexer.write(MOVIES, films[n : n + 2])
    assert segments(index_path)[0] > fresh[0]
    texts = ("film", "film 7", "w7x3", "w59x299")
    before = [searched_ids(reader, text) for text in texts]

    steps = indexer.merge(pages=2)

    assert steps > 1
    assert segments(index_path) == fresh == [1, 0]  # no persons
    assert [searched_ids(reader, text) for text in texts] == before
    assert indexer.merge() == 0


def test_a_merge_before_any_load_does_nothing(indexer, index_path):
    assert indexer.merge() == 0
    assert not index_path.exists()


def test_readers_never_wait_on_a_writer(reader, indexer, index_path):
    load(indexer, "gen1", [film("tt0000001", "Alien")])
    with closing(sqlite3.connect(index_path, isolation_level=None)) as writer:
        # The strongest lock there is: with a rollback journal, no reader
        # could read until it ends.
        writer.execute("BEGIN EXCLUSIVE")
        writer.execute("DELETE FROM movie")

        assert titles_in_a_request(reader) == ["Alien"]
        writer.execute("COMMIT")

    assert titles_in_a_request(reader) == []


def journal_mode(path):
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA journal_mode").fetchone()[0]


def test_the_live_file_is_in_wal_mode_behind_the_live_link(indexer, index_path):
    load(indexer, "gen1", [film("tt0000001", "Alien")])
    indexer.write(MOVIES, [film("tt0000002", "Aliens")])
    # A generation nobody reads yet writes each page once, with a rollback journal.
    indexer.prepare("gen2")
    gen2 = index_path.with_name("movies.search.sqlite.gen2")
    assert journal_mode(gen2) == "delete"

    assert os.readlink(index_path) == "movies.search.sqlite.gen1"
    assert journal_mode(index_path) == "wal"
    indexer.publish("gen2")
    assert os.readlink(index_path) == "movies.search.sqlite.gen2"
    assert journal_mode(index_path) == "wal"


def test_a_file_of_the_previous_release_is_moved_behind_the_link(
    reader, indexer, index_path
):
    load(indexer, "gen1", [film("tt0000001", "Alien")])
    # What the previous release left: the live file itself, rollback journal,
    # layout 1.
    live = index_path.with_name(os.readlink(index_path))
    with closing(sqlite3.connect(live, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("DROP TABLE movie_word")
        for statement in WITHOUT_TITLE_KEYS:
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
    index_path.unlink()
    os.replace(live, index_path)

    with pytest.raises(SearchUnavailable, match="run flask etl run"):
        reader.search_films(FilmQuery())
    indexer.write(MOVIES, [film("tt0000002", "Aliens")])

    assert index_path.is_symlink()
    assert titles_in_a_request(reader) == ["Alien", "Aliens"]
    with closing(connect(index_path, readonly=True)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LAYOUT


def searched_ids(reader, text, **query):
    return [
        doc["id"] for doc in reader.search_films(FilmQuery(text=text, **query)).items
    ]


def test_films_matching_the_words_as_typed_rank_above_typo_matches(reader, indexer):
    load(
        indexer,
        "gen1",
        [
            # "stork" is one edit from "storm": a typo's match, in a title.
            film("tt0000001", "The Stork"),
            # The word as typed, once, in a long description.
            film("tt0000002", "Night", None, "A town waits out the storm " * 5),
            film("tt0000003", "Calm Seas"),
        ],
    )

    assert searched_ids(reader, "storm") == ["tt0000002", "tt0000001"]
    # A typo that is no indexed word has no exact tier: relevance alone decides.
    assert searched_ids(reader, "stormm") == ["tt0000001", "tt0000002"]
    # A given sort still wins over both tiers.
    assert searched_ids(reader, "storm", sort=(Sort("id"),)) == [
        "tt0000001",
        "tt0000002",
    ]


def test_pages_run_on_from_the_exact_tier_into_the_typo_tier(reader, indexer):
    # Typo matches take the lower ids, so id order alone would put them first.
    typos = [film(f"tt000000{n}", "The Stork") for n in (1, 2, 3)]
    exact = [film(f"tt000000{n}", "The Storm") for n in (4, 5, 6)]
    load(indexer, "gen1", typos + exact)
    ranked = ["tt0000004", "tt0000005", "tt0000006", "tt0000001", "tt0000002"]
    ranked.append("tt0000003")

    assert searched_ids(reader, "storm", limit=6) == ranked
    # Every window, whether inside a tier, across the boundary or past it.
    for offset in range(6):
        for limit in (1, 2, 4):
            window = searched_ids(reader, "storm", offset=offset, limit=limit)
            assert window == ranked[offset : offset + limit], (offset, limit)
    assert reader.search_films(FilmQuery(text="storm", offset=4, limit=2)).total == 6


def test_persons_named_as_typed_rank_above_typo_matches(reader, indexer):
    persons = [
        # The shorter name, and so the better bm25: a typo's match.
        {"id": "p-1", "full_name": "Palmet", "films": []},
        {"id": "p-2", "full_name": "Laura Jane Palmer", "films": []},
    ]
    write_catalogue(indexer, "gen1", [], persons=persons)
    indexer.publish("gen1")

    found = reader.search_persons("palmer")
    assert [person["id"] for person in found.items] == ["p-2", "p-1"]
    assert found.total == 2
    assert [p["id"] for p in reader.search_persons("palmer", offset=1).items] == ["p-1"]


@pytest.mark.parametrize("room", [1, 100])
def test_ties_are_broken_on_id_whether_or_not_they_are_read_whole(
    reader, indexer, monkeypatch, room
):
    # The shorter the title, the better the film matches: four twins tie.
    films = [film("tt0000009", "Storm Rising Harbour Lights")]
    films += [film(f"tt000000{n}", "Storm Rising") for n in (5, 4, 3, 2)]
    films.append(film("tt0000006", "Storm"))
    load(indexer, "gen1", films)
    ranked = ["tt0000006", "tt0000002", "tt0000003", "tt0000004", "tt0000005"]
    ranked.append("tt0000009")
    # With room for one match past a page, most ties run past what is read.
    monkeypatch.setattr(ranking, "TIE_ROOM", room)

    for offset in range(7):
        for limit in (1, 2, 3, 6):
            window = searched_ids(reader, "storm", offset=offset, limit=limit)
            assert window == ranked[offset : offset + limit], (offset, limit)


def test_readers_add_the_words_an_api_write_brings_instead_of_reloading(
    tmp_path, monkeypatch
):
    path = tmp_path / "movies.search.sqlite"
    indexer = EmbeddedIndexer(path)
    indexer.prepare()
    indexer.write(MOVIES, [film("tt0000001", "Star Wars", 8.6)])
    reader = EmbeddedReader(path, 10_000)
    assert reader.search_films(FilmQuery(text="wars")).total == 1
    loads = []
    whole = caches.Vocabulary
    monkeypatch.setattr(
        caches, "Vocabulary", lambda *args: loads.append(args) or whole(*args)
    )

    indexer.write_changes({MOVIES: [film("tt0000002", "Dark City", 7.6)]}, {}, 2, "v2")
    assert reader.search_films(FilmQuery(text="darc")).total == 1
    first = len(loads)  # the log is new: loaded whole once more
    indexer.write_changes({MOVIES: [film("tt0000003", "Darkman", 6.4)]}, {}, 3, "v3")
    assert ids_of(reader.search_films(FilmQuery(text="darkmen"))) == ["tt0000003"]
    indexer.write_changes({MOVIES: [film("tt0000004", "Dark Star", 6.4)]}, {}, 4, "v4")
    assert reader.search_films(FilmQuery(text="darc")).total == 2

    assert len(loads) == first
    assert reader.search_films(FilmQuery(text="star")).total == 2


def ids_of(page):
    """The ids of a page of films."""
    return [doc["id"] for doc in page.items]
