"""Genres: /api/v1/genres and /api/v1/genres/<id>."""

import pytest

from catalogue.db.sqlite import connect
from catalogue.ids import stable_id
from catalogue.search import get_search
from tests.app.resources.catalogue import (
    CountingReader,
    assert_beyond_the_result_window,
    assert_refused_argument,
    build_from_legacy,
    get_503,
    ids,
    pagination,
    pagination_of,
    run_cli,
    spec_parameters,
)

GENRES = "/api/v1/genres"
BY_NAME = ["g-action", "g-adventure", "g-drama", "g-family", "g-horror", "g-scifi"]


# --- the list ----------------------------------------------------------------------


def test_list_answers_every_genre_by_name_with_film_counts(api):
    response = api.get(GENRES)

    assert response.status_code == 200
    assert response.json == [
        {"id": "g-action", "name": "Action", "film_count": 2},
        {"id": "g-adventure", "name": "Adventure", "film_count": 3},
        {"id": "g-drama", "name": "Drama", "film_count": 1},
        {"id": "g-family", "name": "Family", "film_count": 1},
        {"id": "g-horror", "name": "Horror", "film_count": 1},
        {"id": "g-scifi", "name": "Sci-Fi", "film_count": 4},
    ]
    assert pagination(response)["total"] == 6


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", BY_NAME),
        ("-name", BY_NAME[::-1]),
        (
            "film_count",  # ties on id
            ["g-drama", "g-family", "g-horror", "g-action", "g-adventure", "g-scifi"],
        ),
        (
            "-film_count",
            ["g-scifi", "g-adventure", "g-action", "g-drama", "g-family", "g-horror"],
        ),
    ],
)
def test_list_sorts_by_name_or_film_count(api, sort, expected):
    assert ids(api.get(GENRES, query_string={"sort": sort})) == expected


def test_list_pages_with_the_pagination_header(api):
    response = api.get(f"{GENRES}?sort=-film_count&page=2&page_size=4")

    assert ids(response) == ["g-family", "g-horror"]
    assert pagination(response) == pagination_of(2, total=6, total_pages=2)


def test_page_beyond_the_result_window_is_422(api):
    assert_beyond_the_result_window(api.get(f"{GENRES}?page=201"))


# --- one genre -----------------------------------------------------------------------


def test_get_answers_the_genre_with_its_film_count(api):
    response = api.get(f"{GENRES}/g-scifi")

    assert response.status_code == 200
    assert response.json == {"id": "g-scifi", "name": "Sci-Fi", "film_count": 4}


def test_get_unknown_genre_is_404(api):
    response = api.get(f"{GENRES}/g-western")

    assert response.status_code == 404
    assert response.json["code"] == 404
    assert "g-western" in response.json["message"]


# --- invalid arguments -------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "parameter", "allowed"),
    [
        ("sort=title", "sort", "name, -name, film_count, -film_count"),
        ("sort=count", "sort", "film_count"),
        ("page=0", "page", "whole number from 1"),
        ("page_size=101", "page_size", "from 1 to 100"),
    ],
)
def test_invalid_argument_is_422_naming_it_and_what_is_allowed(
    client, query, parameter, allowed
):
    assert_refused_argument(client.get(f"{GENRES}?{query}"), parameter, allowed)


# --- search engine down ------------------------------------------------------------


@pytest.mark.parametrize("path", [GENRES, f"{GENRES}/g-scifi"])
def test_search_engine_down_is_a_quick_503_with_retry_after(unreachable_client, path):
    get_503(unreachable_client, path)


# --- built from the legacy file: caching and stable ids -----------------------------


def test_answers_are_cached_until_the_etl_changes_the_data(search_app):
    build_from_legacy(search_app)
    counting = search_app.extensions["search"] = CountingReader(get_search())
    client = search_app.test_client()
    scifi = stable_id("genre", "Sci-Fi")

    first = [client.get(GENRES), client.get(f"{GENRES}/{scifi}")]
    second = [client.get(GENRES), client.get(f"{GENRES}/{scifi}")]

    assert counting.calls == 2
    assert [r.data for r in second] == [r.data for r in first]
    assert first[1].json["film_count"] == 3

    conn = connect(search_app.config["DATABASE_PATH"])
    with conn:
        conn.execute(
            "DELETE FROM film_genre WHERE film_id = 'tt0000003' AND genre_id = ?",
            (scifi,),
        )
    conn.close()
    run_cli(search_app, "etl", "run")

    assert client.get(f"{GENRES}/{scifi}").json["film_count"] == 2


def legacy_genre_ids(client):
    """The genre ids the API answers, by name."""
    return {genre["name"]: genre["id"] for genre in client.get(GENRES).json}


def test_genre_ids_still_resolve_when_the_catalogue_is_rebuilt(search_app, rebuild):
    build_from_legacy(search_app)
    seen = legacy_genre_ids(search_app.test_client())

    assert seen["Sci-Fi"] == stable_id("genre", "sci-fi")
    with rebuild() as client:
        for name, genre_id in seen.items():
            response = client.get(f"{GENRES}/{genre_id}")
            assert response.status_code == 200
            assert response.json["name"] == name


# --- documentation -----------------------------------------------------------------


def test_spec_documents_every_genres_path(client):
    paths = client.get("/openapi.json").json["paths"]
    listing = paths[GENRES]["get"]
    one = paths[f"{GENRES}/{{genre_id}}"]["get"]

    assert listing["summary"] and one["summary"]
    assert spec_parameters(client, GENRES) == {"sort", "page", "page_size"}
    assert spec_parameters(client, f"{GENRES}/{{genre_id}}") == {"genre_id"}
    assert {"200", "304", "422", "503"} <= set(listing["responses"])
    assert {"200", "304", "404", "503"} <= set(one["responses"])
    assert "X-Pagination" in listing["responses"]["200"]["headers"]
    sort = next(p for p in listing["parameters"] if p.get("name") == "sort")
    assert sort["schema"]["enum"] == ["name", "-name", "film_count", "-film_count"]
    assert sort["schema"]["default"] == "name"
