"""The API's Blueprint: caching is opt-in, and answers for a user stay private."""

import marshmallow as ma
import pytest
from flask.views import MethodView
from flask_jwt_extended import current_user

from app.extensions.smorest import Blueprint
from catalogue.search import get_indexer
from tests.fixtures.accounts import bearer, make_account


class GreetingSchema(ma.Schema):
    """Who was greeted."""

    name = ma.fields.String()


@pytest.fixture
def greeted(accounts_app):
    """An app with a cached blueprint of public and signed-in greetings.

    Each view counts its calls, so a test can tell an answer from the cache.
    The index is built, so answers have a data version to be cached under.
    """
    app = accounts_app
    with app.app_context():
        get_indexer().prepare()
    calls = {"public": 0, "personal": 0}
    blp = Blueprint("greetings", __name__, url_prefix="/greetings", cached=True)

    @blp.route("/public")
    class PublicViews(MethodView):
        @blp.response(200, GreetingSchema)
        def get(self):
            """Greet whoever asks."""
            calls["public"] += 1
            return {"name": "world"}

    @blp.route("/me")
    class PersonalViews(MethodView):
        @blp.login_required()
        @blp.response(200, GreetingSchema)
        def get(self):
            """Greet the signed-in user."""
            calls["personal"] += 1
            return {"name": current_user.username}

    @blp.route("/admins")
    class AdminViews(MethodView):
        @blp.login_required(role="admin")
        @blp.response(200, GreetingSchema)
        def get(self):
            """Greet an admin."""
            return {"name": "admin"}

    app.extensions["flask-smorest"]["apis"][""]["ext_obj"].register_blueprint(blp)
    app.calls = calls
    return app


def bearer_of(app, username, role="user"):
    """The Authorization header of a new account ``username``'s access token."""
    return bearer(app, make_account(app, username, role))


def test_a_cached_blueprint_caches_its_public_answers(greeted):
    client = greeted.test_client()
    first = client.get("/greetings/public")
    second = client.get("/greetings/public")

    assert first.json == second.json == {"name": "world"}
    assert greeted.calls["public"] == 1
    assert second.headers["Cache-Control"].startswith("public")


def test_an_answer_for_a_user_is_never_served_to_another(greeted):
    client = greeted.test_client()
    alice = bearer_of(greeted, "alice")
    responses = [
        client.get("/greetings/me", headers=headers)
        for headers in (alice, bearer_of(greeted, "bob"), alice)
    ]
    alice, bob, alice_again = responses

    assert [r.json["name"] for r in (alice, bob, alice_again)] == [
        "alice",
        "bob",
        "alice",
    ]
    assert greeted.calls["personal"] == 3
    for response in (alice, bob, alice_again):
        assert response.headers["Cache-Control"] == "private, no-store"
        assert "ETag" not in response.headers


def test_a_personal_view_without_a_token_is_401_and_private(greeted):
    response = greeted.test_client().get("/greetings/me")

    assert response.status_code == 401
    assert response.json["code"] == 401
    assert "Bearer" in response.json["message"]
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert greeted.calls["personal"] == 0


@pytest.mark.parametrize(
    "authorization", ["Bearer not-a-token", "Basic YWxpY2U6c2VjcmV0", "Bearer "]
)
def test_a_bad_token_is_401_in_the_error_shape(greeted, authorization):
    response = greeted.test_client().get(
        "/greetings/me", headers={"Authorization": authorization}
    )

    assert response.status_code == 401
    assert set(response.json) == {"code", "status", "message", "errors"}
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "not-a-token" not in response.get_data(as_text=True)


def test_a_role_is_403_for_a_user_without_it(greeted):
    client = greeted.test_client()
    user = client.get("/greetings/admins", headers=bearer_of(greeted, "carol"))
    admin = client.get("/greetings/admins", headers=bearer_of(greeted, "dan", "admin"))

    assert user.status_code == 403
    assert "admin" in user.json["message"]
    assert admin.status_code == 200


def test_the_spec_shows_security_and_its_answers(greeted):
    spec = greeted.test_client().get("/openapi.json").json

    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    personal = spec["paths"]["/greetings/me"]["get"]
    assert personal["security"] == [{"bearerAuth": []}]
    assert {"200", "401"} <= set(personal["responses"])
    assert "WWW-Authenticate" in personal["responses"]["401"]["headers"]
    assert "304" not in personal["responses"]
    admins = spec["paths"]["/greetings/admins"]["get"]
    assert {"401", "403"} <= set(admins["responses"])
    public = spec["paths"]["/greetings/public"]["get"]
    assert "security" not in public
    assert "304" in public["responses"]


def test_caching_is_off_unless_asked(make_app):
    app = make_app()
    with app.app_context():
        get_indexer().prepare()
    calls = []
    blp = Blueprint("plain", __name__, url_prefix="/plain")

    @blp.route("")
    class PlainViews(MethodView):
        @blp.response(200, GreetingSchema)
        def get(self):
            """Answer anew each time."""
            calls.append(1)
            return {"name": "plain"}

    app.extensions["flask-smorest"]["apis"][""]["ext_obj"].register_blueprint(blp)
    client = app.test_client()
    responses = [client.get("/plain") for _ in range(2)]

    assert len(calls) == 2
    assert all("public" not in r.headers.get("Cache-Control", "") for r in responses)
