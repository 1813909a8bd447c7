import json
import shutil
import sqlite3
from contextlib import closing

import pytest

from catalogue.db.sqlite import connect
from catalogue.ids import stable_id
from catalogue.migrations import MigrationError, discover, upgrade
from catalogue.migrations.sqlite import backup_path
from tests.factories import (
    FORD,
    HAMILL,
    KASDAN,
    LUCAS,
    NA_ACTOR,
    REAL_LEGACY_DB,
    make_star_wars_db,
    movie,
    writer_id,
)

NA_WRITER = writer_id(3)


@pytest.fixture
def tricky_db(db_path):
    """A hand-written legacy database holding every defect at least once.

    Its first film is the plain ``star_wars()``.
    """
    return make_star_wars_db(
        db_path,
        # writers JSON repeating an id, a writer also in `writer`, N/A writer
        movie(
            "tt0000002",
            "Return of the Jedi",
            genre="Action, Adventure, Sci-Fi",
            director="Richard Marquand, George Lucas(co-director), Harrison Ford",
            writer=KASDAN,
            writers=[LUCAS, KASDAN, LUCAS, NA_WRITER],
            imdb_rating=" 8.3 ",
        ),
        movie("tt0000003", "Star Wars", genre="Documentary", writers=[NA_WRITER]),
        writers=[(NA_WRITER, "N/A")],
        links=[
            ("tt0000001", HAMILL),
            ("tt0000001", FORD),
            ("tt0000001", HAMILL),  # exact duplicate row
            ("tt0000001", NA_ACTOR),
            ("tt0000002", FORD),
            ("tt0000002", HAMILL),
            ("tt0000003", NA_ACTOR),
        ],
    )


def migrate(path):
    conn = connect(path)
    upgrade(conn)
    return conn


def rows(conn, query, *args):
    return [tuple(row) for row in conn.execute(query, args)]


def credits(conn, film_id, role):
    return rows(
        conn,
        "SELECT p.full_name FROM film_person AS fp JOIN person AS p ON p.id = fp.person_id"
        " WHERE fp.film_id = ? AND fp.role = ? ORDER BY fp.position",
        film_id,
        role,
    )


def test_films_get_typed_values_and_null_for_na(tricky_db):
    conn = migrate(tricky_db)
    assert rows(
        conn, "SELECT id, title, description, imdb_rating FROM film ORDER BY id"
    ) == [
        ("tt0000001", "Star Wars", "Luke Skywalker joins the rebellion.", 8.6),
        ("tt0000002", "Return of the Jedi", None, 8.3),
        ("tt0000003", "Star Wars", None, None),
    ]


def test_genres_become_rows_linked_in_order(tricky_db):
    conn = migrate(tricky_db)
    assert rows(conn, "SELECT name FROM genre ORDER BY name") == [
        ("Action",),
        ("Adventure",),
        ("Documentary",),
        ("Sci-Fi",),
    ]
    assert rows(
        conn,
        "SELECT g.name FROM film_genre AS fg JOIN genre AS g ON g.id = fg.genre_id"
        " WHERE fg.film_id = 'tt0000002' ORDER BY fg.position",
    ) == [("Action",), ("Adventure",), ("Sci-Fi",)]


def test_writers_merge_both_columns_deduplicated_in_first_occurrence_order(tricky_db):
    conn = migrate(tricky_db)
    assert credits(conn, "tt0000001", "writer") == [("George Lucas",)]
    assert credits(conn, "tt0000002", "writer") == [
        ("Lawrence Kasdan",),
        ("George Lucas",),
    ]
    assert credits(conn, "tt0000003", "writer") == []


def test_directors_are_split_and_lose_role_notes(tricky_db):
    conn = migrate(tricky_db)
    assert credits(conn, "tt0000002", "director") == [
        ("Richard Marquand",),
        ("George Lucas",),
        ("Harrison Ford",),
    ]
    assert credits(conn, "tt0000003", "director") == []


def test_actor_links_collapse_duplicates_and_keep_legacy_order(tricky_db):
    conn = migrate(tricky_db)
    assert credits(conn, "tt0000001", "actor") == [("Mark Hamill",), ("Harrison Ford",)]
    assert credits(conn, "tt0000002", "actor") == [("Harrison Ford",), ("Mark Hamill",)]
    assert credits(conn, "tt0000003", "actor") == []


def test_nobody_is_called_na(tricky_db):
    conn = migrate(tricky_db)
    assert rows(
        conn, "SELECT count(*) FROM person WHERE upper(trim(full_name)) = 'N/A'"
    ) == [(0,)]
    assert rows(
        conn,
        "SELECT count(*) FROM film WHERE title = 'N/A' OR description = 'N/A'",
    ) == [(0,)]


def test_one_person_across_roles_with_stable_id_and_legacy_ids(tricky_db):
    conn = migrate(tricky_db)
    lucas = stable_id("person", "George Lucas")
    assert rows(
        conn, "SELECT id, full_name FROM person WHERE full_name = 'George Lucas'"
    ) == [(lucas, "George Lucas")]
    assert rows(
        conn,
        "SELECT DISTINCT role FROM film_person WHERE person_id = ? ORDER BY role",
        lucas,
    ) == [("director",), ("writer",)]
    ford = stable_id("person", "Harrison Ford")
    assert rows(
        conn,
        "SELECT DISTINCT role FROM film_person WHERE person_id = ? ORDER BY role",
        ford,
    ) == [("actor",), ("director",)]
    assert rows(
        conn,
        "SELECT source, legacy_id, person_id FROM person_legacy_id ORDER BY source, legacy_id",
    ) == [
        ("actor", "1", stable_id("person", "Mark Hamill")),
        ("actor", "2", ford),
        ("writer", LUCAS, lucas),
        ("writer", KASDAN, stable_id("person", "Lawrence Kasdan")),
    ]


def test_ids_are_stable_across_separate_migrations(tricky_db, tmp_path):
    copy = tmp_path / "copy.sqlite"
    shutil.copy(tricky_db, copy)
    first, second = migrate(tricky_db), migrate(copy)
    query = "SELECT id, full_name FROM person ORDER BY id"
    assert rows(first, query) == rows(second, query)
    assert rows(first, "SELECT id, name FROM genre ORDER BY id") == rows(
        second, "SELECT id, name FROM genre ORDER BY id"
    )


def test_every_row_has_timestamps(tricky_db):
    conn = migrate(tricky_db)
    for table in (
        "film",
        "genre",
        "person",
        "person_legacy_id",
        "film_genre",
        "film_person",
    ):
        missing = conn.execute(
            f"SELECT count(*) FROM {table} WHERE created IS NULL OR modified IS NULL"
            " OR modified NOT LIKE '____-__-__T__:__:__.___Z'"
        ).fetchone()[0]
        assert missing == 0, table


def test_the_legacy_names_read_the_clean_catalogue(tricky_db):
    conn = migrate(tricky_db)
    assert rows(
        conn,
        "SELECT id, genre, director, writer, title, plot, ratings, imdb_rating"
        " FROM movies ORDER BY id",
    ) == [
        (
            "tt0000001",
            "Action, Sci-Fi",
            "George Lucas",
            None,
            "Star Wars",
            "Luke Skywalker joins the rebellion.",
            None,
            8.6,
        ),
        (
            "tt0000002",
            "Action, Adventure, Sci-Fi",
            "Richard Marquand, George Lucas, Harrison Ford",
            None,
            "Return of the Jedi",
            None,
            None,
            8.3,
        ),
        ("tt0000003", "Documentary", None, None, "Star Wars", None, None, None),
    ]
    # The writers in one form, each once, in the order the film credits them.
    writers = dict(rows(conn, "SELECT id, writers FROM movies"))
    assert json.loads(writers["tt0000001"]) == [{"id": LUCAS}]
    assert json.loads(writers["tt0000002"]) == [{"id": KASDAN}, {"id": LUCAS}]
    assert writers["tt0000003"] is None
    assert sorted(rows(conn, "SELECT movie_id, actor_id FROM movie_actors")) == [
        ("tt0000001", str(HAMILL)),
        ("tt0000001", str(FORD)),
        ("tt0000002", str(HAMILL)),
        ("tt0000002", str(FORD)),
    ]
    assert rows(conn, "SELECT id, name FROM actors ORDER BY id") == [
        (HAMILL, "Mark Hamill"),
        (FORD, "Harrison Ford"),
    ]
    assert rows(conn, "SELECT id, name FROM writers ORDER BY id") == [
        (LUCAS, "George Lucas"),
        (KASDAN, "Lawrence Kasdan"),
    ]


def na_cells(conn):
    """Return ``(table or view, column)`` of every text cell that reads N/A."""
    found = []
    objects = conn.execute(
        "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view')"
        " AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    for (name,) in objects:
        for (column,) in conn.execute("SELECT name FROM pragma_table_info(?)", (name,)):
            query = f'SELECT 1 FROM "{name}" WHERE upper(trim("{column}")) = \'N/A\''
            if conn.execute(query).fetchone():
                found.append((name, column))
    return found


def test_no_table_or_view_holds_na_after_the_migrations(tricky_db):
    with closing(connect(tricky_db)) as before:
        assert ("movies", "plot") in na_cells(before)
    conn = migrate(tricky_db)
    assert na_cells(conn) == []


def test_the_original_legacy_rows_are_backed_up_beside_the_database(tricky_db, runner):
    with closing(connect(tricky_db)) as conn:
        original = {
            table: sorted(rows(conn, f"SELECT * FROM {table}"))
            for table in ("movies", "actors", "writers", "movie_actors")
        }
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output

    backup = backup_path(tricky_db, "0008_legacy_views")
    assert backup.parent == tricky_db.parent
    assert f"to {backup}" in result.output
    with closing(connect(backup, readonly=True)) as saved:
        for table, expected in original.items():
            assert sorted(rows(saved, f"SELECT * FROM {table}")) == expected, table
    assert not backup.with_name(backup.name + ".partial").exists()


def test_a_backup_that_fails_changes_nothing(tricky_db, monkeypatch):
    conn = connect(tricky_db)
    dump = list(conn.iterdump())
    monkeypatch.setattr(
        "catalogue.migrations.sqlite.tables_to_back_up",
        lambda path: ["movies", "no_such_table"] if "0008" in path.name else [],
    )
    with pytest.raises(MigrationError, match="no_such_table"):
        upgrade(conn)
    # The migrations before it applied; the legacy tables are untouched.
    assert rows(conn, "SELECT type FROM sqlite_schema WHERE name = 'movies'") == [
        ("table",)
    ]
    assert [line for line in conn.iterdump() if 'INSERT INTO "movies"' in line] == [
        line for line in dump if 'INSERT INTO "movies"' in line
    ]
    assert not backup_path(tricky_db, "0008_legacy_views").exists()


def test_rerunning_changes_nothing(tricky_db):
    conn = migrate(tricky_db)
    dump = list(conn.iterdump())
    assert upgrade(conn) == []
    assert list(conn.iterdump()) == dump


def test_links_have_keys_foreign_keys_and_indexes(tricky_db):
    conn = migrate(tricky_db)
    for table in ("film_genre", "film_person", "person_legacy_id"):
        assert any(row["pk"] for row in conn.execute(f"PRAGMA table_info({table})")), (
            table
        )
        assert conn.execute(f"PRAGMA foreign_key_list({table})").fetchall(), table
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    indexed = {row["name"] for row in conn.execute("PRAGMA index_list(film_person)")}
    assert "film_person_person_idx" in indexed
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO film_person (film_id, person_id, role, position)"
            " VALUES ('tt0000001', ?, 'actor', 9)",
            (stable_id("person", "Mark Hamill"),),
        )


def test_cli_upgrade_reports_progress_and_is_idempotent(tricky_db, runner):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"{len(discover())} migration(s) applied" in result.output
    assert "applied 0002_clean_legacy_data" in result.output
    again = runner.invoke(args=["db", "upgrade"])
    assert again.exit_code == 0
    assert "database is up to date" in again.output


def test_missing_file_is_a_clear_error(runner, db_path):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code != 0
    assert "database file not found" in result.output
    assert not db_path.exists()


def test_file_that_is_not_sqlite_is_refused(runner, db_path):
    db_path.write_bytes(b"this is not a database\n" * 100)
    before = db_path.read_bytes()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code != 0
    assert "is not a SQLite database" in result.output
    assert db_path.read_bytes() == before


def test_sqlite_file_without_legacy_tables_is_refused(runner, db_path):
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE movies (id text primary key, title text)")
    conn.close()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code != 0
    assert "not a legacy movie database" in result.output
    conn = connect(db_path)
    assert rows(conn, "SELECT name FROM sqlite_master WHERE name = 'film'") == []


@pytest.mark.parametrize("kind", ["empty", "foreign"])
def test_a_refused_file_is_left_byte_for_byte(runner, db_path, kind):
    if kind == "empty":
        db_path.touch()
    else:
        with closing(sqlite3.connect(db_path)) as conn, conn:
            conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
            conn.execute("INSERT INTO invoices (total) VALUES (9.5)")
    before = db_path.read_bytes()

    result = runner.invoke(args=["db", "upgrade"])

    assert result.exit_code != 0
    assert "not a legacy movie database" in result.output
    assert db_path.read_bytes() == before
    assert sorted(p.name for p in db_path.parent.iterdir()) == [db_path.name]


def test_half_applied_earlier_migration_is_rolled_back_whole(tricky_db, runner):
    conn = sqlite3.connect(tricky_db)
    conn.execute(
        "CREATE TABLE person (id TEXT PRIMARY KEY)"
    )  # left by a broken attempt
    conn.close()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code != 0
    assert "0001_catalogue_schema failed and was rolled back" in result.output
    conn = connect(tricky_db)
    assert (
        rows(conn, "SELECT name FROM sqlite_master WHERE name IN ('film', 'genre')")
        == []
    )
    assert rows(conn, "SELECT count(*) FROM schema_migrations") == [(0,)]


def test_edited_migration_is_refused(tricky_db, tmp_path):
    conn = migrate(tricky_db)
    edited = tmp_path / "migrations"
    edited.mkdir()
    for _, path in discover():
        shutil.copy(path, edited / path.name)
    first = sorted(edited.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")
    with pytest.raises(Exception, match="changed after it was applied"):
        upgrade(conn, edited)


@pytest.mark.skipif(
    not REAL_LEGACY_DB.exists(),
    reason="the old system's file is not beside this checkout",
)
class TestRealLegacyDatabase:
    @pytest.fixture
    def migrated(self, tmp_path):
        path = tmp_path / "legacy.sqlite"
        shutil.copy(REAL_LEGACY_DB, path)
        with closing(migrate(path)):
            return path

    @pytest.fixture
    def conn(self, migrated):
        """The original legacy tables (the backup), the migrated catalogue beside."""
        conn = connect(backup_path(migrated, "0008_legacy_views"))
        conn.execute("ATTACH DATABASE ? AS catalogue", (str(migrated),))
        yield conn
        conn.close()

    def test_no_table_or_view_holds_na(self, migrated):
        with closing(connect(migrated)) as conn:
            assert na_cells(conn) == []
            # The real file's defects, read through the legacy names.
            assert rows(
                conn,
                "SELECT count(*) FROM (SELECT movie_id, actor_id FROM movie_actors"
                " GROUP BY 1, 2 HAVING count(*) > 1)",
            ) == [(0,)]
            assert rows(
                conn, "SELECT count(*) FROM movies WHERE writer IS NOT NULL"
            ) == [(0,)]

    def test_every_film_survives(self, conn):
        assert rows(conn, "SELECT count(*) FROM film") == rows(
            conn, "SELECT count(*) FROM movies"
        )

    def test_no_na_anywhere(self, conn):
        assert rows(
            conn,
            "SELECT count(*) FROM film WHERE description = 'N/A' OR title = 'N/A'",
        ) == [(0,)]
        assert rows(conn, "SELECT count(*) FROM person WHERE full_name = 'N/A'") == [
            (0,)
        ]
        assert rows(conn, "SELECT count(*) FROM genre WHERE name = 'N/A'") == [(0,)]
        assert rows(conn, "SELECT count(*) FROM person WHERE full_name LIKE '%(%'") == [
            (0,)
        ]

    def test_ratings_typed(self, conn):
        assert rows(
            conn,
            "SELECT count(*) FROM film WHERE typeof(imdb_rating) NOT IN ('real', 'null')",
        ) == [(0,)]
        expected = rows(conn, "SELECT count(*) FROM movies WHERE imdb_rating = 'N/A'")
        assert (
            rows(conn, "SELECT count(*) FROM film WHERE imdb_rating IS NULL")
            == expected
        )

    def test_every_distinct_actor_link_kept(self, conn):
        expected = rows(
            conn,
            "SELECT count(*) FROM (SELECT DISTINCT ma.movie_id, ma.actor_id FROM movie_actors AS ma"
            " JOIN actors AS a ON a.id = CAST(ma.actor_id AS INTEGER) WHERE a.name <> 'N/A')",
        )
        assert (
            rows(conn, "SELECT count(*) FROM film_person WHERE role = 'actor'")
            == expected
        )
        # and the link table holds exactly those pairs
        assert rows(
            conn,
            "SELECT count(*) FROM movie_actors AS ma JOIN actors AS a ON a.id = ma.actor_id"
            " JOIN person_legacy_id AS l ON l.source = 'actor' AND l.legacy_id = ma.actor_id"
            " LEFT JOIN film_person AS fp ON fp.film_id = ma.movie_id"
            "  AND fp.person_id = l.person_id AND fp.role = 'actor'"
            " WHERE a.name <> 'N/A' AND fp.film_id IS NULL",
        ) == [(0,)]

    def test_every_writer_reference_kept(self, conn):
        missing = rows(
            conn,
            "WITH refs AS ("
            " SELECT id AS film_id, writer AS writer_id FROM movies WHERE writer <> ''"
            " UNION SELECT m.id, j.value ->> '$.id' FROM movies AS m, json_each(m.writers) AS j"
            "  WHERE m.writers <> '')"
            " SELECT count(*) FROM refs JOIN writers AS w ON w.id = refs.writer_id"
            " JOIN person_legacy_id AS l ON l.source = 'writer' AND l.legacy_id = w.id"
            " LEFT JOIN film_person AS fp ON fp.film_id = refs.film_id"
            "  AND fp.person_id = l.person_id AND fp.role = 'writer'"
            " WHERE w.name <> 'N/A' AND fp.film_id IS NULL",
        )
        assert missing == [(0,)]

    def test_every_genre_and_director_kept(self, conn):
        assert rows(conn, "SELECT count(*) FROM genre") == [(26,)]
        split_directors = rows(
            conn,
            "SELECT count(*) FROM movies WHERE director <> 'N/A' AND director LIKE '%,%'",
        )[0][0]
        with_many = rows(
            conn,
            "SELECT count(*) FROM (SELECT film_id FROM film_person WHERE role = 'director'"
            " GROUP BY film_id HAVING count(*) > 1)",
        )[0][0]
        assert with_many == split_directors
        assert rows(
            conn,
            "SELECT count(DISTINCT film_id) FROM film_person WHERE role = 'director'",
        ) == rows(conn, "SELECT count(*) FROM movies WHERE director <> 'N/A'")

    def test_star_wars_card(self, conn):
        assert credits(conn, "tt0076759", "actor")[:3] == [
            ("Mark Hamill",),
            ("Harrison Ford",),
            ("Carrie Fisher",),
        ]
        assert credits(conn, "tt0086190", "writer") == [
            ("Lawrence Kasdan",),
            ("George Lucas",),
        ]


def _migrations_up_to(tmp_path, last):
    """A folder holding the migrations up to ``last``, as a release before it had."""
    folder = tmp_path / f"migrations-to-{last}"
    folder.mkdir()
    for version, path in discover():
        if version <= last:
            shutil.copy(path, folder / path.name)
    return folder


def test_collections_keep_the_movie_data_they_showed(db_path, tmp_path):
    make_star_wars_db(db_path)
    conn = connect(db_path)
    upgrade(conn, _migrations_up_to(tmp_path, "0012_report_job_queued_at"))
    with conn:
        conn.execute(
            "INSERT INTO account (id, username, username_key, password_hash)"
            " VALUES (1, 'alice', 'alice', 'x')"
        )
        conn.execute(
            "INSERT INTO provider_movie (uuid, title, description, genres)"
            " VALUES ('m1', 'Dune', 'Sand.', 'Sci-Fi')"
        )
        conn.execute(
            "INSERT INTO movie_collection (id, uuid, owner_id, title)"
            " VALUES (7, 'c7', 1, 'Mine')"
        )
        conn.execute(
            "INSERT INTO collection_movie (collection_id, position, movie_uuid)"
            " VALUES (7, 0, 'm1')"
        )

    upgrade(conn)

    rows = conn.execute(
        "SELECT collection_id, position, movie_uuid, title, description, genres"
        " FROM collection_movie"
    ).fetchall()
    assert [tuple(row) for row in rows] == [(7, 0, "m1", "Dune", "Sand.", "Sci-Fi")]
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "provider_movie" not in tables
    before = conn.execute("SELECT revision FROM collection_revision").fetchone()[0]
    with conn:
        conn.execute("DELETE FROM account WHERE id = 1")
    after = conn.execute("SELECT revision FROM collection_revision").fetchone()[0]
    assert after == before + 1
    conn.close()


def test_usernames_get_their_nfkc_keys_and_skeletons(db_path, tmp_path):
    make_star_wars_db(db_path)
    conn = connect(db_path)
    upgrade(conn, _migrations_up_to(tmp_path, "0015_account_public_id"))
    with conn:
        conn.executemany(
            "INSERT INTO account (id, public_id, username, username_key,"
            " password_hash) VALUES (?, ?, ?, ?, 'x')",
            [
                (1, "p1", "secadmin", "secadmin"),
                # Registered before, beside it: its NFKC key is secadmin's.
                (2, "p2", "ｓｅｃａｄｍｉｎ", "ｓｅｃａｄｍｉｎ"),
                (3, "p3", "ＢＯＢ", "ｂｏｂ"),
            ],
        )

    upgrade(conn)

    rows = conn.execute(
        "SELECT id, username_key, username_skeleton FROM account ORDER BY id"
    ).fetchall()
    assert [tuple(row) for row in rows] == [
        (1, "secadmin", "secadrnin"),
        (2, "ｓｅｃａｄｍｉｎ", "secadrnin"),
        (3, "bob", "bob"),
    ]
    conn.close()
