"""Small factories for test data: legacy databases written row by row."""

import json
import sqlite3
from contextlib import closing
from pathlib import Path

from catalogue.db import open_catalogue
from catalogue.db.sqlite import connect
from catalogue.legacy import create_legacy_tables
from catalogue.migrations import upgrade
from catalogue.migrations.importing import import_catalogue

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


# The people of the small legacy databases written by hand: actor ids are whole
# numbers, writer ids 40 hex digits, and one actor is called "N/A".
HAMILL, FORD, NA_ACTOR = 1, 2, 3
LUCAS, KASDAN = writer_id(1), writer_id(2)
ACTORS = ((HAMILL, "Mark Hamill"), (FORD, "Harrison Ford"), (NA_ACTOR, "N/A"))
WRITERS = ((LUCAS, "George Lucas"), (KASDAN, "Lawrence Kasdan"))


def star_wars(**columns):
    """Star Wars (tt0000001) as a legacy ``movies`` row, ``columns`` changed.

    Genres "Action, Sci-Fi", directed by George Lucas, written by ``LUCAS`` (in the
    ``writer`` column), plot "Luke Skywalker joins the rebellion.", rated "8.6".
    """
    return movie(
        "tt0000001",
        "Star Wars",
        **{
            "genre": "Action, Sci-Fi",
            "director": "George Lucas",
            "writer": LUCAS,
            "plot": "Luke Skywalker joins the rebellion.",
            "imdb_rating": "8.6",
            **columns,
        },
    )


def make_star_wars_db(path, *movies, writers=(), links=()):
    """A small legacy database: ``star_wars()`` then ``movies``, the ``ACTORS``,
    the ``WRITERS`` and ``writers``, and the actor ``links`` (movie_id, actor_id).
    """
    return make_legacy_db(
        path,
        movies=[star_wars(), *movies],
        actors=ACTORS,
        writers=[*WRITERS, *writers],
        links=links,
    )


def make_legacy_db(path, movies=(), actors=(), writers=(), links=()):
    """Write a legacy database: ``actors`` (id, name), ``writers`` (id, name),
    ``links`` (movie_id, actor_id) kept in the given order, duplicates included.
    """
    conn = sqlite3.connect(path)
    with conn:
        create_legacy_tables(conn)
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


def make_migrated_db(path, movies=()):
    """Write a legacy database of ``movies`` at ``path`` and migrate it."""
    make_legacy_db(path, movies=list(movies))
    with closing(connect(path)) as conn:
        upgrade(conn)
    return path


def migrate_catalogue(config):
    """Migrate the legacy file at ``DATABASE_PATH``; import it into PostgreSQL too.

    With ``DATABASE_URL`` (a migrated database), the cleaned file's catalogue
    replaces whatever it holds, as ``flask db import --replace`` does.
    """
    path = config["DATABASE_PATH"]
    with closing(connect(path)) as source:
        upgrade(source)
        if config.get("DATABASE_URL"):
            with closing(open_catalogue(config, statement_timeout=0)) as target:
                import_catalogue(source, target, source_name=str(path), replace=True)


def open_migrated(config):
    """Migrate the catalogue of ``config`` (``migrate_catalogue``); open it."""
    migrate_catalogue(config)
    return open_catalogue(config)
