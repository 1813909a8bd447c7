"""The settings of every app the tests make, built in this one place."""

from pathlib import Path

from catalogue.config import from_environment
from service import create_service

# Signs the tests' tokens; long enough for HS256.
TEST_JWT_SECRET = "test-signing-key-of-the-movie-catalogue-suite-" + "0123456789" * 3


def etl_state_path(db_path):
    """Where the ETL of a test app on ``db_path`` keeps its runs."""
    db_path = Path(db_path)
    return db_path.with_name(f"{db_path.stem}.etl.sqlite")


def app_settings(db_path, **overrides):
    """Settings of a test app on ``db_path``: the embedded index beside it, an
    in-process cache and a fixed signing key; ``overrides`` win.
    """
    db_path = Path(db_path)
    return {
        "TESTING": True,
        "DATABASE_PATH": str(db_path),
        "EMBEDDED_SEARCH_PATH": str(db_path.with_name(f"{db_path.stem}.search.sqlite")),
        "ETL_STATE_PATH": str(etl_state_path(db_path)),
        "REQUEST_COUNT_PATH": str(db_path.with_name("request-count")),
        "RATE_LIMITS_PATH": str(db_path.with_name("rate-limits.sqlite")),
        "JWT_SECRET_PATH": str(db_path.with_name("jwt-secret")),
        # Never the real provider: the tests start a fake one (tests/fixtures).
        "MOVIES_PROVIDER_URL": "http://127.0.0.1:9/movies/",
        "MOVIES_PROVIDER_USERNAME": None,
        "MOVIES_PROVIDER_PASSWORD": None,
        "MOVIES_PROVIDER_BREAKER_PATH": str(db_path.with_name("movies-breaker")),
        "REPORT_QUEUE_PATH": str(
            db_path.with_name(f"{db_path.stem}.reports-queue.sqlite")
        ),
        "ELASTICSEARCH_URL": None,
        "REDIS_URL": None,
        "DATABASE_URL": None,
        "JWT_SECRET_KEY": TEST_JWT_SECRET,
        # The CLI runner runs `flask etl run` in the test process itself.
        "ETL_NICENESS": 0,
        # Argon2id at its least cost: the tests make many accounts.
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_KIB": 64,
        **overrides,
    }


def postgresql_settings(url):
    """The settings of an app on the PostgreSQL database at ``url``."""
    return {
        "DATABASE_URL": url,
        # One machine: the tests' embedded index, cache and queue are local.
        "SINGLE_NODE": True,
        "DATABASE_POOL_SIZE": 4,
    }


# Every app the tests made, whose connections the suite closes after each test.
MADE = []


def full_settings(db_path, **overrides):
    """Every setting of a test app on ``db_path``, without making the app."""
    return {**from_environment(), **app_settings(db_path, **overrides)}


def make_test_app(db_path, **overrides):
    """Create an app with ``app_settings(db_path, **overrides)``."""
    app = create_service(app_settings(db_path, **overrides))
    MADE.append(app)
    return app
