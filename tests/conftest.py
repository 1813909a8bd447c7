"""Fixtures shared by the whole suite: the app, its client and CLI runner.

Every app is on a store: SQLite by default. A test module that holds the
store's contract marks itself ``pytest.mark.stores`` and then runs on both
stores, SQLite and PostgreSQL (the ``database_store`` fixture's parameter); a test in
it that holds for one store only names it, ``pytest.mark.stores("sqlite")``.
"""

import pytest

from tests.settings import MADE, make_test_app, postgresql_settings

pytest_plugins = [
    "tests.fixtures.accounts",
    "tests.fixtures.elasticsearch",
    "tests.fixtures.redis",
    "tests.fixtures.postgresql",
    "tests.fixtures.search",
    "tests.fixtures.movies_provider",
    "tests.fixtures.reports",
]

STORES = ("sqlite", "postgresql")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "stores(*names): run the test on these stores (default: SQLite and PostgreSQL)",
    )


def pytest_generate_tests(metafunc):
    if "database_store" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("stores")
        stores = STORES[:1] if marker is None else marker.args or STORES
        metafunc.parametrize("database_store", stores, indirect=True)


@pytest.fixture
def database_store(request):
    """The settings of the store under test: SQLite's file, or a PostgreSQL database."""
    if request.param == "sqlite":
        return {}
    return postgresql_settings(request.getfixturevalue("postgresql_url"))


@pytest.fixture
def db_path(tmp_path):
    """Path of a fresh catalogue database (or legacy file) for one test."""
    return tmp_path / "movies.sqlite"


@pytest.fixture(autouse=True)
def _close_connections():
    """Close the connections the test's apps keep, once the test is over."""
    yield
    while MADE:
        MADE.pop().extensions["db"].close()


@pytest.fixture
def make_app(db_path, database_store):
    """Make apps on the test's store, the embedded search index beside the
    database and a local cache; keyword arguments override any of these settings.
    """

    def make(**settings):
        return make_test_app(db_path, **{**database_store, **settings})

    return make


@pytest.fixture
def app(make_app):
    """An app on a temporary database, the embedded search index and a local cache."""
    return make_app()


@pytest.fixture
def client(app):
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for the app's ``flask`` commands."""
    return app.test_cli_runner()
