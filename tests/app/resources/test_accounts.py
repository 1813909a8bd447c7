"""Accounts: register, log in, refresh, log out; every way a token is refused."""

import json
import os
import stat
import threading
import time
import urllib.request
import uuid
from contextlib import closing

import flask_jwt_extended
import jwt as pyjwt
import pytest
import redis
from flask_jwt_extended import create_access_token, create_refresh_token

from app import extensions
from app.resources.accounts import passwords
from app.resources.accounts.tokens import REVOKED_KEY
from catalogue.config import ConfigError
from catalogue.db import open_catalogue
from catalogue.db.sqlite import connect
from tests.commands import children, command_env, gunicorn
from tests.factories import make_migrated_db
from tests.fixtures.accounts import PASSWORD, bearer, make_account
from tests.fixtures.redis import free_port
from tests.settings import TEST_JWT_SECRET, make_test_app
from tests.waiting import wait_until

pytestmark = pytest.mark.stores

PROTECTED = "/request-count/"


@pytest.fixture(params=["embedded", "redis"])
def site(request, accounts_app, make_app):
    """The accounts app on the embedded default, or with Redis for its stores."""
    if request.param == "embedded":
        return accounts_app
    url = request.getfixturevalue("redis_url")
    redis.Redis.from_url(url).flushdb()
    return make_app(REDIS_URL=url)


def register(client, username="alice", password=PASSWORD):
    return client.post("/register/", json={"username": username, "password": password})


def login(client, username="alice", password=PASSWORD):
    return client.post("/login/", json={"username": username, "password": password})


def authorized(token):
    return {"Authorization": f"Bearer {token}"}


def assert_refused(response):
    assert response.status_code == 401
    assert set(response.json) == {"code", "status", "message", "errors"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


# --- register -------------------------------------------------------------------


def test_register_answers_an_access_token_that_works(site):
    client = site.test_client()
    response = register(client)

    assert response.status_code == 201
    assert set(response.json) == {"access_token"}
    assert response.headers["Cache-Control"] == "private, no-store"
    assert client.get(PROTECTED, headers=authorized(response.json["access_token"]))


@pytest.mark.parametrize("taken", ["Alice", "tester_10"])
def test_a_taken_username_is_409_whatever_its_case(site, taken):
    client = site.test_client()
    assert register(client, taken).status_code == 201

    response = register(client, taken.swapcase())

    assert response.status_code == 409
    assert response.json["errors"] == {
        "json": {"username": ["This username is taken."]}
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": PASSWORD}, "username"),
        ({"username": "alice"}, "password"),
        ({"username": "al", "password": PASSWORD}, "username"),
        ({"username": "a" * 151, "password": PASSWORD}, "username"),
        ({"username": "al ice", "password": PASSWORD}, "username"),
        ({"username": "al/ice", "password": PASSWORD}, "username"),
        ({"username": "alice\n", "password": PASSWORD}, "username"),
        ({"username": "alice", "password": "short"}, "password"),
        ({"username": "alice", "password": "x" * 129}, "password"),
        ({"username": 42, "password": PASSWORD}, "username"),
        ({"username": "alice", "password": PASSWORD, "role": "admin"}, "role"),
    ],
)
def test_bad_credentials_are_422_naming_the_field(accounts_app, body, field):
    response = accounts_app.test_client().post("/register/", json=body)

    assert response.status_code == 422
    assert field in response.json["errors"]["json"]
    assert field in response.json["message"]


@pytest.mark.parametrize(
    "lookalike",
    [
        "sec\u0430dmin",  # a Cyrillic а
        "\uff53\uff45\uff43\uff41\uff44\uff4d\uff49\uff4e",  # fullwidth
        "SECADMIN",
        "SecAdm\u0131n",  # a dotless ı
        "secadrnin",  # rn reads as m
    ],
)
def test_a_username_that_reads_like_a_taken_one_is_409(accounts_app, lookalike):
    client = accounts_app.test_client()
    assert register(client, "secadmin").status_code == 201

    response = register(client, lookalike)

    assert response.status_code == 409, response.json
    assert set(response.json["errors"]["json"]) == {"username"}
    with closing(open_catalogue(accounts_app.config)) as conn:
        assert conn.execute("SELECT count(*) FROM account").fetchone()[0] == 1


def test_a_fullwidth_username_is_kept_and_logs_in_plain(accounts_app):
    client = accounts_app.test_client()
    fullwidth = "\uff41\uff4c\uff49\uff43\uff45"

    assert register(client, fullwidth).status_code == 201

    with closing(open_catalogue(accounts_app.config)) as conn:
        stored = conn.execute("SELECT username, username_key FROM account").fetchone()
    assert tuple(stored) == ("alice", "alice")
    assert login(client, "ALICE").status_code == 200
    assert login(client, fullwidth).status_code == 200


def test_different_names_of_other_scripts_are_accepted(accounts_app):
    client = accounts_app.test_client()

    answers = [
        register(client, name).status_code
        for name in ("alice", "\u0430\u043b\u0438\u0441\u0430", "bob", "b0b1")
    ]

    assert answers == [201, 201, 201, 201]


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("password", "most common"),
        ("PASSWORD", "most common"),
        ("12345678", "most common"),
        ("iloveyou", "most common"),
        ("        ", "repeated"),
        ("aaaaaaaaaa", "repeated"),
        ("abcabcabc", "repeated"),
        ("13572468" * 2, "repeated"),
        ("abcdefghij", "consecutive"),
        ("98765432", "consecutive"),
        ("zoe-the-great", "username"),
        ("ZOE-THE-GREAT!", "username"),
        ("\uff5a\uff4f\uff45-the-great-2", "username"),
    ],
)
def test_a_password_easy_to_guess_is_422_saying_why(accounts_app, password, reason):
    response = register(accounts_app.test_client(), "zoe-the-great", password)

    assert response.status_code == 422
    messages = response.json["errors"]["json"]["password"]
    assert any(reason in message for message in messages), messages
    if len(password.strip()) > 8:
        assert password not in response.get_data(as_text=True)


def test_a_password_holding_the_username_is_refused(accounts_app):
    response = register(accounts_app.test_client(), "marta", "i am marta, hello")

    assert response.status_code == 422
    assert "username" in response.json["errors"]["json"]["password"][0]


@pytest.mark.parametrize(
    "password",
    ["correct horse battery", "Tr0ub4dor&3x", "пароль-надёжный-очень", "  a b c d  "],
)
def test_a_password_hard_to_guess_is_accepted(accounts_app, password):
    assert register(accounts_app.test_client(), password=password).status_code == 201


def test_an_old_weak_password_still_logs_in(accounts_app):
    make_account(accounts_app, "alice", password="password")

    assert login(accounts_app.test_client(), password="password").status_code == 200


def test_a_body_that_is_not_json_is_422(accounts_app):
    response = accounts_app.test_client().post(
        "/register/", data="username=alice", content_type="text/plain"
    )

    assert response.status_code == 422
    assert response.json["code"] == 422


@pytest.mark.parametrize("username", ["j.doe+films@example.org", "Ünal_ÖZ-1", "abc"])
def test_usernames_of_letters_digits_and_symbols_are_accepted(accounts_app, username):
    assert register(accounts_app.test_client(), username).status_code == 201


def test_registration_never_makes_an_admin(accounts_app):
    client = accounts_app.test_client()
    token = register(client).json["access_token"]

    with (
        accounts_app.app_context(),
        closing(open_catalogue(accounts_app.config)) as conn,
    ):
        roles = [row[0] for row in conn.execute("SELECT role FROM account")]
    assert roles == ["user"]
    assert client.get(PROTECTED, headers=authorized(token)).status_code == 200


def test_passwords_are_stored_as_argon2id_hashes(accounts_app):
    register(accounts_app.test_client())

    with closing(open_catalogue(accounts_app.config)) as conn:
        (stored,) = conn.execute("SELECT password_hash FROM account").fetchone()
    assert stored.startswith("$argon2id$v=19$m=64,t=1,p=1$")
    assert PASSWORD not in stored


# --- log in -----------------------------------------------------------------------


def test_login_answers_an_access_and_a_refresh_token(site):
    client = site.test_client()
    register(client)

    response = login(client, "ALICE")

    assert response.status_code == 200
    assert set(response.json) == {"access_token", "refresh_token"}
    assert response.headers["Cache-Control"] == "private, no-store"
    access = client.get(PROTECTED, headers=authorized(response.json["access_token"]))
    assert access.status_code == 200


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(
    accounts_app, monkeypatch
):
    client = accounts_app.test_client()
    register(client)
    verified = []
    real_verify = passwords.verify_password
    monkeypatch.setattr(
        passwords,
        "verify_password",
        lambda stored, given: verified.append(stored) or real_verify(stored, given),
    )

    wrong = login(client, password="not the password")
    unknown = login(client, username="nobody")

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json
    assert wrong.headers["WWW-Authenticate"] == "Bearer"
    # One Argon2 verification each, so neither answers sooner than the other.
    assert len(verified) == 2
    assert all(stored.startswith("$argon2id$") for stored in verified)


def test_a_hash_of_an_older_cost_is_redone_at_login(accounts_app, make_app):
    account = make_account(accounts_app, "alice")
    stronger = make_app(PASSWORD_HASH_TIME_COST=2)

    assert login(stronger.test_client()).status_code == 200

    with closing(open_catalogue(stronger.config)) as conn:
        (stored,) = conn.execute(
            "SELECT password_hash FROM account WHERE id = ?", (account.id,)
        ).fetchone()
    assert stored.startswith("$argon2id$v=19$m=64,t=2,p=1$")
    assert login(stronger.test_client()).status_code == 200


def test_failed_logins_are_limited_per_username(site):
    site.config["LOGIN_FAILURES_PER_USERNAME"] = "3 per minute"
    client = site.test_client()
    register(client)
    assert login(client).status_code == 200  # a success does not count

    answers = [login(client, password="not the password").status_code for _ in range(3)]
    limited = login(client, "ALICE", password="not the password")

    assert answers == [401, 401, 401]
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.json["message"].startswith("Too many failed log-ins")
    # Even the right password waits: that is the point of the limit.
    assert login(client).status_code == 429
    # Another username from the same address is not held back.
    assert login(client, "bob").status_code == 401


def test_failed_logins_are_limited_per_address(site):
    site.config["LOGIN_FAILURES_PER_ADDRESS"] = "4 per minute"
    client = site.test_client()

    answers = [login(client, f"user{n}").status_code for n in range(4)]

    assert answers == [401] * 4
    assert login(client, "user9").status_code == 429
    other = site.test_client()
    elsewhere = other.post(
        "/login/",
        json={"username": "user9", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert elsewhere.status_code == 401


def test_someone_elsewhere_cannot_lock_a_user_out(site):
    site.config["LOGIN_FAILURES_PER_USERNAME"] = "3 per minute"
    client = site.test_client()
    register(client)
    elsewhere = {"REMOTE_ADDR": "192.0.2.9"}

    answers = [
        client.post(
            "/login/",
            json={"username": "alice", "password": "not the password"},
            environ_base=elsewhere,
        ).status_code
        for _ in range(4)
    ]

    assert answers == [401, 401, 401, 429]
    # The owner, from her own address, still logs in.
    assert login(client).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        lambda n: {"X-Forwarded-For": f"198.51.100.{n}"},
        lambda n: {"X-Real-IP": f"198.51.100.{n}"},
        lambda n: {"Forwarded": f"for=198.51.100.{n}"},
        lambda n: {"X-Forwarded-For": f"198.51.100.{n}, 127.0.0.{n}"},
    ],
    ids=["X-Forwarded-For", "X-Real-IP", "Forwarded", "a chain"],
)
def test_forwarding_headers_do_not_get_past_the_limits(site, headers):
    site.config["LOGIN_FAILURES_PER_USERNAME"] = "3 per minute"
    client = site.test_client()
    register(client)

    answers = [
        client.post(
            "/login/",
            json={"username": name, "password": "not the password"},
            headers=headers(n),
        ).status_code
        for n, name in enumerate(["alice", "ALICE", "Alice", "aLiCe"])
    ]

    assert answers == [401, 401, 401, 429]


def test_without_redis_the_limits_count_in_a_file_of_the_machine(accounts_app):
    accounts_app.config["LOGIN_FAILURES_PER_USERNAME"] = "3 per minute"
    client = accounts_app.test_client()
    login(client, password="not the password")

    path = accounts_app.config["RATE_LIMITS_PATH"]
    with closing(connect(path)) as conn:
        keys = {row[0]: row[1] for row in conn.execute("SELECT key, count FROM hit")}
    assert any("username:alice|address:127.0.0.1" in key for key in keys)
    assert set(keys.values()) == {1}


# --- refresh and log out --------------------------------------------------------


def test_a_refresh_token_gets_new_tokens_and_is_used_up(site):
    client = site.test_client()
    register(client)
    tokens = login(client).json

    response = client.post(
        "/token/refresh/", headers=authorized(tokens["refresh_token"])
    )

    assert response.status_code == 200
    assert set(response.json) == {"access_token", "refresh_token"}
    assert response.json["access_token"] != tokens["access_token"]
    assert response.json["refresh_token"] != tokens["refresh_token"]
    fresh = client.get(PROTECTED, headers=authorized(response.json["access_token"]))
    assert fresh.status_code == 200
    # The new refresh token works once in turn; the used one never again.
    again = client.post(
        "/token/refresh/", headers=authorized(response.json["refresh_token"])
    )
    assert again.status_code == 200
    assert_refused(
        client.post("/token/refresh/", headers=authorized(tokens["refresh_token"]))
    )


def test_a_used_refresh_token_sent_again_revokes_its_family(site):
    client = site.test_client()
    register(client)
    stolen = login(client).json
    other_login = login(client).json
    rotated = client.post(
        "/token/refresh/", headers=authorized(stolen["refresh_token"])
    ).json

    replayed = client.post(
        "/token/refresh/", headers=authorized(stolen["refresh_token"])
    )

    assert_refused(replayed)
    # Every token of that log-in is refused now, the rotated ones too...
    assert_refused(
        client.post("/token/refresh/", headers=authorized(rotated["refresh_token"]))
    )
    assert_refused(client.get(PROTECTED, headers=authorized(rotated["access_token"])))
    assert_refused(client.get(PROTECTED, headers=authorized(stolen["access_token"])))
    # ...and another log-in's are not.
    assert (
        client.get(
            PROTECTED, headers=authorized(other_login["access_token"])
        ).status_code
        == 200
    )


def test_two_refreshes_with_one_token_let_only_one_through(site, monkeypatch):
    client = site.test_client()
    register(client)
    tokens = login(client).json
    # The other refresh uses the token between this one's check and its use.
    monkeypatch.setattr(
        extensions.jwt, "_token_in_blocklist_callback", lambda header, payload: False
    )
    first = client.post("/token/refresh/", headers=authorized(tokens["refresh_token"]))

    second = client.post("/token/refresh/", headers=authorized(tokens["refresh_token"]))

    assert first.status_code == 200
    assert_refused(second)
    assert "used already" in second.json["message"]


def test_an_access_token_does_not_refresh(site):
    client = site.test_client()
    register(client)
    tokens = login(client).json

    assert_refused(
        client.post("/token/refresh/", headers=authorized(tokens["access_token"]))
    )


def test_logout_revokes_the_token_it_carries_and_its_refresh_token(site):
    client = site.test_client()
    register(client)
    first, second = login(client).json, login(client).json

    response = client.post("/logout/", headers=authorized(first["access_token"]))

    assert response.status_code == 200
    assert_refused(client.get(PROTECTED, headers=authorized(first["access_token"])))
    assert (
        "revoked"
        in client.get(PROTECTED, headers=authorized(first["access_token"])).json[
            "message"
        ]
    )
    assert_refused(
        client.post("/token/refresh/", headers=authorized(first["refresh_token"]))
    )
    # Other log-ins of the same account go on working.
    assert (
        client.get(PROTECTED, headers=authorized(second["access_token"])).status_code
        == 200
    )
    assert (
        client.post(
            "/token/refresh/", headers=authorized(second["refresh_token"])
        ).status_code
        == 200
    )


def test_logout_revokes_the_tokens_refreshed_from_its_log_in(site):
    client = site.test_client()
    register(client)
    tokens = login(client).json
    rotated = client.post(
        "/token/refresh/", headers=authorized(tokens["refresh_token"])
    ).json

    client.post("/logout/", headers=authorized(rotated["access_token"]))

    assert_refused(
        client.post("/token/refresh/", headers=authorized(rotated["refresh_token"]))
    )
    assert_refused(client.get(PROTECTED, headers=authorized(tokens["access_token"])))


def test_a_revoked_token_is_kept_in_redis_for_its_remaining_life(
    make_app, accounts_app, redis_url
):
    store = redis.Redis.from_url(redis_url)
    store.flushdb()
    app = make_app(REDIS_URL=redis_url, JWT_ACCESS_TOKEN_MINUTES=10)
    client = app.test_client()
    register(client)
    token = login(client).json["access_token"]

    client.post("/logout/", headers=authorized(token))

    keys = store.keys(REVOKED_KEY + "*")
    (family_key,) = [key for key in keys if b":family:" in key]
    (token_key,) = [key for key in keys if key != family_key]
    assert 9 * 60 < store.ttl(token_key) <= 10 * 60
    # The family, for as long as its refresh tokens live (30 days).
    assert 29 * 86400 < store.ttl(family_key) <= 30 * 86400 + 1
    with closing(open_catalogue(app.config)) as conn:
        assert conn.execute("SELECT count(*) FROM revoked_token").fetchone()[0] == 0


def test_without_redis_a_revoked_token_is_kept_in_the_database(accounts_app):
    client = accounts_app.test_client()
    register(client)
    token = login(client).json["access_token"]

    client.post("/logout/", headers=authorized(token))

    with closing(open_catalogue(accounts_app.config)) as conn:
        rows = conn.execute(
            "SELECT jti, expires_at FROM revoked_token ORDER BY jti"
        ).fetchall()
    assert len(rows) == 2
    assert sum(jti.startswith("family:") for jti, _ in rows) == 1
    assert all(expires_at > time.time() for _, expires_at in rows)


# --- tokens refused -------------------------------------------------------------


def forged(claims, key=TEST_JWT_SECRET, algorithm="HS256"):
    return pyjwt.encode(claims, key, algorithm=algorithm)


def claims_of(account, **changes):
    now = int(time.time())
    claims = {
        "sub": account.public_id,
        "jti": f"test-{now}",
        "type": "access",
        "fresh": False,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(
            lambda a, app: forged(claims_of(a), key="another-key-" * 6), id="other key"
        ),
        pytest.param(
            lambda a, app: forged(claims_of(a), key=None, algorithm="none"),
            id="alg none",
        ),
        pytest.param(
            lambda a, app: forged(claims_of(a), algorithm="HS512"), id="other algorithm"
        ),
        pytest.param(
            lambda a, app: forged(claims_of(a, exp=int(time.time()) - 60)), id="expired"
        ),
        pytest.param(lambda a, app: forged(claims_of(a, exp=None)), id="no expiry"),
        pytest.param(
            lambda a, app: forged(claims_of(a, sub="999999")), id="no such user"
        ),
        pytest.param(
            lambda a, app: forged(claims_of(a, sub=str(a.id))), id="the row id"
        ),
        pytest.param(
            lambda a, app: forged(claims_of(a, sub=str(uuid.uuid4()))),
            id="another uuid",
        ),
        pytest.param(lambda a, app: forged(claims_of(a, sub=7)), id="a number"),
        pytest.param(
            lambda a, app: forged(claims_of(a, sub="alice")), id="bad subject"
        ),
        pytest.param(lambda a, app: "garbage", id="garbage"),
        pytest.param(lambda a, app: "a.b.c", id="three garbage parts"),
        pytest.param(
            lambda a, app: forged(claims_of(a, type="refresh")), id="refresh as access"
        ),
    ],
)
def test_tokens_that_are_refused(accounts_app, make_token):
    account = make_account(accounts_app, "alice")
    token = make_token(account, accounts_app)

    response = accounts_app.test_client().get(PROTECTED, headers=authorized(token))

    assert_refused(response)
    assert token not in response.get_data(as_text=True)


def test_a_token_of_a_deleted_account_is_refused(accounts_app):
    account = make_account(accounts_app, "alice")
    headers = bearer(accounts_app, account)
    with closing(open_catalogue(accounts_app.config)) as conn:
        conn.execute("DELETE FROM account WHERE id = ?", (account.id,))

    response = accounts_app.test_client().get(PROTECTED, headers=headers)

    assert_refused(response)
    assert "no longer exists" in response.json["message"]


def test_a_deleted_accounts_tokens_never_name_the_next_account(accounts_app):
    client = accounts_app.test_client()
    register(client, "first")
    tokens = login(client, "first").json
    with closing(open_catalogue(accounts_app.config)) as conn:
        # A row of the deleted account left behind, its foreign key unchecked.
        conn.execute(
            "PRAGMA foreign_keys = OFF"
            if conn.engine == "sqlite"
            else "SET session_replication_role = replica"
        )
        (deleted_id,) = conn.execute("SELECT max(id) FROM account").fetchone()
        conn.execute("DELETE FROM account WHERE id = ?", (deleted_id,))
        conn.execute(
            "INSERT INTO movie_collection (uuid, owner_id, title)"
            " VALUES ('left-behind', ?, 'Not yours')",
            (deleted_id,),
        )

    register(client, "second")

    with closing(open_catalogue(accounts_app.config)) as conn:
        (new_id,) = conn.execute(
            "SELECT id FROM account WHERE username = 'second'"
        ).fetchone()
    assert new_id > deleted_id
    assert_refused(client.get(PROTECTED, headers=authorized(tokens["access_token"])))
    assert_refused(
        client.post("/token/refresh/", headers=authorized(tokens["refresh_token"]))
    )
    second = login(client, "second").json
    collections = client.get(
        "/collection/", headers=authorized(second["access_token"])
    ).json
    assert collections["data"]["collections"] == []


def test_each_account_gets_a_public_id_of_its_own(accounts_app):
    first = make_account(accounts_app, "alice")
    second = make_account(accounts_app, "bob")

    assert uuid.UUID(first.public_id).version == 4
    assert first.public_id != second.public_id


def test_a_refresh_token_is_refused_where_an_access_token_is_needed(accounts_app):
    account = make_account(accounts_app, "alice")
    with accounts_app.app_context():
        token = create_refresh_token(account.public_id)

    assert_refused(accounts_app.test_client().get(PROTECTED, headers=authorized(token)))


def test_no_token_is_401_with_www_authenticate(accounts_app):
    response = accounts_app.test_client().get(PROTECTED)

    assert_refused(response)
    assert "Authorization: Bearer" in response.json["message"]


def test_a_token_signed_by_this_service_works(accounts_app):
    account = make_account(accounts_app, "alice")
    with accounts_app.app_context():
        token = create_access_token(account.public_id)

    response = accounts_app.test_client().get(PROTECTED, headers=authorized(token))

    assert response.status_code == 200


def test_a_token_is_verified_once_while_it_is_valid(accounts_app, monkeypatch):
    account = make_account(accounts_app, "alice")
    headers = bearer(accounts_app, account)
    verified = []
    verify = flask_jwt_extended.JWTManager._decode_jwt_from_config

    def counting(manager, *args, **kwargs):
        verified.append(args[0])
        return verify(manager, *args, **kwargs)

    monkeypatch.setattr(
        flask_jwt_extended.JWTManager, "_decode_jwt_from_config", counting
    )
    client = accounts_app.test_client()

    answers = [client.get(PROTECTED, headers=headers).status_code for _ in range(3)]

    assert answers == [200, 200, 200]
    assert len(verified) == 1


def test_a_verified_token_is_refused_once_it_expires(accounts_app):
    account = make_account(accounts_app, "alice")
    expiry = int(time.time()) + 2
    headers = authorized(forged(claims_of(account, exp=expiry)))
    client = accounts_app.test_client()
    assert client.get(PROTECTED, headers=headers).status_code == 200

    wait_until(lambda: time.time() > expiry + 0.1, attempts=100)
    response = client.get(PROTECTED, headers=headers)

    assert_refused(response)
    assert "expired" in response.json["message"]


def test_a_token_verified_by_one_key_is_refused_by_another(accounts_app, make_app):
    account = make_account(accounts_app, "alice")
    headers = bearer(accounts_app, account)
    assert accounts_app.test_client().get(PROTECTED, headers=headers).status_code == 200
    other = make_app(JWT_SECRET_KEY="another-signing-key-" * 3)

    assert_refused(other.test_client().get(PROTECTED, headers=headers))


# --- the signing key --------------------------------------------------------------


def test_the_embedded_default_makes_a_secret_once_and_keeps_it(tmp_path, db_path):
    secret_file = tmp_path / "var" / "jwt-secret"
    settings = {"JWT_SECRET_KEY": None, "JWT_SECRET_PATH": str(secret_file)}

    first = make_test_app(db_path, **settings)
    second = make_test_app(db_path, **settings)

    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    assert len(first.config["JWT_SECRET_KEY"]) >= 64
    assert first.config["JWT_SECRET_KEY"] == second.config["JWT_SECRET_KEY"]
    assert first.config["JWT_SECRET_KEY"] == secret_file.read_text()


@pytest.mark.parametrize(
    "setting",
    [
        {"REDIS_URL": "redis://127.0.0.1:9/0"},
        {"ELASTICSEARCH_URL": "http://127.0.0.1:9"},
    ],
)
def test_the_real_parts_need_a_signing_key(db_path, setting):
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY must be set"):
        make_test_app(db_path, JWT_SECRET_KEY=None, **setting)


def test_a_short_signing_key_is_refused(db_path):
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        make_test_app(db_path, JWT_SECRET_KEY="too-short")


def test_the_secret_is_in_no_answer_or_spec(site):
    client = site.test_client()
    register(client)
    token = login(client).json["access_token"]
    secret = site.config["JWT_SECRET_KEY"]

    for response in (
        client.get("/openapi.json"),
        client.get("/client/info"),
        client.get(PROTECTED, headers=authorized(token)),
        client.get(PROTECTED, headers=authorized(token + "x")),
    ):
        assert secret not in response.get_data(as_text=True)


# --- hashing off the event loop -----------------------------------------------------


def _threads(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


@pytest.mark.slow
def test_a_login_hashing_does_not_freeze_its_worker(db_path, tmp_path):
    make_migrated_db(db_path)
    port = free_port()
    env = command_env(
        {"DATABASE_PATH": db_path},
        BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
        # A hash of some seconds: long enough to be seen in progress.
        PASSWORD_HASH_TIME_COST="60",
        PASSWORD_HASH_MEMORY_KIB="65536",
    )
    base = f"http://127.0.0.1:{port}"
    with gunicorn("wsgi:app", env, tmp_path / "gunicorn.log") as server:
        wait_until(lambda: _answers(f"{base}/healthz"))
        (worker,) = children(server.pid)
        before = _threads(worker)
        answers = {}

        def register_alice():
            request = urllib.request.Request(
                f"{base}/register/",
                data=json.dumps({"username": "alice", "password": PASSWORD}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=120) as response:
                answers["register"] = response.status

        registering = threading.Thread(target=register_alice)
        registering.start()
        # The hash runs in a thread of the worker's pool...
        wait_until(lambda: _threads(worker) > before)
        # ...while the worker answers another request.
        with urllib.request.urlopen(f"{base}/healthz", timeout=10) as response:
            assert response.status == 200
        assert "register" not in answers
        registering.join(timeout=120)

    assert answers == {"register": 201}


def _answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_one_username_registered_many_times_at_once_gives_one_201(accounts_app):
    names = ["carol", "Carol", "CAROL", "\uff43\uff41\uff52\uff4f\uff4c"] * 2
    answers, start = [None] * len(names), threading.Barrier(len(names))

    def register_at_once(n):
        start.wait(10)
        answers[n] = register(accounts_app.test_client(), names[n]).status_code

    threads = [
        threading.Thread(target=register_at_once, args=(n,)) for n in range(len(names))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(answers) == [201] + [409] * (len(names) - 1)
    with closing(open_catalogue(accounts_app.config)) as conn:
        assert conn.execute("SELECT count(*) FROM account").fetchone()[0] == 1
