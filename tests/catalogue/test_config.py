"""Settings a deployment cannot run with are refused at start, naming what to set."""

import pytest

from catalogue.config import ConfigError, check_deployment
from tests.settings import make_test_app

POSTGRESQL = "postgresql://catalogue@db.internal/catalogue"


@pytest.mark.parametrize(
    ("settings", "missing"),
    [
        ({}, "ELASTICSEARCH_URL and REDIS_URL"),
        ({"REDIS_URL": "redis://cache.internal/0"}, "ELASTICSEARCH_URL"),
        ({"ELASTICSEARCH_URL": "http://search.internal:9200"}, "REDIS_URL"),
    ],
)
def test_postgresql_without_the_shared_parts_refuses_to_start(
    tmp_path, settings, missing
):
    with pytest.raises(ConfigError) as refused:
        make_test_app(tmp_path / "movies.sqlite", DATABASE_URL=POSTGRESQL, **settings)

    message = str(refused.value)
    assert f"DATABASE_URL is set but {missing} not" in message
    assert "SINGLE_NODE=true" in message


def test_one_machine_alone_may_keep_its_parts_in_its_files(tmp_path):
    app = make_test_app(
        tmp_path / "movies.sqlite", DATABASE_URL=POSTGRESQL, SINGLE_NODE=True
    )

    assert app.config["DATABASE_URL"] == POSTGRESQL


@pytest.mark.parametrize(
    "config",
    [
        {"DATABASE_URL": None, "ELASTICSEARCH_URL": None, "REDIS_URL": None},
        {
            "DATABASE_URL": POSTGRESQL,
            "ELASTICSEARCH_URL": "http://search.internal:9200",
            "REDIS_URL": "redis://cache.internal/0",
        },
    ],
)
def test_the_embedded_default_and_the_shared_parts_start(config):
    check_deployment(config)


def test_postgresql_needs_one_signing_key_for_every_node(tmp_path):
    with pytest.raises(
        ConfigError, match="JWT_SECRET_KEY must be set when DATABASE_URL"
    ):
        make_test_app(
            tmp_path / "movies.sqlite",
            DATABASE_URL=POSTGRESQL,
            SINGLE_NODE=True,
            JWT_SECRET_KEY=None,
        )
