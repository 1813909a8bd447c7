"""Small factories for test data: legacy databases written row by row."""

import json
import sqlite3
from pathlib import Path

# The legacy layout, as the old system's file has it.
LEGACY_SCHEMA = """
CREATE TABLE actors(id integer primary key autoincrement, name text);
CREATE TABLE rating_agency(id text(27), name text);
CREATE TABLE movies (id text primary key, genre text, director text, writer text,
    title text, plot text, ratings text, imdb_rating text, writers text);
CREATE TABLE writers(id text(27) primary key, name text);
CREATE TABLE movie_actors(movie_id text, actor_id text);
"""

REAL_LEGACY_DB = Path(__file__).resolve().parents[2] / "shared" / "legacy" / "db.sqlite"


def writer_id(n):
    """A 40-hex legacy writer id, distinct for each ``n``."""
    return f"0b60f2f3{n:032x}"


def movie(
    film_id,
    title,
    *,
    genre="Drama",
    director="N/A",
    writer="",
    writers=(),
    plot="N/A",
    imdb_rating="N/A",
):
    """A legacy ``movies`` row; ``writers`` is a list of writer ids."""
    writers_json = json.dumps([{"id": w} for w in writers]) if writers else ""
    return (
        film_id,
        genre,
        director,
        writer,
        title,
        plot,
        None,
        imdb_rating,
        writers_json,
    )


def make_legacy_db(path, movies=(), actors=(), writers=(), links=()):
    """Write a legacy database: ``actors`` (id, name), ``writers`` (id, name),
    ``links`` (movie_id, actor_id) kept in the given order, duplicates included.
    """
    conn = sqlite3.connect(path)
    with conn:
        conn.executescript(LEGACY_SCHEMA)
        conn.executemany(
            "INSERT INTO movies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", movies
        )
        conn.executemany("INSERT INTO actors (id, name) VALUES (?, ?)", actors)
        conn.executemany("INSERT INTO writers (id, name) VALUES (?, ?)", writers)
        conn.executemany(
            "INSERT INTO movie_actors (movie_id, actor_id) VALUES (?, ?)",
            [(m, str(a)) for m, a in links],
        )
    conn.close()
    return path
