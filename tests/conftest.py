"""Fixtures shared by the whole suite: the app, its client and CLI runner."""

import pytest

from tests.settings import make_test_app

pytest_plugins = [
    "tests.fixtures.accounts",
    "tests.fixtures.elasticsearch",
    "tests.fixtures.search",
    "tests.fixtures.redis",
    "tests.fixtures.movies_provider",
    "tests.fixtures.reports",
]


@pytest.fixture
def db_path(tmp_path):
    """Path of a fresh catalogue database for one test."""
    return tmp_path / "movies.sqlite"


@pytest.fixture
def make_app(db_path):
    """Make apps on the test's database, the embedded search index beside it and a
    local cache; keyword arguments override any of these settings.
    """

    def make(**settings):
        return make_test_app(db_path, **settings)

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
