"""What the films resource asks the search backend, and its writes of the catalogue.

Reads go to the search backend. Each write is one transaction on the
catalogue that also notes its changes for the write-through
(``catalogue.indexing.writethrough``), and returns the film's new document with them.
"""

import hashlib
import json
import uuid
from dataclasses import replace

from catalogue.db import stable_id, transaction
from catalogue.indexing.writethrough import (
    Changes,
    document_before_write,
    film_document,
    note_changes,
)
from catalogue.search import FILM_SUMMARY, ROLES, FilmQuery, Page, Sort, get_search
from catalogue.search.documents import LEGACY_CREDITS, PERSON_KEYS

# The columns of a film a write may set, each named by its field.
FILM_COLUMNS = ("title", "description", "imdb_rating")


class UnknownPersons(Exception):
    """A film names person ids that do not exist."""

    def __init__(self, person_ids):
        super().__init__(", ".join(person_ids))
        self.person_ids = person_ids


class UnknownGenres(Exception):
    """A film names genres that do not exist."""

    def __init__(self, genre_ids):
        super().__init__(", ".join(genre_ids))
        self.genre_ids = genre_ids


def find_films(query, page_params):
    """Return a Page of film summaries: ``query`` at the page asked for."""
    paged = replace(query, offset=page_params.first_item, limit=page_params.page_size)
    return get_search().search_films(paged, fields=FILM_SUMMARY)


def find_similar_films(film, page_params):
    """Return a Page of the films sharing a genre with ``film``, best rated first."""
    genre_ids = tuple(genre["id"] for genre in film["genres"])
    if not genre_ids:
        # No genre to share; an empty any_genre_ids would match every film.
        return Page(total=0)
    query = FilmQuery(
        any_genre_ids=genre_ids,
        exclude_ids=(film["id"],),
        sort=(Sort("imdb_rating", descending=True),),
    )
    return find_films(query, page_params)


def get_film(film_id):
    """Return the film document with this id, or None."""
    return get_search().get_film(film_id)


def create_film(data):
    """Insert a film with its genres and people; return ``(document, changes)``.

    Its id is a new UUID, which no imported film (``tt...``) shares.
    """
    film_id = str(uuid.uuid4())
    changes = Changes(films={film_id})
    with transaction() as conn:
        conn.execute(
            "INSERT INTO film (id, title, description, imdb_rating)"
            " VALUES (?, ?, ?, ?)",
            (film_id, *(data.get(column) for column in FILM_COLUMNS)),
        )
        _link(conn, film_id, data, changes)
        document = film_document(conn, film_id)
        note_changes(conn, changes)
        return document, changes


def update_film(film_id, data, check=None):
    """Change a film: the fields in ``data``, its lists replaced; None if missing.

    ``check(document)`` sees the film as it was, inside the transaction, and
    may refuse the change by raising. Returns ``(document, changes)``.
    """
    with transaction() as conn:
        before = document_before_write(conn, "film", film_id, check)
        if before is None:
            return None
        changes = _touched(before)
        columns = [column for column in FILM_COLUMNS if column in data]
        if columns:
            # The column names come from FILM_COLUMNS, never from the request.
            assignments = ", ".join(f"{column} = ?" for column in columns)
            conn.execute(
                f"UPDATE film SET {assignments} WHERE id = ?",
                (*(data[column] for column in columns), film_id),
            )
        _link(conn, film_id, data, changes)
        document = film_document(conn, film_id)
        note_changes(conn, changes)
        return document, changes


def delete_film(film_id, check=None):
    """Delete a film and its links; return its changes, or None if missing.

    ``check(document)`` may refuse it by raising, as for :func:`update_film`.
    """
    with transaction() as conn:
        before = document_before_write(conn, "film", film_id, check)
        if before is None:
            return None
        changes = _touched(before)
        conn.execute("DELETE FROM film WHERE id = ?", (film_id,))
        note_changes(conn, changes)
        return changes


def _touched(document):
    """Return the Changes of a write to the film of ``document``.

    They are the film, its genres (their film counts) and its people (their films).
    """
    return Changes(
        films={document["id"]},
        genres={genre["id"] for genre in document["genres"]},
        persons={
            person["id"] for people in document["persons"].values() for person in people
        },
    )


def _link(conn, film_id, data, changes):
    """Replace the genres and the people of each role that ``data`` lists."""
    if "genres" in data:
        genre_ids = list(dict.fromkeys(data["genres"]))
        known = {
            row["id"]
            for row in conn.execute(
                "SELECT id FROM genre WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(genre_ids),),
            )
        }
        unknown = [genre_id for genre_id in genre_ids if genre_id not in known]
        if unknown:
            raise UnknownGenres(unknown)
        conn.execute("DELETE FROM film_genre WHERE film_id = ?", (film_id,))
        conn.executemany(
            "INSERT INTO film_genre (film_id, genre_id, position) VALUES (?, ?, ?)",
            [(film_id, genre_id, n) for n, genre_id in enumerate(genre_ids)],
        )
        changes.genres.update(genre_ids)
    for role in ROLES:
        key = PERSON_KEYS[role]
        if key not in data:
            continue
        person_ids = _person_ids(conn, data[key])
        conn.execute(
            "DELETE FROM film_person WHERE film_id = ? AND role = ?", (film_id, role)
        )
        conn.executemany(
            "INSERT INTO film_person (film_id, person_id, role, position)"
            " VALUES (?, ?, ?, ?)",
            [(film_id, person_id, role, n) for n, person_id in enumerate(person_ids)],
        )
        for person_id in person_ids:
            _give_legacy_id(conn, person_id, role)
        changes.persons.update(person_ids)


def _person_ids(conn, references):
    """Return the ids of the persons ``references`` name, making the new ones.

    A reference is a person's id (an unknown one raises UnknownPersons) or a
    full name. A name is the person of that
    name (the migration's stable id of it) or, when there is none, a new
    person with that id. Runs in the caller's write transaction; the ids come
    in the order given, each once.
    """
    found = {}
    for reference in references:
        text = " ".join(reference.split())
        row = conn.execute("SELECT id FROM person WHERE id = ?", (text,)).fetchone()
        if row is None and _is_uuid(text):
            raise UnknownPersons([text])
        if row is None:
            person_id = stable_id("person", text)
            conn.execute(
                "INSERT INTO person (id, full_name) VALUES (?, ?)"
                " ON CONFLICT (id) DO NOTHING",
                (person_id, text),
            )
        else:
            person_id = row["id"]
        found.setdefault(person_id, None)
    return list(found)


def _give_legacy_id(conn, person_id, role):
    """Give an actor or writer the legacy id the old API shows, if they have none.

    Actors get the next whole number above the old system's; writers a 40-hex
    id derived from their stable id, which no id of the old system shares.
    Runs in the caller's write transaction.
    """
    if role not in LEGACY_CREDITS:
        return
    held = conn.execute(
        "SELECT 1 FROM person_legacy_id WHERE source = ? AND person_id = ?",
        (role, person_id),
    ).fetchone()
    if held:
        return
    if role == "actor":
        legacy_id = _next_legacy_actor_id(conn)
    else:
        legacy_id = hashlib.sha1(
            f"api-writer:{person_id}".encode(), usedforsecurity=False
        ).hexdigest()
    conn.execute(
        "INSERT INTO person_legacy_id (source, legacy_id, person_id) VALUES (?, ?, ?)",
        (role, str(legacy_id), person_id),
    )


def _next_legacy_actor_id(conn):
    """Take the next whole-number legacy id of an actor.

    PostgreSQL's sequence holds no lock until the commit, so writes of
    different films adding actors do not wait on each other; SQLite's one
    writer at a time takes the row of its table.
    """
    if conn.engine == "postgresql":
        return conn.execute("SELECT nextval('legacy_actor_id')").fetchone()[0]
    return conn.execute(
        "UPDATE legacy_actor_sequence SET next_id = next_id + 1 WHERE id = 1"
        " RETURNING next_id - 1"
    ).fetchone()[0]


def _is_uuid(text):
    """Whether ``text`` is written as a UUID, the form of every person id."""
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False
