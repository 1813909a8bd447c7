"""The OpenAPI spec at /openapi.json, Swagger UI at /docs, and the DOCS_ONLY mode."""

import re
import sys

import pytest

from app.resources.arguments import NOT_BLANK_PATTERN
from tests.settings import make_test_app

OPERATIONS = {
    "/api/v1/video/collection": "get",
    "/api/v1/video/get/{video_id}": "get",
    "/api/v1/films": "get",
    "/api/v1/films/search": "get",
    "/api/v1/films/{film_id}": "get",
    "/api/v1/films/{film_id}/similar": "get",
    "/api/v1/genres": "get",
    "/api/v1/genres/{genre_id}": "get",
    "/api/v1/persons/search": "get",
    "/api/v1/persons/{person_id}": "get",
    "/api/v1/persons/{person_id}/films": "get",
    "/client/info": "get",
    "/healthz": "get",
    "/readyz": "get",
    "/register/": "post",
    "/login/": "post",
    "/token/refresh/": "post",
    "/logout/": "post",
    "/request-count/": "get",
    "/request-count/reset/": "post",
    "/movies/": "get",
    "/collection/": ["get", "post"],
    "/collection/{collection_uuid}/": ["get", "put", "delete"],
    "/api/v1/reports": "get",
    "/api/v1/reports/{job_id}": "get",
    "/api/v1/reports/{job_id}/results": "get",
    "/api/v1/reports/{job_id}/results.csv": "get",
    "/api/v1/report-types": "get",
}
# The operations that need a bearer token; every other one is public.
SIGNED_IN = {
    "/token/refresh/",
    "/logout/",
    "/request-count/",
    "/request-count/reset/",
    "/movies/",
    "/collection/",
    "/collection/{collection_uuid}/",
    "/api/v1/reports",
    "/api/v1/reports/{job_id}",
    "/api/v1/reports/{job_id}/results",
    "/api/v1/reports/{job_id}/results.csv",
    "/api/v1/report-types",
}


def operations():
    """Every documented operation, as ``(path, method)``."""
    for path, methods in OPERATIONS.items():
        for method in [methods] if isinstance(methods, str) else methods:
            yield path, method


# What admins write: (path, method) -> the answer on success.
ADMIN_WRITES = {
    ("/api/v1/films", "post"): "201",
    ("/api/v1/films/{film_id}", "patch"): "200",
    ("/api/v1/films/{film_id}", "delete"): "204",
    ("/api/v1/genres", "post"): "201",
    ("/api/v1/genres/{genre_id}", "patch"): "200",
    ("/api/v1/genres/{genre_id}", "delete"): "204",
}


@pytest.fixture
def spec(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json


def test_spec_is_openapi_3_with_every_endpoint(spec):
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "Movie catalogue"
    assert set(spec["paths"]) == set(OPERATIONS)
    for path, method in operations():
        operation = spec["paths"][path][method]
        assert operation["summary"], path
        assert {"200", "201", "204"} & set(operation["responses"]), path


OPTIONAL_TOKEN = {"/readyz"}


def test_spec_says_which_operations_need_a_token(spec):
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == (
        "http",
        "bearer",
        "JWT",
    )
    for path, method in operations():
        operation = spec["paths"][path][method]
        if path in SIGNED_IN:
            assert operation["security"] == [{"bearerAuth": []}], path
            assert "401" in operation["responses"], path
            assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
        elif path in OPTIONAL_TOKEN:
            # Anyone may call it; an admin's token shows more.
            assert operation["security"] == [{}, {"bearerAuth": []}], path
            assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
        else:
            assert "security" not in operation, path


@pytest.mark.parametrize(("path", "method"), list(ADMIN_WRITES))
def test_spec_documents_each_admin_write_and_its_security(spec, path, method):
    operation = spec["paths"][path][method]
    responses = operation["responses"]
    success = ADMIN_WRITES[path, method]

    assert operation["summary"].endswith("(admins only).")
    assert operation["security"] == [{"bearerAuth": []}]
    assert "WWW-Authenticate" in responses["401"]["headers"]
    assert "403" in responses
    assert "X-Indexing" in responses[success]["headers"]
    if success == "201":
        assert "Location" in responses[success]["headers"]
    if method != "delete":
        assert {"413", "422"} <= set(responses)
        assert "requestBody" in operation
    if method != "post":
        assert {"404", "412"} <= set(responses)
        names = [p.get("name") for p in operation.get("parameters", [])]
        assert "If-Match" in names
    if path.startswith("/api/v1/genres") and method != "delete":
        assert "409" in responses


def test_spec_states_the_rules_of_a_film_write(spec):
    schema = spec["components"]["schemas"]["FilmWrite"]["properties"]

    assert schema["title"]["maxLength"] == 500
    assert (schema["imdb_rating"]["minimum"], schema["imdb_rating"]["maximum"]) == (
        0,
        10,
    )
    assert schema["genres"]["maxItems"] == 100
    assert schema["actors"]["maxItems"] == 500


def test_spec_documents_the_collection(spec):
    operation = spec["paths"]["/api/v1/video/collection"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"] if "name" in p}

    assert {"limit", "page", "sort", "sort_order", "search"} <= set(parameters)
    assert parameters["limit"]["schema"]["maximum"] == 100
    assert parameters["sort"]["schema"]["enum"] == ["id", "title", "imdb_rating"]
    assert {"200", "304", "422", "503"} <= set(operation["responses"])
    headers = operation["responses"]["200"]["headers"]
    assert {"X-Total-Count", "Link", "ETag", "Cache-Control", "X-Request-ID"} <= set(
        headers
    )
    assert "Retry-After" in operation["responses"]["503"]["headers"]


def test_spec_documents_errors_of_one_film(spec):
    responses = spec["paths"]["/api/v1/video/get/{video_id}"]["get"]["responses"]

    assert {"200", "404", "503"} <= set(responses)
    error = responses["404"]["content"]["application/json"]["schema"]["$ref"]
    assert error.endswith("/Error")
    assert set(spec["components"]["schemas"]["Error"]["properties"]) == {
        "code",
        "status",
        "message",
        "errors",
    }


def test_swagger_ui_loads_its_files_from_this_server(client):
    page = client.get("/docs")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets
    for asset in assets:
        assert asset.startswith("/docs/static/"), asset
        assert client.get(asset).status_code == 200, asset
    assert "/openapi.json" in html


@pytest.fixture
def docs_only_client(tmp_path):
    app = make_test_app(
        tmp_path / "absent" / "movies.sqlite",
        DOCS_ONLY=True,
        ELASTICSEARCH_URL="http://127.0.0.1:9",
        REDIS_URL="redis://127.0.0.1:9/0",
    )
    return app.test_client()


@pytest.mark.parametrize("docs_app", ["full", "docs only"])
def test_docs_with_a_trailing_slash_lead_to_swagger_ui(
    docs_app, client, docs_only_client
):
    chosen = client if docs_app == "full" else docs_only_client

    response = chosen.get("/docs/")

    assert response.status_code == 308
    assert response.headers["Location"] == "/docs"
    assert chosen.get("/docs/", follow_redirects=True).status_code == 200


def test_docs_only_serves_the_spec_and_swagger_ui(docs_only_client, tmp_path):
    assert docs_only_client.get("/openapi.json").status_code == 200
    assert docs_only_client.get("/docs").status_code == 200
    assert docs_only_client.get("/docs/static/swagger-ui-bundle.js").status_code == 200
    assert docs_only_client.get("/healthz").status_code == 200
    assert not (tmp_path / "absent").exists()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/video/collection",
        "/api/v1/video/get/tt0076759",
        "/api/v1/films",
        "/api/v1/genres",
        "/api/v1/persons/search?query=lucas",
        "/client/info",
        "/readyz",
    ],
)
def test_docs_only_serves_nothing_else(docs_only_client, tmp_path, path):
    response = docs_only_client.get(path)

    assert response.status_code == 404
    assert "documentation" in response.json["message"]
    assert not (tmp_path / "absent").exists()


def test_the_description_says_what_the_server_refuses_before_the_api(spec):
    description = spec["info"]["description"]
    for answer in ("`414`", "`431`", "`400`", "4,094", "8,190"):
        assert answer in description


@pytest.mark.parametrize("path", ["/api/v1/films/search", "/api/v1/persons/search"])
def test_the_spec_states_the_rules_of_a_search_text(spec, path):
    parameters = {
        p["name"]: p for p in spec["paths"][path]["get"]["parameters"] if "name" in p
    }
    rules = parameters["query"]["schema"]

    assert (rules["minLength"], rules["maxLength"]) == (1, 200)
    assert rules["pattern"] == NOT_BLANK_PATTERN
    assert parameters["query"]["required"] is True
    assert "MAX_RESULT_WINDOW" in parameters["page"]["description"]


def test_spec_documents_the_movies_and_their_failures(spec):
    operation = spec["paths"]["/movies/"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"] if "name" in p}

    assert parameters["page"]["schema"]["minimum"] == 1
    assert {"200", "401", "404", "422", "502", "503", "504"} <= set(
        operation["responses"]
    )
    for status in ("502", "503", "504"):
        assert "Retry-After" in operation["responses"][status]["headers"], status


def test_spec_documents_the_collections(spec):
    collection = spec["paths"]["/collection/{collection_uuid}/"]
    for method in ("get", "put", "delete"):
        assert {"401", "404"} <= set(collection[method]["responses"]), method
    assert "204" in collection["delete"]["responses"]
    assert "422" in collection["put"]["responses"]
    assert "201" in spec["paths"]["/collection/"]["post"]["responses"]
    assert "422" in spec["paths"]["/collection/"]["post"]["responses"]
    parameter = next(
        p for p in collection["parameters"] if p.get("name") == "collection_uuid"
    )
    assert parameter["schema"] == {"type": "string", "format": "uuid"}


PAGED = [
    "/api/v1/video/collection",
    "/api/v1/films",
    "/api/v1/films/search",
    "/api/v1/films/{film_id}/similar",
    "/api/v1/genres",
    "/api/v1/persons/search",
    "/api/v1/persons/{person_id}/films",
]


@pytest.mark.parametrize("path", PAGED)
def test_the_spec_states_the_deepest_page_that_can_be_served(spec, path):
    parameters = {
        p["name"]: p for p in spec["paths"][path]["get"]["parameters"] if "name" in p
    }

    assert parameters["page"]["schema"]["minimum"] == 1
    assert parameters["page"]["schema"]["maximum"] == 10_000


def test_the_deepest_page_follows_the_result_window(make_app):
    spec = make_app(MAX_RESULT_WINDOW=500).test_client().get("/openapi.json").json
    page = next(
        p
        for p in spec["paths"]["/api/v1/films"]["get"]["parameters"]
        if p["name"] == "page"
    )

    assert page["schema"]["maximum"] == 500


@pytest.mark.parametrize("path", PAGED)
def test_a_page_past_the_stated_deepest_is_refused(client, path):
    path = path.replace("{film_id}", "00000000-0000-0000-0000-000000000000")
    path = path.replace("{person_id}", "00000000-0000-0000-0000-000000000000")
    extra = "&query=star" if path.endswith("/search") else ""
    size = "limit" if "/video/" in path else "page_size"

    response = client.get(f"{path}?page=10001&{size}=1{extra}")

    assert response.status_code == 422


def _parameters(spec, path):
    return {
        p["name"]: p for p in spec["paths"][path]["get"]["parameters"] if "name" in p
    }


@pytest.mark.parametrize("path", ["/api/v1/films/search", "/api/v1/persons/search"])
def test_the_spec_says_a_search_text_needs_a_word_to_search_for(spec, path):
    description = _parameters(spec, path)["query"]["description"]

    assert "too common to search for" in description
    assert "punctuation" in description


@pytest.mark.parametrize("path", ["/api/v1/films", "/api/v1/films/search"])
def test_the_spec_states_the_rules_over_two_film_filters(spec, path):
    parameters = _parameters(spec, path)

    assert "Without `person` the answer is 422" in parameters["role"]["description"]
    assert "rating_min above rating_max" in parameters["rating_min"]["description"]


@pytest.mark.parametrize(("path", "method"), list(operations()))
def test_every_operation_documents_the_http_servers_own_refusals(spec, path, method):
    responses = spec["paths"][path][method]["responses"]

    for status in ("400", "414", "431"):
        assert "text/html" in responses[status]["content"], status
        assert "HTTP server's own refusal" in responses[status]["description"]
    assert "X-Request-ID" not in responses["414"].get("headers", {})
    # A 400 may be the API's own too: a body it cannot read.
    assert "application/json" in responses["400"]["content"]


def test_a_body_that_is_not_json_answers_the_documented_400(client, spec):
    response = client.post(
        "/login/", data=b"\x00", headers={"Content-Type": "application/json"}
    )
    documented = spec["paths"]["/login/"]["post"]["responses"]["400"]

    assert response.status_code == 400
    assert response.mimetype in documented["content"]
    assert response.json["code"] == 400


def test_a_film_s_texts_state_that_they_need_a_character_that_is_not_white_space(
    client,
):
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    film = schemas["FilmWrite"]["properties"]

    assert film["title"]["pattern"] == NOT_BLANK_PATTERN
    assert film["directors"]["items"]["pattern"] == NOT_BLANK_PATTERN
    assert schemas["GenreWrite"]["properties"]["name"]["pattern"] == NOT_BLANK_PATTERN


def test_the_spec_s_not_blank_pattern_refuses_what_the_service_strips_as_blank():
    blank = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    passing = [
        chr(c)
        for c in range(sys.maxunicode + 1)
        if re.search(NOT_BLANK_PATTERN, chr(c))
    ]

    assert len(passing) + len(blank) == sys.maxunicode + 1
    assert not set(passing) & set(blank)
    assert "\x85" in blank and "\x1e" in blank  # white space to Python, not to \S
