"""Films: /api/v1/films, /films/search, /films/<id> and /films/<id>/similar."""

import pytest

from catalogue.db.sqlite import connect
from catalogue.search import get_indexer, get_search
from tests.app.resources.catalogue import (
    CountingReader,
    assert_beyond_the_result_window,
    assert_refused_argument,
    build_from_legacy,
    get_503,
    ids,
    load_catalogue,
    pagination,
    pagination_of,
    run_cli,
    spec_parameters,
)
from tests.fixtures.elasticsearch import drop_indices
from tests.settings import make_test_app

FILMS = "/api/v1/films"
SEARCH = "/api/v1/films/search"
SUMMARY_KEYS = {"id", "title", "imdb_rating"}
BY_RATING = [
    "tt0000002",
    "tt0000001",
    "tt0000003",
    "tt0000004",
    "tt0000005",
    "tt0000006",
]


# --- the list ----------------------------------------------------------------------


def test_list_answers_summaries_best_rated_first(api):
    response = api.get(FILMS)

    assert response.status_code == 200
    assert ids(response) == BY_RATING
    assert all(set(item) == SUMMARY_KEYS for item in response.json)
    assert response.json[0] == {
        "id": "tt0000002",
        "title": "The Empire Strikes Back",
        "imdb_rating": 8.7,
    }
    assert response.json[-1] == {
        "id": "tt0000006",
        "title": "Home Movie",
        "imdb_rating": None,
    }


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-imdb_rating", BY_RATING),
        (
            "imdb_rating",  # ties on id, no rating last either way
            [
                "tt0000004",
                "tt0000005",
                "tt0000003",
                "tt0000001",
                "tt0000002",
                "tt0000006",
            ],
        ),
        (
            "title",
            [
                "tt0000003",
                "tt0000004",
                "tt0000006",
                "tt0000001",
                "tt0000002",
                "tt0000005",
            ],
        ),
        (
            "-title",
            [
                "tt0000005",
                "tt0000002",
                "tt0000001",
                "tt0000006",
                "tt0000004",
                "tt0000003",
            ],
        ),
        (
            "id",
            [
                "tt0000001",
                "tt0000002",
                "tt0000003",
                "tt0000004",
                "tt0000005",
                "tt0000006",
            ],
        ),
        (
            "-id",
            [
                "tt0000006",
                "tt0000005",
                "tt0000004",
                "tt0000003",
                "tt0000002",
                "tt0000001",
            ],
        ),
    ],
)
def test_list_sorts_by_a_field_descending_with_a_minus(api, sort, expected):
    assert ids(api.get(FILMS, query_string={"sort": sort})) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("genre=g-scifi", ["tt0000002", "tt0000001", "tt0000003", "tt0000004"]),
        ("genre=g-scifi&genre=g-adventure", ["tt0000002", "tt0000001"]),
        ("genre=g-horror&genre=g-family", []),
        ("genre=g-unknown", []),
        ("person=p-ford", ["tt0000002", "tt0000001", "tt0000004"]),
        ("person=p-lucas", ["tt0000002", "tt0000001", "tt0000006"]),
        ("person=p-lucas&role=director", ["tt0000001", "tt0000006"]),
        ("person=p-lucas&role=writer", ["tt0000002", "tt0000001"]),
        ("person=p-lucas&role=actor", []),
        ("rating_min=8.5", ["tt0000002", "tt0000001", "tt0000003"]),
        ("rating_max=8.1", ["tt0000004", "tt0000005"]),
        ("rating_min=8.1&rating_max=8.1", ["tt0000004", "tt0000005"]),
        ("rating_min=0", BY_RATING[:-1]),  # a film without rating never passes
        ("rating_min=0&rating_max=10", BY_RATING[:-1]),
        ("genre=g-scifi&person=p-scott&rating_min=8.2", ["tt0000003"]),
    ],
)
def test_list_filters(api, query, expected):
    response = api.get(f"{FILMS}?{query}")

    assert response.status_code == 200
    assert ids(response) == expected
    assert pagination(response)["total"] == len(expected)


def test_list_pages_with_the_pagination_header(api):
    response = api.get(f"{FILMS}?page=2&page_size=2")

    assert ids(response) == ["tt0000003", "tt0000004"]
    assert pagination(response) == pagination_of(2, total=6, total_pages=3)


def test_page_past_the_last_is_empty(api):
    response = api.get(f"{FILMS}?page=4&page_size=2")

    assert response.status_code == 200
    assert response.json == []
    assert pagination(response)["total"] == 6


def test_page_size_of_100_is_allowed(api):
    response = api.get(f"{FILMS}?page_size=100")

    assert ids(response) == BY_RATING


def test_page_beyond_the_result_window_is_422(api):
    assert_beyond_the_result_window(api.get(f"{FILMS}?page=101&page_size=100"))


# --- search -------------------------------------------------------------------------


def test_search_finds_films_by_words_of_their_description(api):
    response = api.get(f"{SEARCH}?query=skywalker")

    assert response.status_code == 200
    assert response.json == [
        {"id": "tt0000001", "title": "Star Wars", "imdb_rating": 8.6}
    ]
    assert pagination(response)["total"] == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("skywalkr", {"tt0000001"}),  # a typo
        ("droid", {"tt0000001"}),  # another form of "droids"
        ("galaxy", {"tt0000001", "tt0000002"}),
        ("harrison ford", {"tt0000001", "tt0000002", "tt0000004"}),
        ("ridley scott", {"tt0000003", "tt0000004"}),  # director names
        ("horror", {"tt0000003"}),  # genre names
    ],
)
def test_search_has_the_morphology_and_typo_tolerance_of_the_legacy_search(
    api, query, expected
):
    response = api.get(SEARCH, query_string={"query": query})

    assert set(ids(response)) == expected
    assert pagination(response)["total"] == len(expected)


def test_search_answers_in_relevance_order_by_default(api):
    response = api.get(f"{SEARCH}?query=star")

    assert ids(response) == ["tt0000001", "tt0000002"]  # title before description


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sort=title", ["tt0000004", "tt0000001", "tt0000002"]),
        ("sort=-imdb_rating", ["tt0000002", "tt0000001", "tt0000004"]),
        ("sort=-id", ["tt0000004", "tt0000002", "tt0000001"]),
        ("genre=g-drama", ["tt0000004"]),
        ("genre=g-action&genre=g-adventure&sort=id", ["tt0000001", "tt0000002"]),
        ("person=p-scott", ["tt0000004"]),
        ("person=p-ford&role=director", []),
        ("rating_min=8.6&sort=id", ["tt0000001", "tt0000002"]),
        ("rating_max=8.5", ["tt0000004"]),
    ],
)
def test_search_takes_the_filters_and_sort_of_the_list(api, query, expected):
    response = api.get(f"{SEARCH}?query=harrison+ford&{query}")

    assert ids(response) == expected


def test_search_pages(api):
    response = api.get(f"{SEARCH}?query=harrison+ford&sort=id&page=2&page_size=2")

    assert ids(response) == ["tt0000004"]
    assert pagination(response) == pagination_of(2, total=3, total_pages=2)


# --- one film -----------------------------------------------------------------------


def test_get_answers_the_film_with_genres_and_people_by_stable_id(api):
    response = api.get(f"{FILMS}/tt0000001")

    assert response.status_code == 200
    assert response.json == {
        "id": "tt0000001",
        "title": "Star Wars",
        "description": "Luke Skywalker joins forces with a Jedi Knight and two"
        " droids to save the galaxy.",
        "imdb_rating": 8.6,
        "genres": [
            {"id": "g-action", "name": "Action"},
            {"id": "g-adventure", "name": "Adventure"},
            {"id": "g-scifi", "name": "Sci-Fi"},
        ],
        "actors": [
            {"id": "p-hamill", "full_name": "Mark Hamill"},
            {"id": "p-ford", "full_name": "Harrison Ford"},
        ],
        "writers": [{"id": "p-lucas", "full_name": "George Lucas"}],
        "directors": [{"id": "p-lucas", "full_name": "George Lucas"}],
    }


def test_get_answers_null_and_empty_lists_for_what_is_missing(api):
    response = api.get(f"{FILMS}/tt0000006")

    assert response.json == {
        "id": "tt0000006",
        "title": "Home Movie",
        "description": None,
        "imdb_rating": None,
        "genres": [],
        "actors": [],
        "writers": [],
        "directors": [{"id": "p-lucas", "full_name": "George Lucas"}],
    }


def test_get_unknown_film_is_404(api):
    response = api.get(f"{FILMS}/tt9999999")

    assert response.status_code == 404
    assert response.json["code"] == 404
    assert response.json["status"] == "Not Found"
    assert "tt9999999" in response.json["message"]


# --- similar films ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("film_id", "expected"),
    [
        ("tt0000003", ["tt0000002", "tt0000001", "tt0000004"]),  # Horror, Sci-Fi
        ("tt0000005", ["tt0000002", "tt0000001"]),  # Adventure, Family
        ("tt0000004", ["tt0000002", "tt0000001", "tt0000003"]),  # Drama, Sci-Fi
        ("tt0000006", []),  # no genres, nothing alike
    ],
)
def test_similar_films_share_a_genre_best_rated_first(api, film_id, expected):
    response = api.get(f"{FILMS}/{film_id}/similar")

    assert response.status_code == 200
    assert ids(response) == expected
    assert all(set(item) == SUMMARY_KEYS for item in response.json)
    assert pagination(response)["total"] == len(expected)


def test_similar_films_page(api):
    response = api.get(f"{FILMS}/tt0000003/similar?page=2&page_size=2")

    assert ids(response) == ["tt0000004"]
    assert pagination(response)["total"] == 3


def test_similar_films_of_an_unknown_film_is_404(api):
    response = api.get(f"{FILMS}/tt9999999/similar")

    assert response.status_code == 404
    assert "tt9999999" in response.json["message"]


# --- invalid arguments -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "parameter", "allowed"),
    [
        (f"{FILMS}?sort=rating", "sort", "id, -id, title, -title, imdb_rating"),
        (f"{FILMS}?sort=--title", "sort", "-imdb_rating"),
        (f"{FILMS}?role=actor", "role", "needs person"),
        (f"{FILMS}?person=p-ford&role=producer", "role", "actor, writer, director"),
        (f"{FILMS}?rating_min=-1", "rating_min", "from 0 to 10"),
        (f"{FILMS}?rating_max=10.5", "rating_max", "from 0 to 10"),
        (f"{FILMS}?rating_min=high", "rating_min", "from 0 to 10"),
        (f"{FILMS}?rating_min=8&rating_max=7", "rating_min", "not exceed rating_max"),
        (f"{FILMS}?page=0", "page", "whole number from 1"),
        (f"{FILMS}?page_size=101", "page_size", "from 1 to 100"),
        (f"{FILMS}?page_size=0", "page_size", "whole number from 1"),
        (SEARCH, "query", "Required"),
        (f"{SEARCH}?query=", "query", "empty or blank"),
        (f"{SEARCH}?query=%20%20", "query", "empty or blank"),
        (f"{SEARCH}?query=the%20of", "query", "too common"),
        (f"{SEARCH}?query=%21%21%21", "query", "punctuation"),
        (f"{SEARCH}?query=star&sort=relevance", "sort", "imdb_rating"),
        (f"{SEARCH}?query=star&role=writer", "role", "needs person"),
        (f"{SEARCH}?query=star&page_size=500", "page_size", "100"),
        (f"{FILMS}/tt0000001/similar?page=-1", "page", "whole number from 1"),
        (f"{FILMS}/tt0000001/similar?page_size=101", "page_size", "100"),
    ],
)
def test_invalid_argument_is_422_naming_it_and_what_is_allowed(
    client, path, parameter, allowed
):
    assert_refused_argument(client.get(path), parameter, allowed)


# --- search engine down ------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [FILMS, f"{SEARCH}?query=star", f"{FILMS}/tt0000001", f"{FILMS}/tt0000001/similar"],
)
def test_search_engine_down_is_a_quick_503_with_retry_after(unreachable_client, path):
    response = get_503(unreachable_client, path)

    assert response.json["code"] == 503


# --- caching -----------------------------------------------------------------------


def test_answers_are_cached_until_the_etl_changes_the_data(search_app):
    build_from_legacy(search_app)
    counting = search_app.extensions["search"] = CountingReader(get_search())
    client = search_app.test_client()
    paths = [
        FILMS,
        f"{SEARCH}?query=alien",
        f"{FILMS}/tt0000002",
        f"{FILMS}/tt0000002/similar",
    ]

    first = [client.get(path) for path in paths]
    second = [client.get(path) for path in paths]

    assert counting.calls == 5  # the similar films read the film, then search
    assert [r.data for r in second] == [r.data for r in first]
    assert second[0].headers["X-Pagination"] == first[0].headers["X-Pagination"]

    conn = connect(search_app.config["DATABASE_PATH"])
    with conn:
        conn.execute("UPDATE film SET title = 'Aliens' WHERE id = 'tt0000002'")
    conn.close()
    run_cli(search_app, "etl", "run")

    assert client.get(f"{FILMS}/tt0000002").json["title"] == "Aliens"
    assert "Aliens" in client.get(FILMS).get_data(as_text=True)


# --- documentation -----------------------------------------------------------------

# The list's parameters; the search takes these and its text.
LIST_PARAMETERS = {
    "genre",
    "person",
    "role",
    "rating_min",
    "rating_max",
    "sort",
    "page",
    "page_size",
}


@pytest.mark.parametrize(
    ("path", "parameters", "statuses"),
    [
        (FILMS, LIST_PARAMETERS, {"200", "304", "422", "503"}),
        (SEARCH, {"query", *LIST_PARAMETERS}, {"200", "304", "422", "503"}),
        (f"{FILMS}/{{film_id}}", {"film_id"}, {"200", "304", "404", "503"}),
        (
            f"{FILMS}/{{film_id}}/similar",
            {"film_id", "page", "page_size"},
            {"200", "304", "404", "422", "503"},
        ),
    ],
)
def test_spec_documents_every_films_path(client, path, parameters, statuses):
    operation = client.get("/openapi.json").json["paths"][path]["get"]

    assert operation["summary"]
    assert spec_parameters(client, path) == parameters
    assert statuses <= set(operation["responses"])
    assert "Retry-After" in operation["responses"]["503"]["headers"]


def test_spec_documents_sort_values_and_the_page_size_cap(client):
    parameters = {
        p["name"]: p
        for p in client.get("/openapi.json").json["paths"][FILMS]["get"]["parameters"]
        if "name" in p
    }

    assert parameters["sort"]["schema"]["enum"] == [
        "id",
        "-id",
        "title",
        "-title",
        "imdb_rating",
        "-imdb_rating",
    ]
    assert parameters["sort"]["schema"]["default"] == "-imdb_rating"
    assert parameters["role"]["schema"]["enum"] == ["actor", "writer", "director"]
    assert parameters["page_size"]["schema"]["maximum"] == 100
    assert parameters["genre"]["schema"]["type"] == "array"


@pytest.mark.parametrize("path", ["/api/v1/films/search", "/api/v1/persons/search"])
def test_search_text_longer_than_the_limit_is_refused(client, path):
    response = client.get(path, query_string={"query": "word " * 41})

    assert response.status_code == 422
    message = response.json["errors"]["query"]["query"][0]
    assert "at most 200 characters" in message


@pytest.mark.parametrize("path", ["/api/v1/films/search", "/api/v1/persons/search"])
def test_the_limit_counts_the_search_text_as_sent(client, path):
    # As the spec's maxLength does (and the legacy API's search): white space too.
    response = client.get(path, query_string={"query": "star" + " " * 200})

    assert response.status_code == 422
    message = response.json["errors"]["query"]["query"][0]
    assert "at most 200 characters long; got 204" in message


@pytest.fixture
def shallow_api(search_config, db_path):
    """The small catalogue behind a result window of 4 films."""
    app = make_test_app(db_path, MAX_RESULT_WINDOW=4, **search_config)
    with app.app_context():
        load_catalogue(get_indexer())
    yield app.test_client()
    if search_config.get("ELASTICSEARCH_URL"):
        drop_indices(
            search_config["ELASTICSEARCH_URL"],
            search_config["ELASTICSEARCH_INDEX_PREFIX"],
        )


@pytest.mark.parametrize("path", [FILMS, "/api/v1/video/collection"])
def test_the_pagination_header_offers_no_page_beyond_the_window(shallow_api, path):
    size = "page_size" if path == FILMS else "limit"
    third = pagination(shallow_api.get(f"{path}?page=3&{size}=1"))
    fourth = pagination(shallow_api.get(f"{path}?page=4&{size}=1"))
    fifth = shallow_api.get(f"{path}?page=5&{size}=1")

    # Every match is counted; the last page offered is the deepest served.
    assert (third["total"], third["total_pages"], third["last_page"]) == (6, 6, 4)
    assert third["next_page"] == 4
    assert fourth["last_page"] == 4
    assert "next_page" not in fourth
    assert fifth.status_code == 422


def test_the_search_route_allows_only_its_own_methods(client):
    response = client.options("/api/v1/films/search")

    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
