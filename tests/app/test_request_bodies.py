"""Bodies and ids that Python reads but no view can use: each a 4xx, never a 500.

A JSON body nested 100,000 deep, a number of 4,300 digits or more, an escaped
lone surrogate or an escaped NUL in a text, on every operation that takes a JSON body; a job id
beyond SQLite's integers on every report route.
"""

import json
import uuid

import pytest

from app import request_bodies
from tests.fixtures.accounts import bearer, make_account

SHAPE = {"code", "status", "message", "errors"}
DEEP = "[" * 100_000 + "]" * 100_000
HUGE = "1" + "0" * 4_400


def _register(name):
    return {"username": name, "password": "correct horse battery"}


# Each JSON-body operation and a body it accepts, as text, with a place for a
# hostile value (``@``: a string, ``#``: a number).
OPERATIONS = [
    ("POST", "/register/", None, '{"username": "zoe", "password": @}'),
    ("POST", "/login/", None, '{"username": "zoe", "password": @}'),
    ("POST", "/collection/", "user", '{"title": @, "movies": []}'),
    ("PUT", "/collection/{collection}/", "user", '{"description": @}'),
    ("POST", "/api/v1/reports", "user", '{"report_name": @, "limit": #}'),
    ("POST", "/api/v1/films", "admin", '{"title": @, "imdb_rating": #}'),
    ("PATCH", "/api/v1/films/tt0000001", "admin", '{"title": @, "imdb_rating": #}'),
    ("POST", "/api/v1/genres", "admin", '{"name": @}'),
    ("PATCH", "/api/v1/genres/{genre}", "admin", '{"name": @}'),
]
HOSTILE = {
    "nested 100,000 deep": lambda body: DEEP,
    "nested in a field": lambda body: body.replace("@", DEEP).replace("#", "1"),
    "a lone surrogate": lambda body: body.replace("@", '"abcdefgh\\udfff"').replace(
        "#", "1"
    ),
    "a lone surrogate as a key": lambda body: (
        body.replace("{", '{"\\ud800x": 1, ', 1).replace("@", '"x"').replace("#", "1")
    ),
    "an escaped NUL": lambda body: body.replace("@", '"abcdefgh\\u0000"').replace(
        "#", "1"
    ),
    "a number of 4,400 digits": lambda body: body.replace("@", HUGE).replace("#", HUGE),
}


@pytest.fixture
def site(accounts_app):
    """The accounts app, a user and an admin, one collection and one genre."""
    user = bearer(accounts_app, make_account(accounts_app, "alice"))
    admin = bearer(accounts_app, make_account(accounts_app, "root", role="admin"))
    client = accounts_app.test_client()
    collection = client.post("/collection/", json={"title": "Mine"}, headers=user).json[
        "collection_uuid"
    ]
    genre = client.post("/api/v1/genres", json={"name": "Noir"}, headers=admin).json[
        "id"
    ]
    return {
        "client": client,
        "headers": {None: {}, "user": user, "admin": admin},
        "paths": {"collection": collection, "genre": genre},
    }


@pytest.mark.parametrize("hostile", HOSTILE.values(), ids=list(HOSTILE))
@pytest.mark.parametrize(
    ("method", "path", "role", "body"),
    OPERATIONS,
    ids=[f"{method} {path}" for method, path, _, _ in OPERATIONS],
)
def test_a_body_no_view_can_use_is_400(site, method, path, role, body, hostile):
    response = site["client"].open(
        path.format(**site["paths"]),
        method=method,
        data=hostile(body),
        content_type="application/json",
        headers=site["headers"][role],
    )

    assert response.status_code == 400, response.json
    assert set(response.json) == SHAPE
    assert response.json["message"].startswith("Invalid JSON body")
    assert "abcdefgh" not in response.get_data(as_text=True)


def test_the_message_says_why(site):
    client = site["client"]
    deep = client.post("/login/", data=DEEP, content_type="application/json")
    surrogate = client.post(
        "/login/",
        data='{"username": "zoe", "password": "abcdefgh\\udfff"}',
        content_type="application/json",
    )
    nul = client.post(
        "/login/",
        data='{"username": "zoe\\u0000", "password": "abcdefgh"}',
        content_type="application/json",
    )
    huge = client.post(
        "/register/",
        data='{"username": "zoe", "password": ' + HUGE + "}",
        content_type="application/json",
    )

    assert "nested too deep" in deep.json["message"]
    assert "surrogate" in surrogate.json["message"]
    assert "digits" in huge.json["message"]
    assert "NUL" in nul.json["message"]


def test_paired_surrogates_and_long_texts_are_read(site):
    client = site["client"]
    # An escaped pair is one character (U+1F600), which is fine.
    body = '{"title": "Smile \\ud83d\\ude00", "movies": []}'

    response = client.post(
        "/collection/",
        data=body,
        content_type="application/json",
        headers=site["headers"]["user"],
    )

    assert response.status_code == 201
    collection = response.json["collection_uuid"]
    read = client.get(f"/collection/{collection}/", headers=site["headers"]["user"])
    assert read.json["title"] == "Smile \U0001f600"


def test_an_escaped_backslash_before_u_d_is_no_surrogate():
    assert request_bodies.loads('{"a": "\\\\udfff"}') == {"a": "\\udfff"}


def test_json_that_is_not_json_stays_a_decode_error():
    with pytest.raises(json.JSONDecodeError) as raised:
        request_bodies.loads("{")
    assert not isinstance(raised.value, request_bodies.UnreadableBody)


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("DELETE", ""), ("GET", "/results"), ("GET", "/results.csv")],
)
@pytest.mark.parametrize("job_id", [2**63, 99999999999999999999999])
def test_a_job_id_beyond_sqlites_integers_is_404(site, method, suffix, job_id):
    response = site["client"].open(
        f"/api/v1/reports/{job_id}{suffix}",
        method=method,
        headers=site["headers"]["user"],
    )

    assert response.status_code == 404
    assert set(response.json) == SHAPE


def test_the_largest_job_id_is_an_ordinary_404(site):
    response = site["client"].get(
        f"/api/v1/reports/{2**63 - 1}", headers=site["headers"]["user"]
    )

    assert response.status_code == 404
    assert "No report job" in response.json["message"]


def test_the_spec_states_the_largest_job_id(accounts_app):
    spec = accounts_app.test_client().get("/openapi.json").json
    for path in (
        "/api/v1/reports/{job_id}",
        "/api/v1/reports/{job_id}/results",
        "/api/v1/reports/{job_id}/results.csv",
    ):
        (parameter,) = [
            p for p in spec["paths"][path]["parameters"] if p["name"] == "job_id"
        ]
        assert parameter["schema"]["maximum"] == 2**63 - 1


def test_uuid_of_a_collection_is_unaffected(site):
    response = site["client"].get(
        f"/collection/{uuid.uuid4()}/", headers=site["headers"]["user"]
    )

    assert response.status_code == 404
