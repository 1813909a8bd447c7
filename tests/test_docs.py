"""The OpenAPI spec at /openapi.json, Swagger UI at /docs, and the DOCS_ONLY mode."""

import re

import pytest

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
    "/api/v1/reports",
    "/api/v1/reports/{job_id}",
    "/api/v1/reports/{job_id}/results",
    "/api/v1/reports/{job_id}/results.csv",
    "/api/v1/report-types",
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
    for path, method in OPERATIONS.items():
        operation = spec["paths"][path][method]
        assert operation["summary"], path
        assert {"200", "201"} & set(operation["responses"]), path


def test_spec_says_which_operations_need_a_token(spec):
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == (
        "http",
        "bearer",
        "JWT",
    )
    for path, method in OPERATIONS.items():
        operation = spec["paths"][path][method]
        if path in SIGNED_IN:
            assert operation["security"] == [{"bearerAuth": []}], path
            assert "401" in operation["responses"], path
            assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
        else:
            assert "security" not in operation, path


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

    assert (rules["minLength"], rules["maxLength"], rules["pattern"]) == (1, 200, r"\S")
    assert parameters["query"]["required"] is True
    assert "MAX_RESULT_WINDOW" in parameters["page"]["description"]
