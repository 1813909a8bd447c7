import json
import os
import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from catalogue.legacy import create_legacy_tables, legacy_columns
from datagen import generator
from datagen.generator import generate

ROOT = Path(__file__).resolve().parents[2]
LEGACY_DB = Path(__file__).resolve().parents[2].parent / "shared/legacy/db.sqlite"

TABLES = tuple(legacy_columns())

# Rates measured on the legacy file (999 films), and how far a generated
# database of 5,000 films may stray from each (about four standard deviations).
LEGACY_RATES = {
    "director_na": (0.304, 0.03),
    "director_list": (0.088, 0.02),
    "co_director": (0.005, 0.004),
    "single_writer": (0.597, 0.03),
    "repeated_writer_lists": (0.196, 0.04),
    "plot_na": (0.249, 0.03),
    "rating_na": (0.001, 0.002),
    "na_actor_films": (0.070, 0.015),
    "na_writer_films": (0.320, 0.03),
    "links_per_film": (3.522, 0.15),
    "duplicate_links": (0.0134, 0.007),
    "shared_titles": (0.040, 0.01),
    "long_ids": (0.013, 0.007),
    "single_genre": (0.337, 0.03),
    "actor_writer_names": (0.095, 0.025),
}
HEX40 = re.compile(r"[0-9a-f]{40}")
CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def read_only(path):
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def measure(conn):
    """Return the legacy defect rates of a database, keyed like LEGACY_RATES."""
    films = conn.execute("SELECT count(*) FROM movies").fetchone()[0]

    def share(sql):
        return conn.execute(sql).fetchone()[0] / films

    na_writer = conn.execute("SELECT id FROM writers WHERE name = 'N/A'").fetchone()[0]
    na_actor = conn.execute("SELECT id FROM actors WHERE name = 'N/A'").fetchone()[0]
    lists = [
        [item["id"] for item in json.loads(listed)]
        for (listed,) in conn.execute("SELECT writers FROM movies WHERE writers <> ''")
    ]
    links = conn.execute("SELECT count(*) FROM movie_actors").fetchone()[0]
    distinct_links = conn.execute(
        "SELECT count(*) FROM (SELECT DISTINCT movie_id, actor_id FROM movie_actors)"
    ).fetchone()[0]
    return {
        "director_na": share("SELECT count(*) FROM movies WHERE director = 'N/A'"),
        "director_list": share(
            "SELECT count(*) FROM movies WHERE director <> 'N/A' AND director LIKE '%, %'"
        ),
        "co_director": share(
            "SELECT count(*) FROM movies WHERE director LIKE '%(co-director)%'"
        ),
        "single_writer": share("SELECT count(*) FROM movies WHERE writer <> ''"),
        "repeated_writer_lists": sum(len(set(ids)) < len(ids) for ids in lists)
        / len(lists),
        "plot_na": share("SELECT count(*) FROM movies WHERE plot = 'N/A'"),
        "rating_na": share("SELECT count(*) FROM movies WHERE imdb_rating = 'N/A'"),
        "na_actor_films": conn.execute(
            "SELECT count(DISTINCT movie_id) FROM movie_actors WHERE actor_id = ?",
            (str(na_actor),),
        ).fetchone()[0]
        / films,
        "na_writer_films": conn.execute(
            "SELECT count(*) FROM movies WHERE writer = ?", (na_writer,)
        ).fetchone()[0]
        / films,
        "links_per_film": links / films,
        "duplicate_links": (links - distinct_links) / links,
        "shared_titles": share(
            "SELECT count(*) FROM"
            " (SELECT title FROM movies GROUP BY title HAVING count(*) > 1)"
        ),
        "long_ids": share("SELECT count(*) FROM movies WHERE length(id) > 9"),
        "single_genre": share("SELECT count(*) FROM movies WHERE genre NOT LIKE '%,%'"),
        "actor_writer_names": share(
            "SELECT count(*) FROM"
            " (SELECT name FROM actors INTERSECT SELECT name FROM writers)"
        ),
    }


def dump(path):
    """Every row of every legacy table, in storage order."""
    with closing(read_only(path)) as conn:
        tables = (*TABLES, "sqlite_sequence")
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
            for table in tables
        }


def layout(conn):
    return {
        table: conn.execute(f"PRAGMA table_info({table})").fetchall()
        for table in TABLES
    }


def schema(conn):
    return conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master"
    ).fetchall()


@pytest.fixture(scope="module")
def films_5k(tmp_path_factory):
    """A database of 5,000 generated films, opened read-only."""
    path = tmp_path_factory.mktemp("datagen") / "legacy.sqlite"
    summary = generate(path, films=5_000, seed=42)
    conn = read_only(path)
    yield conn, summary
    conn.close()


@pytest.fixture
def legacy():
    """The real legacy file, opened read-only; skips when it is not there."""
    if not LEGACY_DB.is_file():
        pytest.skip(f"no legacy file at {LEGACY_DB}")
    conn = read_only(LEGACY_DB)
    yield conn
    conn.close()


def test_layout_is_the_legacy_files(films_5k):
    conn, _ = films_5k
    if LEGACY_DB.is_file():
        with closing(read_only(LEGACY_DB)) as original:
            assert schema(conn) == schema(original)
            assert layout(conn) == layout(original)
    with closing(sqlite3.connect(":memory:")) as defined:
        create_legacy_tables(defined)
        assert schema(conn) == schema(defined)
        assert layout(conn) == layout(defined)


def test_legacy_rates_are_the_legacy_files(legacy):
    rates = measure(legacy)
    for key, (expected, _) in LEGACY_RATES.items():
        assert rates[key] == pytest.approx(expected, abs=0.002), key


def test_defect_rates_match_the_legacy_file(films_5k):
    conn, _ = films_5k
    rates = measure(conn)
    for key, (expected, tolerance) in LEGACY_RATES.items():
        assert abs(rates[key] - expected) <= tolerance, (key, rates[key])


def test_summary_counts_the_rows(films_5k):
    conn, summary = films_5k
    count = {
        table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in TABLES
    }
    assert summary.films == count["movies"] == 5_000
    assert summary.actors == count["actors"]
    assert summary.writers == count["writers"]
    assert summary.actor_links == count["movie_actors"]
    assert count["rating_agency"] == 0


def test_films_have_imdb_ids_and_legacy_values(films_5k):
    conn, _ = films_5k
    rows = conn.execute("SELECT id, ratings, imdb_rating FROM movies").fetchall()
    ids = [film_id for film_id, _, _ in rows]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"tt\d{7,8}", film_id) for film_id in ids)
    assert {ratings for _, ratings, _ in rows} == {None}
    assert all(
        rating == "N/A" or re.fullmatch(r"\d\.\d", rating) for _, _, rating in rows
    )


def test_writer_and_writers_exclude_each_other(films_5k):
    conn, _ = films_5k
    writer_ids = {row[0] for row in conn.execute("SELECT id FROM writers")}
    assert all(HEX40.fullmatch(writer_id) for writer_id in writer_ids)
    for writer, writers in conn.execute("SELECT writer, writers FROM movies"):
        assert (writer == "") != (writers == "")
        if writer:
            assert writer in writer_ids
        else:
            listed = json.loads(writers)
            assert writers == json.dumps(listed)
            assert {item["id"] for item in listed} <= writer_ids


def test_na_people_and_duplicates_are_present(films_5k):
    conn, _ = films_5k
    assert conn.execute("SELECT count(*) FROM actors WHERE name = 'N/A'").fetchone()
    assert conn.execute("SELECT count(*) FROM writers WHERE name = 'N/A'").fetchone()
    for table in ("actors", "writers"):
        names = [row[0] for row in conn.execute(f"SELECT name FROM {table}")]
        assert len(set(names)) == len(names), table
    assert conn.execute(
        "SELECT count(*) FROM movie_actors GROUP BY movie_id, actor_id"
        " HAVING count(*) > 1"
    ).fetchone()
    types = conn.execute("SELECT DISTINCT typeof(actor_id) FROM movie_actors")
    assert types.fetchall() == [("text",)]
    assert not conn.execute(
        "SELECT count(*) FROM movie_actors"
        " WHERE CAST(actor_id AS INTEGER) NOT IN (SELECT id FROM actors)"
    ).fetchone()[0]


def test_directors_are_names_some_also_writers_or_actors(films_5k):
    conn, _ = films_5k
    directors = set()
    for (director,) in conn.execute("SELECT director FROM movies"):
        if director != "N/A":
            directors |= {
                name.removesuffix("(co-director)") for name in director.split(", ")
            }
    writers = {row[0] for row in conn.execute("SELECT name FROM writers")}
    actors = {row[0] for row in conn.execute("SELECT name FROM actors")}
    assert 0.3 < len(directors & writers) / len(directors) < 0.55
    assert 0.04 < len(directors & actors) / len(directors) < 0.2
    assert directors & writers & actors
    co_directed = conn.execute(
        "SELECT director FROM movies WHERE director LIKE '%(co-director)%'"
    ).fetchall()
    assert all(re.search(r"\S\(co-director\)", row[0]) for row in co_directed)


def test_genres_keep_the_legacy_26_and_add_a_long_tail(tmp_path):
    legacy_genres = {
        "Action", "Adventure", "Animation", "Biography", "Comedy", "Crime",
        "Documentary", "Drama", "Family", "Fantasy", "Game-Show", "History",
        "Horror", "Music", "Musical", "Mystery", "News", "Reality-TV", "Romance",
        "Sci-Fi", "Short", "Sport", "Talk-Show", "Thriller", "War", "Western",
    }  # fmt: skip
    path = tmp_path / "large.sqlite"
    generate(path, films=20_000, seed=3)
    with closing(read_only(path)) as large:
        genres = set()
        for (listed,) in large.execute("SELECT genre FROM movies"):
            genres |= set(listed.split(", "))
    assert legacy_genres <= genres
    assert len(genres) >= 100


def test_russian_titles_plots_and_names(films_5k):
    conn, summary = films_5k
    russian = [
        (title, plot)
        for title, plot in conn.execute("SELECT title, plot FROM movies")
        if CYRILLIC.search(title)
    ]
    assert 0.09 < len(russian) / 5_000 < 0.16
    assert len(russian) == summary.russian_films
    assert any(CYRILLIC.search(plot) for _, plot in russian if plot != "N/A")
    names = [row[0] for row in conn.execute("SELECT name FROM actors")]
    assert any(CYRILLIC.search(name) for name in names)


def test_same_seed_gives_the_same_database(tmp_path):
    generate(tmp_path / "a.sqlite", films=300, seed=5)
    generate(tmp_path / "b.sqlite", films=300, seed=5)
    generate(tmp_path / "c.sqlite", films=300, seed=6)
    assert dump(tmp_path / "a.sqlite") == dump(tmp_path / "b.sqlite")
    assert (
        dump(tmp_path / "a.sqlite")["movies"] != dump(tmp_path / "c.sqlite")["movies"]
    )


@pytest.mark.slow
def test_same_seed_gives_the_same_database_in_another_process(tmp_path):
    generate(tmp_path / "here.sqlite", films=300, seed=5)
    code = (
        "import sys; from datagen.generator import generate;"
        " generate(sys.argv[1], films=300, seed=5)"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "there.sqlite")],
        cwd=ROOT,
        env=dict(os.environ, PYTHONHASHSEED="12345"),
        check=True,
    )
    assert dump(tmp_path / "here.sqlite") == dump(tmp_path / "there.sqlite")


def test_one_film_is_enough(tmp_path):
    summary = generate(tmp_path / "one.sqlite", films=1, seed=1)
    assert summary.films == 1
    assert dump(tmp_path / "one.sqlite")["movies"][0][0].startswith("tt")


def test_cli_generates_at_database_path(runner, db_path):
    result = runner.invoke(args=["data", "generate", "--films", "50", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "Generated 50 films" in result.output
    assert len(dump(db_path)["movies"]) == 50
    assert sorted(path.name for path in db_path.parent.iterdir()) == [db_path.name]


def test_cli_refuses_to_overwrite_without_force(runner, db_path):
    db_path.write_bytes(b"precious")
    result = runner.invoke(args=["data", "generate", "--films", "50"])
    assert result.exit_code == 1
    assert "--force" in result.output
    assert db_path.read_bytes() == b"precious"


def test_cli_force_replaces_and_drops_a_stale_wal(runner, db_path):
    db_path.write_bytes(b"precious")
    wal = Path(f"{db_path}-wal")
    wal.write_bytes(b"stale")
    result = runner.invoke(args=["data", "generate", "--films", "50", "--force"])
    assert result.exit_code == 0, result.output
    assert len(dump(db_path)["movies"]) == 50
    assert not wal.exists()


def test_cli_rejects_zero_films(runner, db_path):
    result = runner.invoke(args=["data", "generate", "--films", "0"])
    assert result.exit_code == 2
    assert "Invalid value for '--films': 0 is not in the range x>=1" in result.output
    assert not db_path.exists()


def test_cli_interrupted_run_leaves_nothing_behind(runner, db_path, monkeypatch):
    db_path.write_bytes(b"precious")

    def interrupted(path, films, seed, progress):
        generate(path, films=10, seed=seed)
        raise KeyboardInterrupt

    monkeypatch.setattr(generator, "generate", interrupted)
    result = runner.invoke(args=["data", "generate", "--films", "50", "--force"])
    assert result.exit_code != 0
    assert db_path.read_bytes() == b"precious"
    assert sorted(path.name for path in db_path.parent.iterdir()) == [db_path.name]


# The app factory and the data command in an interpreter where Faker cannot be
# imported, as in an image or venv built from requirements.txt alone.
WITHOUT_FAKER = """
import json, sys
sys.modules["faker"] = None
import service
from tests.settings import app_settings
flask_app = service.create_service(app_settings(sys.argv[1]))
result = flask_app.test_cli_runner().invoke(args=["data", "generate", "--films", "5"])
print(json.dumps({
    "commands": sorted(flask_app.cli.list_commands(None)),
    "exit_code": result.exit_code,
    "output": result.output,
}))
"""


@pytest.mark.slow
def test_app_runs_without_faker_and_the_command_says_what_to_install(tmp_path):
    target = tmp_path / "movies.sqlite"
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_FAKER, str(target)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    outcome = json.loads(done.stdout)
    assert "data" in outcome["commands"]
    assert outcome["exit_code"] == 1, outcome
    assert "Error: generating data needs Faker" in outcome["output"]
    assert "pip install -r requirements-datagen.txt" in outcome["output"]
    assert not target.exists()
