"""Health probes: /healthz touches nothing, /readyz checks every dependency."""

from pathlib import Path

import pytest

from app.resources.health.checks import run_checks
from tests.app.resources.catalogue import migrate_catalogue, run_cli
from tests.factories import make_legacy_db, movie
from tests.fixtures.accounts import bearer, make_account
from tests.fixtures.elasticsearch import drop_indices
from tests.fixtures.redis import free_port
from tests.settings import make_test_app, postgresql_settings

pytestmark = pytest.mark.stores


def build_catalogue(app):
    make_legacy_db(app.config["DATABASE_PATH"], movies=[movie("tt0000001", "Alien")])
    migrate_catalogue(app)
    run_cli(app, "etl", "run")


def operator(app):
    """The Authorization header of an admin of ``app`` (its catalogue built)."""
    return bearer(app, make_account(app, "operator", role="admin"))


def test_healthz_answers_without_touching_anything(tmp_path):
    database = tmp_path / "nowhere" / "movies.sqlite"
    app = make_test_app(
        database,
        ELASTICSEARCH_URL="http://127.0.0.1:9",
        REDIS_URL="redis://127.0.0.1:9/0",
    )

    response = app.test_client().get("/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert not database.parent.exists()


def test_readyz_is_ready_when_everything_answers(app):
    build_catalogue(app)

    response = app.test_client().get("/readyz")

    assert response.status_code == 200
    assert response.json["status"] == "ready"
    assert set(response.json["checks"]) == {"database", "search", "cache"}
    assert all(check["ok"] for check in response.json["checks"].values())


def test_readyz_is_ready_on_each_search_backend(search_app, db_path):
    build_catalogue(search_app)

    response = search_app.test_client().get("/readyz")

    assert response.status_code == 200
    assert response.json["checks"]["search"]["ok"] is True


@pytest.mark.stores("sqlite")
def test_readyz_names_what_is_missing_before_any_setup(app, db_path):
    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.json["code"] == 503
    checks = response.json["errors"]
    assert checks["database"]["ok"] is False
    assert checks["search"]["ok"] is False
    assert checks["cache"]["ok"] is True
    assert "database" in response.json["message"]
    assert "search" in response.json["message"]
    assert not db_path.exists(), "a probe must not create the database"


@pytest.mark.parametrize(
    ("setting", "failing"),
    [
        ({"ELASTICSEARCH_URL": "http://127.0.0.1:9"}, "search"),
        ({"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}, "cache"),
    ],
)
def test_readyz_is_503_when_a_dependency_is_down(app, make_app, setting, failing):
    build_catalogue(app)
    broken = make_app(**setting)

    response = broken.test_client().get("/readyz")

    assert response.status_code == 503
    checks = response.json["errors"]
    assert checks[failing]["ok"] is False
    assert [name for name, check in checks.items() if not check["ok"]] == [failing]
    assert failing in response.json["message"]


@pytest.mark.stores("postgresql")
def test_readyz_names_a_postgresql_not_migrated_yet(make_app, empty_postgresql_url):
    app = make_app(**postgresql_settings(empty_postgresql_url))

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.json["errors"]["database"]["ok"] is False
    with app.app_context():
        _, results = run_checks()
    assert "run flask db upgrade" in results["database"]["detail"]


@pytest.mark.stores("postgresql")
def test_readyz_is_503_when_postgresql_cannot_be_reached(app, make_app):
    build_catalogue(app)
    down = make_app(
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/gone",
        DATABASE_CONNECT_TIMEOUT=1.0,
    )

    response = down.test_client().get("/readyz")

    assert response.status_code == 503
    checks = response.json["errors"]
    assert [name for name, check in checks.items() if not check["ok"]] == ["database"]
    with down.app_context():
        _, results = run_checks()
    assert "cannot open the database" in results["database"]["detail"]
    assert app.test_client().get("/readyz").status_code == 200


def test_readyz_is_503_when_elasticsearch_has_lost_its_indices(
    make_app, elasticsearch_url, tmp_path
):
    prefix = f"gone_{tmp_path.name[-8:].lower()}_"
    app = make_app(
        ELASTICSEARCH_URL=elasticsearch_url, ELASTICSEARCH_INDEX_PREFIX=prefix
    )
    build_catalogue(app)
    assert app.test_client().get("/readyz").status_code == 200

    drop_indices(elasticsearch_url, prefix)  # as after a restart on an empty disk
    response = app.test_client().get("/readyz", headers=operator(app))

    assert response.status_code == 503
    assert response.json["errors"]["search"]["ok"] is False
    assert "flask etl run" in response.json["errors"]["search"]["detail"]


def damage(path):
    """Overwrite every page of the SQLite file ``path`` but the first with noise."""
    size = path.stat().st_size
    with path.open("r+b") as file:
        file.seek(4096)
        file.write(bytes(range(256)) * ((size - 4096) // 256 + 1))


def test_a_damaged_embedded_index_is_not_ready_and_not_retry_later(app):
    build_catalogue(app)
    live = Path(app.config["EMBEDDED_SEARCH_PATH"]).resolve()
    damage(live)
    client = app.test_client()

    ready = client.get("/readyz", headers=operator(app))
    film = client.get("/api/v1/films/tt0000001")

    assert ready.status_code == 503
    assert ready.json["errors"]["search"]["ok"] is False
    assert "damaged" in ready.json["errors"]["search"]["detail"]
    assert film.status_code == 503
    assert "Retry-After" not in film.headers
    assert "rebuilt" in film.json["message"]


def test_anonymous_readyz_says_only_what_is_up(app, tmp_path):
    build_catalogue(app)
    client = app.test_client()

    ready = client.get("/readyz")
    broken = (
        make_test_app(
            app.config["DATABASE_PATH"], EMBEDDED_SEARCH_PATH=str(tmp_path / "gone")
        )
        .test_client()
        .get("/readyz")
    )

    assert ready.json["checks"] == {
        name: {"ok": True} for name in ("database", "search", "cache")
    }
    assert broken.status_code == 503
    assert broken.json["errors"]["search"] == {"ok": False}
    for answer in (ready, broken):
        body = answer.get_data(as_text=True)
        assert str(tmp_path) not in body
        assert "migrations" not in body


def test_an_admins_token_shows_each_checks_detail(app):
    build_catalogue(app)
    headers = operator(app)

    response = app.test_client().get("/readyz", headers=headers)

    checks = response.json["checks"]
    assert checks["database"]["detail"].endswith("migrations applied")
    assert checks["search"]["detail"].startswith("embedded:")
    assert response.headers["Cache-Control"] == "private, no-store"


def test_a_users_token_shows_no_detail(app):
    build_catalogue(app)
    user = bearer(app, make_account(app, "reader"))

    response = app.test_client().get("/readyz", headers=user)

    assert response.status_code == 200
    assert all(set(check) == {"ok"} for check in response.json["checks"].values())


def test_a_bad_token_on_readyz_is_401(app):
    build_catalogue(app)

    response = app.test_client().get(
        "/readyz", headers={"Authorization": "Bearer garbage"}
    )

    assert response.status_code == 401


def test_the_spec_says_readyz_takes_an_optional_token(app):
    spec = app.test_client().get("/openapi.json").json

    assert spec["paths"]["/readyz"]["get"]["security"] == [{}, {"bearerAuth": []}]
