"""PostgreSQL's migrations, and ``flask db import`` of a cleaned legacy file."""

import threading
from contextlib import closing

import pytest

from catalogue.db import open_catalogue
from catalogue.db.sqlite import connect
from catalogue.migrations import MigrationError, discover, importing, pending, upgrade
from catalogue.migrations.files import POSTGRESQL_DIR
from tests.factories import (
    REAL_LEGACY_DB,
    make_star_wars_db,
    migrate_catalogue,
    movie,
)
from tests.settings import full_settings, make_test_app, postgresql_settings

CATALOGUE_TABLES = [table for table, _ in importing.TABLES]


@pytest.fixture
def settings(db_path, empty_postgresql_url):
    """The settings of an app on a PostgreSQL database no migration has touched."""
    return full_settings(db_path, **postgresql_settings(empty_postgresql_url))


def rows(config, table, columns):
    """Every row of ``table``'s ``columns`` in the catalogue of ``config``, sorted."""
    with closing(open_catalogue(config)) as conn:
        found = conn.execute(f"SELECT {columns} FROM {table}").fetchall()
    return sorted(tuple(row) for row in found)


def sqlite_rows(path, table, columns):
    with closing(connect(path)) as conn:
        found = conn.execute(f"SELECT {columns} FROM {table}").fetchall()
    return sorted(tuple(row) for row in found)


def test_upgrade_applies_every_migration_once(settings):
    with closing(open_catalogue(settings)) as conn:
        first = upgrade(conn)
        second = upgrade(conn)
        left = pending(conn)

    assert first == [version for version, _ in discover(POSTGRESQL_DIR)]
    assert second == [] and left == []


def test_machines_upgrading_at_once_apply_each_migration_once(settings):
    results, failures = [], []

    def upgrade_here():
        try:
            with closing(open_catalogue(settings)) as conn:
                results.append(upgrade(conn))
        except Exception as exc:  # any failure fails the test below
            failures.append(exc)

    threads = [threading.Thread(target=upgrade_here) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert failures == []
    applied = [version for result in results for version in result]
    assert sorted(applied) == [version for version, _ in discover(POSTGRESQL_DIR)]


def test_a_migration_edited_after_it_was_applied_is_refused(settings, tmp_path):
    edited = tmp_path / "migrations"
    edited.mkdir()
    for _, path in discover(POSTGRESQL_DIR):
        (edited / path.name).write_text(path.read_text())
    with closing(open_catalogue(settings)) as conn:
        upgrade(conn, edited)
        first = sorted(edited.glob("*.sql"))[0]
        first.write_text(first.read_text() + "\n-- edited\n")

        with pytest.raises(MigrationError, match="changed after it was applied"):
            upgrade(conn, edited)


def test_a_failing_migration_is_rolled_back_whole(settings, tmp_path):
    broken = tmp_path / "migrations"
    broken.mkdir()
    (broken / "0001_half.sql").write_text(
        "CREATE TABLE half (id integer);\nINSERT INTO nowhere VALUES (1);\n"
    )
    with closing(open_catalogue(settings)) as conn:
        with pytest.raises(MigrationError, match="0001_half failed"):
            upgrade(conn, broken)

        assert conn.execute("SELECT to_regclass('half')").fetchone()[0] is None
        assert pending(conn, broken) == [("0001_half", broken / "0001_half.sql")]


@pytest.fixture
def migrated(settings):
    """``settings`` once PostgreSQL is migrated."""
    with closing(open_catalogue(settings)) as conn:
        upgrade(conn)
    return settings


def legacy(path):
    """A small legacy file: Star Wars (one actor, writers by id) and two more."""
    return make_star_wars_db(
        path,
        movie("tt0000002", "Alien", genre="Horror, Sci-Fi", director="Ridley Scott"),
        movie("tt0000003", "Звёздные войны", imdb_rating="7.1"),
        links=[("tt0000001", 1), ("tt0000001", 2)],
    )


def import_command(config, *args):
    """Run ``flask db import`` of an app on ``config``; return its result."""
    app = make_test_app(
        config["DATABASE_PATH"], **postgresql_settings(config["DATABASE_URL"])
    )
    return app.test_cli_runner().invoke(args=["db", "import", *args])


def test_import_cleans_the_file_and_copies_its_catalogue_as_it_is(migrated, db_path):
    legacy(db_path)

    result = import_command(migrated, str(db_path))

    assert result.exit_code == 0, result.output
    assert f"{len(discover())} SQLite migration(s) applied" in result.output
    assert "imported 3 films" in result.output
    for table, columns in importing.TABLES:
        listed = ", ".join(columns)
        assert rows(migrated, table, listed) == sqlite_rows(db_path, table, listed)
    with closing(open_catalogue(migrated)) as conn:
        (next_actor_id,) = conn.execute("SELECT nextval('legacy_actor_id')").fetchone()
    assert [(next_actor_id,)] == sqlite_rows(
        db_path, "legacy_actor_sequence", "next_id"
    )


def test_importing_the_same_file_again_changes_nothing(migrated, db_path):
    legacy(db_path)
    import_command(migrated, str(db_path))
    with closing(open_catalogue(migrated)) as conn:  # an admin's film since
        conn.execute("INSERT INTO film (id, title) VALUES ('new', 'Dark City')")
    before = rows(migrated, "film", "id, title, modified")

    again = import_command(migrated, str(db_path))

    assert again.exit_code == 0, again.output
    assert "imported before: nothing to import" in again.output
    assert rows(migrated, "film", "id, title, modified") == before


def test_another_catalogue_is_replaced_only_when_asked(migrated, db_path, tmp_path):
    legacy(db_path)
    import_command(migrated, str(db_path))
    other = tmp_path / "other.sqlite"
    make_star_wars_db(other)

    refused = import_command(migrated, str(other))
    with closing(open_catalogue(migrated)) as conn:
        conn.execute(
            "INSERT INTO etl_run (target, mode, state) VALUES ('x', 'full', 'completed')"
        )
    replaced = import_command(migrated, str(other), "--replace")

    assert refused.exit_code != 0
    assert "--replace" in refused.output
    assert replaced.exit_code == 0, replaced.output
    assert rows(migrated, "film", "id") == [("tt0000001",)]
    assert rows(migrated, "etl_run", "id") == []  # the next ETL run is full


def test_an_import_that_fails_midway_leaves_nothing(migrated, db_path, monkeypatch):
    legacy(db_path)
    copy = importing._copy

    def copy_then_fail(source, target, table, columns, progress):
        copy(source, target, table, columns, progress)
        if table == "film":
            raise RuntimeError("the machine went down")

    monkeypatch.setattr(importing, "_copy", copy_then_fail)

    result = import_command(migrated, str(db_path))

    assert result.exit_code != 0
    for table in CATALOGUE_TABLES:
        assert rows(migrated, table, "count(*)") == [(0,)], table


def test_import_needs_a_migrated_postgresql(settings, db_path):
    legacy(db_path)

    result = import_command(settings, str(db_path))

    assert result.exit_code != 0
    assert "run flask db upgrade first" in result.output


def test_import_needs_postgresql(db_path, tmp_path):
    legacy(db_path)
    app = make_test_app(tmp_path / "catalogue.sqlite")

    result = app.test_cli_runner().invoke(args=["db", "import", str(db_path)])

    assert result.exit_code != 0
    assert "set DATABASE_URL" in result.output


def test_upgrade_and_status_act_on_postgresql(settings):
    app = make_test_app(
        settings["DATABASE_PATH"], **postgresql_settings(settings["DATABASE_URL"])
    )
    runner = app.test_cli_runner()

    before = runner.invoke(args=["db", "status"])
    upgraded = runner.invoke(args=["db", "upgrade"])
    after = runner.invoke(args=["db", "status"])

    versions = [version for version, _ in discover(POSTGRESQL_DIR)]
    assert before.output.split() == [w for v in versions for w in ("pending", v)]
    assert f"{len(versions)} migration(s) applied" in upgraded.output
    assert after.output.split() == [w for v in versions for w in ("applied", v)]


@pytest.mark.skipif(
    not REAL_LEGACY_DB.exists(),
    reason="the old system's file is not beside this checkout",
)
def test_the_real_legacy_file_imports_whole(migrated, db_path):
    db_path.write_bytes(REAL_LEGACY_DB.read_bytes())

    migrate_catalogue(migrated)

    for table, columns in importing.TABLES:
        listed = ", ".join(columns)
        assert rows(migrated, table, listed) == sqlite_rows(db_path, table, listed)
