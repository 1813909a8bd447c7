"""What only the embedded index does: its connections, layouts and ranking tiers."""

import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from flask import Flask

from app.db import connect
from app.migrations import upgrade
from app.search import (
    FILM_SUMMARY,
    MOVIES,
    FilmQuery,
    SearchError,
    SearchUnavailable,
    Sort,
    embedded,
)
from app.search.embedded import IDLE_CONNECTIONS, LAYOUT, EmbeddedBackend
from etl import pipeline
from tests.documents import film, write_catalogue
from tests.factories import make_star_wars_db, movie


@pytest.fixture
def index_path(tmp_path):
    """Path of an embedded index that does not exist yet."""
    return tmp_path / "movies.search.sqlite"


@pytest.fixture
def backend(index_path):
    """An embedded backend on ``index_path``."""
    return EmbeddedBackend(index_path, max_result_window=10_000)


def open_descriptors(path):
    """This process's open files that are ``path`` (or were, before a replace)."""
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.removesuffix(" (deleted)") == str(path):
            found.append(target)
    return found


def load(backend, generation, films):
    """Write ``films`` into ``generation`` and make it live, as a full load does."""
    write_catalogue(backend, generation, films)
    backend.publish(generation)


def titles_in_a_request(backend):
    """Search every film in a request of its own, as the app does."""
    with Flask(__name__).app_context():
        try:
            page = backend.search_films(FilmQuery())
        finally:
            backend.release()
    return [doc["title"] for doc in page.items]


def test_requests_share_a_few_connections(backend, index_path):
    load(backend, "gen1", [film("tt0000001", "Alien")])

    for _ in range(3 * IDLE_CONNECTIONS):
        assert titles_in_a_request(backend) == ["Alien"]

    assert 1 <= len(open_descriptors(index_path)) <= IDLE_CONNECTIONS


def test_a_request_after_a_full_reload_reads_the_new_file(backend, index_path):
    load(backend, "gen1", [film("tt0000001", "Alien")])
    assert titles_in_a_request(backend) == ["Alien"]

    load(backend, "gen2", [film("tt0000002", "Aliens")])

    assert titles_in_a_request(backend) == ["Aliens"]
    # The idle connection to the replaced file was closed, not kept.
    assert not [f for f in open_descriptors(index_path) if f.endswith("(deleted)")]


def set_layout(path, layout, *statements):
    """Give the file at ``path`` another layout number, after ``statements``."""
    with closing(sqlite3.connect(path)) as conn, conn:
        for statement in statements:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {layout}")


def test_reads_refuse_an_index_of_the_first_layout_until_the_etl_upgrades_it(
    backend, index_path, db_path
):
    make_star_wars_db(db_path, movie("tt0000002", "The Empire Strikes Back"))
    with closing(connect(db_path)) as conn:
        upgrade(conn)
        pipeline.run(conn, backend)
        # What releases before layouts wrote: no titles beside the documents.
        set_layout(index_path, 0, "ALTER TABLE movie DROP COLUMN title")

        with pytest.raises(SearchUnavailable, match="run flask etl run"):
            backend.search_films(FilmQuery(text="star wars"))
        # Nothing changed in the catalogue: the run only upgrades the index,
        # titles of the films already in it included.
        assert pipeline.run(conn, backend).mode == "incremental"

    films = backend.search_films(FilmQuery(sort=(Sort("id"),)), FILM_SUMMARY).items
    assert [item["title"] for item in films] == ["Star Wars", "The Empire Strikes Back"]


def test_a_file_of_a_newer_layout_is_neither_read_nor_written(backend, index_path):
    load(backend, "gen1", [film("tt0000001", "Alien")])
    set_layout(index_path, LAYOUT + 1)

    with pytest.raises(SearchUnavailable):
        backend.search_films(FilmQuery())
    with pytest.raises(SearchError, match="newer"):
        backend.remove(MOVIES, ["tt0000001"])
    with closing(sqlite3.connect(index_path)) as conn:
        assert conn.execute("SELECT count(*) FROM movie").fetchone() == (1,)


def searched_ids(backend, text, **query):
    return [
        doc["id"] for doc in backend.search_films(FilmQuery(text=text, **query)).items
    ]


def test_films_matching_the_words_as_typed_rank_above_typo_matches(backend):
    load(
        backend,
        "gen1",
        [
            # "stork" is one edit from "storm": a typo's match, in a title.
            film("tt0000001", "The Stork"),
            # The word as typed, once, in a long description.
            film("tt0000002", "Night", None, "A town waits out the storm " * 5),
            film("tt0000003", "Calm Seas"),
        ],
    )

    assert searched_ids(backend, "storm") == ["tt0000002", "tt0000001"]
    # A typo that is no indexed word has no exact tier: relevance alone decides.
    assert searched_ids(backend, "stormm") == ["tt0000001", "tt0000002"]
    # A given sort still wins over both tiers.
    assert searched_ids(backend, "storm", sort=(Sort("id"),)) == [
        "tt0000001",
        "tt0000002",
    ]


def test_pages_run_on_from_the_exact_tier_into_the_typo_tier(backend):
    # Typo matches take the lower ids, so id order alone would put them first.
    typos = [film(f"tt000000{n}", "The Stork") for n in (1, 2, 3)]
    exact = [film(f"tt000000{n}", "The Storm") for n in (4, 5, 6)]
    load(backend, "gen1", typos + exact)
    ranked = ["tt0000004", "tt0000005", "tt0000006", "tt0000001", "tt0000002"]
    ranked.append("tt0000003")

    assert searched_ids(backend, "storm", limit=6) == ranked
    # Every window, whether inside a tier, across the boundary or past it.
    for offset in range(6):
        for limit in (1, 2, 4):
            window = searched_ids(backend, "storm", offset=offset, limit=limit)
            assert window == ranked[offset : offset + limit], (offset, limit)
    assert backend.search_films(FilmQuery(text="storm", offset=4, limit=2)).total == 6


def test_persons_named_as_typed_rank_above_typo_matches(backend):
    persons = [
        # The shorter name, and so the better bm25: a typo's match.
        {"id": "p-1", "full_name": "Palmet", "films": []},
        {"id": "p-2", "full_name": "Laura Jane Palmer", "films": []},
    ]
    write_catalogue(backend, "gen1", [], persons=persons)
    backend.publish("gen1")

    found = backend.search_persons("palmer")
    assert [person["id"] for person in found.items] == ["p-2", "p-1"]
    assert found.total == 2
    assert [p["id"] for p in backend.search_persons("palmer", offset=1).items] == [
        "p-1"
    ]


@pytest.mark.parametrize("room", [1, 100])
def test_ties_are_broken_on_id_whether_or_not_they_are_read_whole(
    backend, monkeypatch, room
):
    # The shorter the title, the better the film matches: four twins tie.
    films = [film("tt0000009", "Storm Rising Harbour Lights")]
    films += [film(f"tt000000{n}", "Storm Rising") for n in (5, 4, 3, 2)]
    films.append(film("tt0000006", "Storm"))
    load(backend, "gen1", films)
    ranked = ["tt0000006", "tt0000002", "tt0000003", "tt0000004", "tt0000005"]
    ranked.append("tt0000009")
    # With room for one match past a page, most ties run past what is read.
    monkeypatch.setattr(embedded, "TIE_ROOM", room)

    for offset in range(7):
        for limit in (1, 2, 3, 6):
            window = searched_ids(backend, "storm", offset=offset, limit=limit)
            assert window == ranked[offset : offset + limit], (offset, limit)
