"""The legacy video API: /api/v1/video/collection and /api/v1/video/get/<id>."""

import pytest
from flask_smorest.pagination import PaginationParameters

from app.resources.video.pagination import last_page
from tests.app.resources.catalogue import (
    ACTION,
    FORD,
    HAMILL,
    LUCAS,
    SCIFI,
    assert_beyond_the_result_window,
    assert_refused_argument,
    get_503,
    ids,
    load_catalogue,
)
from tests.documents import film
from tests.fixtures.search import BACKENDS, real_legacy_app

COLLECTION = "/api/v1/video/collection"
SUMMARY_KEYS = {"id", "title", "imdb_rating"}
DETAIL_KEYS = {
    "id",
    "title",
    "description",
    "imdb_rating",
    "writers",
    "actors",
    "genre",
    "director",
}


FILMS = [
    film(
        "tt0000001",
        "Star Wars",
        8.6,
        "Luke Skywalker joins the rebellion.",
        genres=(ACTION, SCIFI),
        directors=(LUCAS,),
        actors=(HAMILL, FORD),
        writers=(LUCAS,),
    ),
    film("tt0000002", "The Empire Strikes Back", 8.7),
    film("tt0000003", "Alien", description="In space no one hears you."),
    film("tt0000004", "Blade Runner", 8.1),
    film("tt0000005", "Zorro and the Star", 5.0, "A masked hero follows a star."),
]


@pytest.fixture
def api(search_app, indexer):
    """A client of the app under test, its backend holding FILMS."""
    load_catalogue(indexer, FILMS)
    return search_app.test_client()


def links(response):
    """The Link header as ``{rel: url}``."""
    result = {}
    for part in response.headers["Link"].split(", "):
        url, rel = part.split("; ")
        result[rel.removeprefix('rel="').removesuffix('"')] = url.strip("<>")
    return result


# --- the collection ------------------------------------------------------------


def test_collection_lists_films_by_id_with_total_and_links(api):
    response = api.get(COLLECTION)

    assert response.status_code == 200
    assert ids(response) == [film["id"] for film in FILMS]
    assert all(set(item) == SUMMARY_KEYS for item in response.json)
    assert response.json[0] == {
        "id": "tt0000001",
        "title": "Star Wars",
        "imdb_rating": 8.6,
    }
    assert response.json[2]["imdb_rating"] is None
    assert response.headers["X-Total-Count"] == "5"
    assert links(response) == {
        "first": f"{COLLECTION}?page=1",
        "last": f"{COLLECTION}?page=1",
    }


def test_collection_pages_with_limit_and_page(api):
    response = api.get(f"{COLLECTION}?limit=2&page=2&sort_order=asc")

    assert ids(response) == ["tt0000003", "tt0000004"]
    assert response.headers["X-Total-Count"] == "5"
    assert links(response) == {
        "first": f"{COLLECTION}?limit=2&page=1&sort_order=asc",
        "prev": f"{COLLECTION}?limit=2&page=1&sort_order=asc",
        "next": f"{COLLECTION}?limit=2&page=3&sort_order=asc",
        "last": f"{COLLECTION}?limit=2&page=3&sort_order=asc",
    }


def test_page_past_the_last_is_empty(api):
    response = api.get(f"{COLLECTION}?limit=2&page=9")

    assert response.status_code == 200
    assert response.json == []
    assert response.headers["X-Total-Count"] == "5"
    assert links(response)["prev"] == f"{COLLECTION}?limit=2&page=3"
    assert "next" not in links(response)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "sort=title",
            ["tt0000003", "tt0000004", "tt0000001", "tt0000002", "tt0000005"],
        ),
        (
            "sort=title&sort_order=desc",
            ["tt0000005", "tt0000002", "tt0000001", "tt0000004", "tt0000003"],
        ),
        (
            "sort=imdb_rating&sort_order=desc",
            ["tt0000002", "tt0000001", "tt0000004", "tt0000005", "tt0000003"],
        ),
        (
            "sort=imdb_rating",
            ["tt0000005", "tt0000004", "tt0000001", "tt0000002", "tt0000003"],
        ),
        (
            "sort=id&sort_order=desc",
            ["tt0000005", "tt0000004", "tt0000003", "tt0000002", "tt0000001"],
        ),
    ],
)
def test_collection_sorts(api, query, expected):
    assert ids(api.get(f"{COLLECTION}?{query}")) == expected


def test_search_finds_films_by_text(api):
    response = api.get(f"{COLLECTION}?search=skywalker")

    assert ids(response) == ["tt0000001"]
    assert response.headers["X-Total-Count"] == "1"
    assert links(response)["first"] == f"{COLLECTION}?search=skywalker&page=1"


def test_search_without_sort_answers_every_match(api):
    response = api.get(f"{COLLECTION}?search=star")

    assert set(ids(response)) == {"tt0000001", "tt0000005"}
    assert response.headers["X-Total-Count"] == "2"


def test_search_with_sort_answers_in_that_order(api):
    response = api.get(f"{COLLECTION}?search=star&sort=title&sort_order=desc")

    assert ids(response) == ["tt0000005", "tt0000001"]


def test_search_matches_misspelt_words(api):
    assert ids(api.get(f"{COLLECTION}?search=skywalkr")) == ["tt0000001"]


@pytest.mark.parametrize("search", ["", "   "])
def test_empty_search_means_no_search(api, search):
    response = api.get(COLLECTION, query_string={"search": search})

    assert ids(response) == [film["id"] for film in FILMS]


def test_search_for_na_never_shows_na(api):
    response = api.get(f"{COLLECTION}?search=N/A")

    assert response.status_code == 200
    assert b"N/A" not in response.data


def test_page_beyond_the_result_window_is_refused(api):
    assert_beyond_the_result_window(api.get(f"{COLLECTION}?limit=100&page=101"))


def test_last_link_stays_within_the_result_window(app):
    with app.test_request_context(f"{COLLECTION}?limit=100"):
        deep = PaginationParameters(page=1, page_size=100)
        deep.item_count = 20_000
        shallow = PaginationParameters(page=1, page_size=100)
        shallow.item_count = 250

        assert last_page(deep) == 100  # MAX_RESULT_WINDOW / limit
        assert last_page(shallow) == 3


# --- one film ---------------------------------------------------------------------


def test_get_answers_the_legacy_fields_exactly(api):
    response = api.get("/api/v1/video/get/tt0000001")

    assert response.status_code == 200
    assert response.json == {
        "id": "tt0000001",
        "title": "Star Wars",
        "description": "Luke Skywalker joins the rebellion.",
        "imdb_rating": 8.6,
        "writers": [{"id": "0b60f2f3" + "0" * 32, "name": "George Lucas"}],
        "actors": [
            {"id": 1, "name": "Mark Hamill"},
            {"id": 2, "name": "Harrison Ford"},
        ],
        "genre": ["Action", "Sci-Fi"],
        "director": ["George Lucas"],
    }


def test_get_answers_null_and_empty_lists_for_what_is_missing(api):
    response = api.get("/api/v1/video/get/tt0000002")

    assert set(response.json) == DETAIL_KEYS
    assert response.json["description"] is None
    assert response.json["writers"] == response.json["actors"] == []
    assert response.json["genre"] == response.json["director"] == []


def test_get_unknown_id_is_404_in_the_error_shape(api):
    response = api.get("/api/v1/video/get/tt9999999")

    assert response.status_code == 404
    assert response.json["code"] == 404
    assert response.json["status"] == "Not Found"
    assert "tt9999999" in response.json["message"]


# --- invalid arguments -------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "parameter", "allowed"),
    [
        ("limit=-1", "limit", "1 to 100"),
        ("limit=0", "limit", "1 to 100"),
        ("limit=101", "limit", "1 to 100"),
        ("limit=ten", "limit", "1 to 100"),
        ("limit=1.5", "limit", "1 to 100"),
        ("page=0", "page", "from 1"),
        ("page=-3", "page", "from 1"),
        ("page=two", "page", "from 1"),
        ("sort=rating", "sort", "id, title, imdb_rating"),
        ("sort_order=up", "sort_order", "asc, desc"),
    ],
)
def test_invalid_argument_is_422_naming_it_and_what_is_allowed(
    client, query, parameter, allowed
):
    assert_refused_argument(client.get(f"{COLLECTION}?{query}"), parameter, allowed)


def test_collection_refuses_post_with_405(client):
    response = client.post(COLLECTION)

    assert response.status_code == 405
    assert response.json["code"] == 405
    assert "GET" in response.headers["Allow"]


# --- search engine down ------------------------------------------------------------


@pytest.mark.parametrize("path", [COLLECTION, "/api/v1/video/get/tt0076759"])
def test_search_engine_down_is_a_quick_503_with_retry_after(unreachable_client, path):
    response = get_503(unreachable_client, path)

    assert response.json["code"] == 503
    assert response.json["status"] == "Service Unavailable"
    assert "Traceback" not in response.get_data(as_text=True)


# --- the real legacy data, through migrate and ETL ---------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def legacy_client(request, tmp_path_factory):
    """A client of an app on the real legacy file, migrated and indexed."""
    with real_legacy_app(request, tmp_path_factory) as (app, _):
        yield app.test_client()


def test_legacy_star_wars_keeps_its_ids_and_order(legacy_client):
    response = legacy_client.get("/api/v1/video/get/tt0076759")

    assert response.status_code == 200
    film = response.json
    assert set(film) == DETAIL_KEYS
    assert film["title"] == "Star Wars: Episode IV - A New Hope"
    assert film["imdb_rating"] == 8.6
    assert film["genre"] == ["Action", "Adventure", "Fantasy", "Sci-Fi"]
    assert film["director"] == ["George Lucas"]
    assert film["writers"] == [
        {"id": "0b60f2f348adc2f668a9a090165e24f3d3a7cf5a", "name": "George Lucas"}
    ]
    assert film["actors"] == [
        {"id": 1, "name": "Mark Hamill"},
        {"id": 2, "name": "Harrison Ford"},
        {"id": 3, "name": "Carrie Fisher"},
        {"id": 4, "name": "Peter Cushing"},
    ]


def test_legacy_misspelt_skywalker_finds_the_skywalker_films(legacy_client):
    response = legacy_client.get(f"{COLLECTION}?search=skywalkr&limit=100")

    found = set(ids(response))
    assert {"tt0076759", "tt0080684", "tt0086190", "tt2527338"} <= found
    assert int(response.headers["X-Total-Count"]) == len(found)


def test_legacy_collection_is_in_id_order(legacy_client):
    response = legacy_client.get(f"{COLLECTION}?limit=100")

    assert response.headers["X-Total-Count"] == "999"
    assert ids(response) == sorted(ids(response))
    assert len(response.json) == 100


@pytest.mark.parametrize(
    "path",
    [
        f"{COLLECTION}?search=N/A&limit=100",
        f"{COLLECTION}?search=N/A&sort=imdb_rating&limit=100",
        f"{COLLECTION}?sort=imdb_rating&sort_order=desc&limit=100&page=10",
        f"{COLLECTION}?sort=title&limit=100",
    ],
)
def test_legacy_answers_never_show_na(legacy_client, path):
    response = legacy_client.get(path)

    assert response.status_code == 200
    assert b"N/A" not in response.data


def test_legacy_na_plot_and_rating_become_null(legacy_client):
    # The legacy file has plot 'N/A' on tt0456980 and imdb_rating 'N/A' on tt4979886.
    no_plot = legacy_client.get("/api/v1/video/get/tt0456980")
    no_rating = legacy_client.get("/api/v1/video/get/tt4979886")

    assert no_plot.json["description"] is None
    assert no_rating.json["imdb_rating"] is None
    assert b"N/A" not in no_plot.data + no_rating.data


def test_search_longer_than_the_limit_is_refused(client):
    response = client.get(
        "/api/v1/video/collection", query_string={"search": "x" * 201}
    )

    assert response.status_code == 422
    assert response.json["errors"]["query"]["search"] == [
        "search must be at most 200 characters long."
    ]


def test_a_film_s_title_as_typed_comes_before_typo_matches(legacy_client):
    response = legacy_client.get("/api/v1/video/collection?search=Star%20Wars&limit=5")

    titles = [film["title"] for film in response.json]
    assert titles[0].startswith("Star Wars"), titles
