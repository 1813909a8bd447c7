"""Persons: /api/v1/persons/search, /persons/<id> and /persons/<id>/films."""

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

PERSONS = "/api/v1/persons"
SEARCH = "/api/v1/persons/search"


# --- search --------------------------------------------------------------------------


def test_search_finds_a_person_with_their_films_and_roles(api):
    response = api.get(f"{SEARCH}?query=lucas")

    assert response.status_code == 200
    assert response.json == [
        {
            "id": "p-lucas",
            "full_name": "George Lucas",
            "films": [
                {"id": "tt0000001", "roles": ["writer", "director"]},
                {"id": "tt0000002", "roles": ["writer"]},
                {"id": "tt0000006", "roles": ["director"]},
            ],
        }
    ]
    assert pagination(response)["total"] == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("harison", {"p-ford"}),  # a typo
        ("Harrison Ford", {"p-ford"}),
        ("scott", {"p-scott", "p-scott-campbell"}),
        ("ridley scott", {"p-scott"}),
        ("o'bannon", {"p-obannon"}),
        ("george ford", set()),  # every word must match
    ],
)
def test_search_matches_every_word_of_the_name_with_typos(api, query, expected):
    response = api.get(SEARCH, query_string={"query": query})

    assert set(ids(response)) == expected
    assert pagination(response)["total"] == len(expected)


def test_search_pages(api):
    first = api.get(f"{SEARCH}?query=scott&page=1&page_size=1")
    second = api.get(f"{SEARCH}?query=scott&page=2&page_size=1")
    beyond = api.get(f"{SEARCH}?query=scott&page=3&page_size=1")

    assert {*ids(first), *ids(second)} == {"p-scott", "p-scott-campbell"}
    assert len(first.json) == len(second.json) == 1
    assert pagination(second) == pagination_of(2, total=2, total_pages=2)
    assert beyond.json == []


def test_page_beyond_the_result_window_is_422(api):
    response = api.get(f"{SEARCH}?query=ford&page=101&page_size=100")

    assert_beyond_the_result_window(response)


# --- one person ----------------------------------------------------------------------


def test_get_answers_the_person_with_their_films_and_roles(api):
    response = api.get(f"{PERSONS}/p-ford")

    assert response.status_code == 200
    assert response.json == {
        "id": "p-ford",
        "full_name": "Harrison Ford",
        "films": [
            {"id": "tt0000001", "roles": ["actor"]},
            {"id": "tt0000002", "roles": ["actor"]},
            {"id": "tt0000004", "roles": ["actor"]},
        ],
    }


def test_get_unknown_person_is_404(api):
    response = api.get(f"{PERSONS}/p-nobody")

    assert response.status_code == 404
    assert response.json["code"] == 404
    assert "p-nobody" in response.json["message"]


# --- a person's films ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("person_id", "expected"),
    [
        ("p-lucas", ["tt0000001", "tt0000002", "tt0000006"]),  # every role
        ("p-scott", ["tt0000003", "tt0000004"]),
        ("p-garland", ["tt0000005"]),
    ],
)
def test_films_of_a_person_are_listed_in_any_role(api, person_id, expected):
    response = api.get(f"{PERSONS}/{person_id}/films")

    assert response.status_code == 200
    assert ids(response) == expected
    assert pagination(response)["total"] == len(expected)


def test_films_of_a_person_are_summaries(api):
    response = api.get(f"{PERSONS}/p-lucas/films?page=2&page_size=2")

    assert response.json == [
        {"id": "tt0000006", "title": "Home Movie", "imdb_rating": None}
    ]
    assert pagination(response)["total"] == 3
    assert pagination(response)["previous_page"] == 1


def test_films_of_an_unknown_person_is_404(api):
    response = api.get(f"{PERSONS}/p-nobody/films")

    assert response.status_code == 404
    assert "p-nobody" in response.json["message"]


# --- invalid arguments -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "parameter", "allowed"),
    [
        (SEARCH, "query", "Required"),
        (f"{SEARCH}?query=", "query", "empty or blank"),
        (f"{SEARCH}?query=%09%20", "query", "empty or blank"),
        (f"{SEARCH}?query=the", "query", "too common"),
        (f"{SEARCH}?query=ford&page=0", "page", "whole number from 1"),
        (
            f"{SEARCH}?query=ford&page_size=101",
            "page_size",
            "from 1 to 100",
        ),
        (f"{PERSONS}/p-ford/films?page_size=1000", "page_size", "100"),
    ],
)
def test_invalid_argument_is_422_naming_it_and_what_is_allowed(
    client, path, parameter, allowed
):
    assert_refused_argument(client.get(path), parameter, allowed)


# --- search engine down ------------------------------------------------------------


@pytest.mark.parametrize(
    "path", [f"{SEARCH}?query=ford", f"{PERSONS}/p-ford", f"{PERSONS}/p-ford/films"]
)
def test_search_engine_down_is_a_quick_503_with_retry_after(unreachable_client, path):
    get_503(unreachable_client, path)


# --- built from the legacy file: caching and stable ids -----------------------------


def test_answers_are_cached_until_the_etl_changes_the_data(search_app):
    build_from_legacy(search_app)
    counting = search_app.extensions["search"] = CountingReader(get_search())
    client = search_app.test_client()
    ford = stable_id("person", "Harrison Ford")
    paths = [f"{SEARCH}?query=ford", f"{PERSONS}/{ford}", f"{PERSONS}/{ford}/films"]

    first = [client.get(path) for path in paths]
    second = [client.get(path) for path in paths]

    assert counting.calls == 4  # a person's films read the person, then search
    assert [r.data for r in second] == [r.data for r in first]
    assert first[1].json["full_name"] == "Harrison Ford"

    conn = connect(search_app.config["DATABASE_PATH"])
    with conn:
        conn.execute(
            "UPDATE person SET full_name = 'Harrison J. Ford' WHERE id = ?", (ford,)
        )
    conn.close()
    run_cli(search_app, "etl", "run")

    assert client.get(f"{PERSONS}/{ford}").json["full_name"] == "Harrison J. Ford"


def legacy_person_ids(client):
    """The ids the API answers for the people of the legacy file, by name."""
    found = {}
    for name in ("George Lucas", "Harrison Ford", "Ridley Scott"):
        (person,) = client.get(SEARCH, query_string={"query": name}).json
        found[person["full_name"]] = person["id"]
    return found


def test_person_ids_still_resolve_when_the_catalogue_is_rebuilt(search_app, rebuild):
    build_from_legacy(search_app)
    seen = legacy_person_ids(search_app.test_client())

    assert seen["George Lucas"] == stable_id("person", " george  LUCAS ")
    with rebuild() as client:
        for name, person_id in seen.items():
            response = client.get(f"{PERSONS}/{person_id}")
            assert response.status_code == 200
            assert response.json["full_name"] == name


# --- documentation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "parameters", "statuses"),
    [
        (SEARCH, {"query", "page", "page_size"}, {"200", "304", "422", "503"}),
        (f"{PERSONS}/{{person_id}}", {"person_id"}, {"200", "304", "404", "503"}),
        (
            f"{PERSONS}/{{person_id}}/films",
            {"person_id", "page", "page_size"},
            {"200", "304", "404", "422", "503"},
        ),
    ],
)
def test_spec_documents_every_persons_path(client, path, parameters, statuses):
    operation = client.get("/openapi.json").json["paths"][path]["get"]

    assert operation["summary"]
    assert spec_parameters(client, path) == parameters
    assert statuses <= set(operation["responses"])
