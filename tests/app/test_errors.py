"""One JSON error shape for every 4xx and 5xx, and a request id on every answer."""

import logging
import sqlite3
import uuid

import pytest

from catalogue.search import ResultWindowExceeded, SearchUnavailable
from catalogue.search.embedded.layout import NOT_BUILT
from tests.settings import make_test_app

SHAPE = {"code", "status", "message", "errors"}


@pytest.fixture
def failing_app(db_path):
    """An app with routes that fail in ways no real route should."""
    app = make_test_app(db_path)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail /etc/passwd")

    @app.get("/too-deep")
    def too_deep():
        raise ResultWindowExceeded("offset 20000 + limit 50 > 10000")

    return app


def test_unknown_route_is_404_in_the_error_shape(client):
    response = client.get("/no/such/thing")

    assert response.status_code == 404
    assert response.is_json
    assert set(response.json) == SHAPE
    assert response.json["code"] == 404
    assert response.json["status"] == "Not Found"
    assert response.json["message"]


def test_wrong_method_is_405_in_the_error_shape_with_allow(client):
    response = client.delete("/healthz")

    assert response.status_code == 405
    assert set(response.json) == SHAPE
    assert response.json["status"] == "Method Not Allowed"
    assert "GET" in response.json["message"]
    assert "GET" in response.headers["Allow"]


def test_invalid_parameter_is_422_naming_the_parameter(client):
    response = client.get("/api/v1/video/collection?limit=500&sort=nope")

    assert response.status_code == 422
    assert set(response.json) == SHAPE
    assert response.json["errors"]["query"].keys() == {"sort"}
    assert "sort" in response.json["message"]


def test_unhandled_exception_is_500_without_a_trace_and_logged_with_the_id(
    failing_app, caplog
):
    with caplog.at_level(logging.ERROR):
        response = failing_app.test_client().get("/boom")

    assert response.status_code == 500
    assert set(response.json) == SHAPE
    assert response.json["status"] == "Internal Server Error"
    body = response.get_data(as_text=True)
    assert "Traceback" not in body
    assert "secret detail" not in body
    request_id = response.headers["X-Request-ID"]
    assert request_id in response.json["message"]
    logged = [record for record in caplog.records if request_id in record.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info[0] is RuntimeError


def test_result_window_from_the_backend_is_422(failing_app):
    response = failing_app.test_client().get("/too-deep")

    assert response.status_code == 422
    assert set(response.json) == SHAPE
    assert "page" in response.json["errors"]["query"]


@pytest.mark.parametrize(
    "path", ["/healthz", "/no/such/thing", "/api/v1/video/collection?page=0"]
)
def test_every_answer_carries_a_request_id(client, path):
    response = client.get(path)

    assert uuid.UUID(response.headers["X-Request-ID"]).version == 4


def test_each_request_gets_its_own_id(client):
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(3)}

    assert len(ids) == 3


@pytest.mark.parametrize(
    "incoming", ["abc-123", "0f8fad5b-d9cb-469f-a165-70867728950e", "a" * 128]
)
def test_a_valid_incoming_request_id_is_kept(client, incoming):
    response = client.get("/no/such/thing", headers={"X-Request-ID": incoming})

    assert response.headers["X-Request-ID"] == incoming


@pytest.mark.parametrize(
    "incoming", ["a" * 129, "has space", "<script>", "semi;colon", "-leading-dash", ""]
)
def test_an_unsafe_incoming_request_id_is_replaced(client, incoming):
    response = client.get("/healthz", headers={"X-Request-ID": incoming})

    assert uuid.UUID(response.headers["X-Request-ID"]).version == 4


def test_search_failures_are_logged_once_a_pause_for_each_cause(db_path, caplog):
    app = make_test_app(db_path)
    causes = {
        "not-built": lambda: SearchUnavailable(NOT_BUILT),
        "corrupt": lambda: _caused_by(sqlite3.DatabaseError("file is not a database")),
    }

    @app.get("/search-fails/<cause>")
    def search_fails(cause):
        raise causes[cause]()

    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        answers = [
            client.get(f"/search-fails/{cause}").status_code
            for cause in ("not-built", "not-built", "corrupt", "corrupt", "not-built")
        ]

    assert answers == [503] * 5
    warned = [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(warned) == 2
    assert "not built" in warned[0]
    assert "file is not a database" in warned[1]


def _caused_by(exc):
    """The SearchUnavailable the embedded index raises for a SQLite failure."""
    try:
        raise SearchUnavailable(f"embedded search index failed: {exc}") from exc
    except SearchUnavailable as error:
        return error
