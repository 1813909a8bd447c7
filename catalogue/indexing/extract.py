"""Extract: stream the cleaned catalogue out of SQLite in batches of rows.

Batches are read by keyset (``id > last``), so memory stays flat whatever the
catalogue size and a resumed run starts right after the last id it loaded.
With ``since`` set, only rows changed at or after that timestamp are read.
"""

import json

# Films whose own row, links, genres or people changed since a timestamp.
_CHANGED_FILMS = """
    SELECT id FROM film WHERE modified >= :since
    UNION SELECT fg.film_id FROM film_genre AS fg
          JOIN genre AS g ON g.id = fg.genre_id WHERE g.modified >= :since
    UNION SELECT fp.film_id FROM film_person AS fp
          JOIN person AS p ON p.id = fp.person_id WHERE p.modified >= :since
"""


def _ids(rows):
    return json.dumps([row["id"] for row in rows])


def count_films(conn, since=None):
    """Return how many films a run will load."""
    if since is None:
        return conn.execute("SELECT count(*) FROM film").fetchone()[0]
    query = f"SELECT count(*) FROM ({_CHANGED_FILMS}) AS changed"
    return conn.execute(query, {"since": since}).fetchone()[0]


def count_persons(conn, since=None):
    """Return how many persons a run will load."""
    if since is None:
        return conn.execute("SELECT count(*) FROM person").fetchone()[0]
    return conn.execute(
        "SELECT count(*) FROM person WHERE modified >= ?", (since,)
    ).fetchone()[0]


def film_batches(conn, batch_size, after="", since=None):
    """Yield ``(films, genres, credits)`` row lists for batches of films."""
    if since is None:
        query = (
            "SELECT id, title, description, imdb_rating FROM film"
            " WHERE id > :after ORDER BY id LIMIT :limit"
        )
    else:
        query = (
            "SELECT id, title, description, imdb_rating FROM film"
            f" WHERE id > :after AND id IN ({_CHANGED_FILMS}) ORDER BY id LIMIT :limit"
        )
    while True:
        films = conn.execute(
            query, {"after": after, "limit": batch_size, "since": since}
        ).fetchall()
        if not films:
            return
        yield (films, *_film_links(conn, films))
        after = films[-1]["id"]


def _film_links(conn, films):
    """Return the ``(genres, credits)`` rows of ``films``, in the documents' order."""
    ids = _ids(films)
    genres = conn.execute(
        "SELECT fg.film_id, g.id, g.name FROM film_genre AS fg"
        " JOIN genre AS g ON g.id = fg.genre_id"
        " WHERE fg.film_id IN (SELECT value FROM json_each(?))"
        " ORDER BY fg.film_id, fg.position",
        (ids,),
    ).fetchall()
    credits = conn.execute(
        "SELECT fp.film_id, fp.role, p.id, p.full_name,"
        " CASE fp.role"
        "  WHEN 'actor' THEN (SELECT CAST(min(CAST(l.legacy_id AS INTEGER)) AS TEXT)"
        "   FROM person_legacy_id AS l"
        "   WHERE l.source = 'actor' AND l.person_id = p.id)"
        "  WHEN 'writer' THEN (SELECT min(l.legacy_id) FROM person_legacy_id AS l"
        "   WHERE l.source = 'writer' AND l.person_id = p.id)"
        " END AS legacy_id"
        " FROM film_person AS fp JOIN person AS p ON p.id = fp.person_id"
        " WHERE fp.film_id IN (SELECT value FROM json_each(?))"
        " ORDER BY fp.film_id, fp.role, fp.position",
        (ids,),
    ).fetchall()
    return genres, credits


def films_by_id(conn, film_ids):
    """Return the ``(films, genres, credits)`` rows of the films with these ids."""
    films = conn.execute(
        "SELECT id, title, description, imdb_rating FROM film"
        " WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
        (json.dumps(sorted(film_ids)),),
    ).fetchall()
    return (films, *_film_links(conn, films))


def persons_by_id(conn, person_ids):
    """Return the ``(persons, credits)`` rows of the persons with these ids."""
    persons = conn.execute(
        "SELECT id, full_name FROM person"
        " WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
        (json.dumps(sorted(person_ids)),),
    ).fetchall()
    return persons, _person_credits(conn, persons)


def genres_by_id(conn, genre_ids):
    """Return the genres with these ids, each with its number of films."""
    return conn.execute(
        "SELECT g.id, g.name,"
        " (SELECT count(*) FROM film_genre AS fg WHERE fg.genre_id = g.id)"
        " AS film_count"
        " FROM genre AS g WHERE g.id IN (SELECT value FROM json_each(?))"
        " ORDER BY g.id",
        (json.dumps(sorted(genre_ids)),),
    ).fetchall()


def _person_credits(conn, persons):
    """Return the ``{person_id, film_id, role}`` rows of ``persons``."""
    return conn.execute(
        "SELECT person_id, film_id, role FROM film_person"
        " WHERE person_id IN (SELECT value FROM json_each(?))"
        " ORDER BY person_id, film_id",
        (_ids(persons),),
    ).fetchall()


def person_batches(conn, batch_size, after="", since=None):
    """Yield ``(persons, credits)`` row lists for batches of persons."""
    while True:
        persons = conn.execute(
            "SELECT id, full_name FROM person"
            " WHERE id > :after AND (CAST(:since AS TEXT) IS NULL OR modified >= :since)"
            " ORDER BY id LIMIT :limit",
            {"after": after, "since": since, "limit": batch_size},
        ).fetchall()
        if not persons:
            return
        yield persons, _person_credits(conn, persons)
        after = persons[-1]["id"]


def genres(conn):
    """Return every genre with its number of films (there are only a few hundred)."""
    return conn.execute(
        "SELECT g.id, g.name, count(fg.film_id) AS film_count FROM genre AS g"
        " LEFT JOIN film_genre AS fg ON fg.genre_id = g.id"
        " GROUP BY g.id ORDER BY g.id"
    ).fetchall()


def deletions(conn, since):
    """Return ``{entity: [ids]}`` deleted at or after ``since`` and not back since."""
    rows = conn.execute(
        "SELECT t.entity, t.entity_id FROM tombstone AS t"
        " WHERE t.deleted_at >= ?"
        " AND NOT EXISTS (SELECT 1 FROM film WHERE t.entity = 'film' AND id = t.entity_id)"
        " AND NOT EXISTS (SELECT 1 FROM genre WHERE t.entity = 'genre' AND id = t.entity_id)"
        " AND NOT EXISTS (SELECT 1 FROM person"
        "   WHERE t.entity = 'person' AND id = t.entity_id)"
        " ORDER BY t.entity, t.entity_id",
        (since,),
    )
    found = {"film": [], "genre": [], "person": []}
    for row in rows:
        found[row["entity"]].append(row["entity_id"])
    return found
