"""The ETL's callable core: what a job or an admin write calls, without click."""

import os
from contextlib import closing

import click
import pytest

from catalogue.db.sqlite import connect
from etl import EtlError, runner, state
from tests.factories import make_legacy_db, migrate_catalogue, movie

pytestmark = pytest.mark.stores


@pytest.fixture
def migrated(search_app, db_path):
    """A migrated catalogue of two films (imported into PostgreSQL, on it)."""
    make_legacy_db(
        db_path, movies=[movie("tt0000001", "Alien"), movie("tt0000002", "Aliens")]
    )
    migrate_catalogue(search_app.config)
    return search_app.config


def test_run_loads_the_catalogue_and_sets_a_new_data_version(migrated, reader):
    first = runner.run()
    version = reader.data_version()
    second = runner.run()

    assert (first.mode, first.documents["movies"]) == ("full", 2)
    assert (second.mode, second.documents["movies"]) == ("incremental", 0)
    assert reader.get_film("tt0000002")["title"] == "Aliens"
    assert reader.data_version() not in {"0", version}


def test_a_second_run_meanwhile_is_refused_with_a_plain_exception(migrated):
    with state.run_lock(migrated), pytest.raises(state.RunInProgress) as refused:
        runner.run()

    assert isinstance(refused.value, EtlError)
    assert not isinstance(refused.value, click.ClickException)


@pytest.mark.stores("sqlite")
@pytest.mark.parametrize("prepare", ["missing", "unmigrated"])
def test_a_catalogue_it_cannot_load_is_a_plain_error(search_app, db_path, prepare):
    if prepare == "unmigrated":
        make_legacy_db(db_path)

    with pytest.raises(EtlError) as refused:
        runner.run()

    assert not isinstance(refused.value, click.ClickException)
    expected = "not found" if prepare == "missing" else "run flask db upgrade"
    assert expected in str(refused.value)


@pytest.mark.stores("postgresql")
def test_a_catalogue_not_migrated_is_a_plain_error(search_app, empty_postgresql_url):
    search_app.config["DATABASE_URL"] = empty_postgresql_url

    with pytest.raises(EtlError, match="run flask db upgrade"):
        runner.run()


@pytest.mark.stores("sqlite")
def test_a_run_writes_nothing_to_the_catalogue(migrated):
    with closing(connect(migrated["DATABASE_PATH"])) as watcher:
        before = watcher.execute("PRAGMA data_version").fetchone()[0]
        runner.run()
        runner.run()
        after = watcher.execute("PRAGMA data_version").fetchone()[0]
        tables = {row[0] for row in watcher.execute("SELECT name FROM sqlite_schema")}

    # data_version moves whenever another connection commits a change.
    assert after == before
    assert "etl_run" not in tables


def test_the_command_gives_way_to_requests_on_the_cpu(make_app, db_path, monkeypatch):
    make_legacy_db(db_path, movies=[movie("tt0000001", "Alien")])
    lowered = []
    monkeypatch.setattr(os, "nice", lowered.append)
    app = make_app(ETL_NICENESS=7)
    migrate_catalogue(app.config)

    result = app.test_cli_runner().invoke(args=["etl", "run"])

    assert result.exit_code == 0, result.output
    assert lowered == [7]
