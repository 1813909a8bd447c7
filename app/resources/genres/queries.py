"""What the genres resource asks the search backend, and its writes of the catalogue."""

import uuid

from catalogue.db import serialize, transaction
from catalogue.indexing.writethrough import (
    Changes,
    document_before_write,
    genre_document,
    note_changes,
)
from catalogue.search import get_search


class GenreNameTaken(Exception):
    """Another genre has this name, whatever its case and spaces."""


def name_key(name):
    """Return the form of a genre name that uniqueness is checked on."""
    return " ".join(name.split()).casefold()


def list_genres(sort, page_params):
    """Return a Page of genres in ``sort`` order, at the page asked for."""
    return get_search().list_genres(
        sort, offset=page_params.first_item, limit=page_params.page_size
    )


def get_genre(genre_id):
    """Return the genre document with this id, or None."""
    return get_search().get_genre(genre_id)


def create_genre(name):
    """Insert a genre; return ``(document, changes)``. GenreNameTaken if in use."""
    genre_id = str(uuid.uuid4())
    changes = Changes(genres={genre_id})
    with transaction() as conn:
        _check_name_free(conn, name)
        conn.execute(
            "INSERT INTO genre (id, name) VALUES (?, ?)", (genre_id, _clean(name))
        )
        document = genre_document(conn, genre_id)
        note_changes(conn, changes)
        return document, changes


def rename_genre(genre_id, name, check=None):
    """Rename a genre; return ``(document, changes)``, or None if it is missing.

    ``check(document)`` sees the genre as it was, inside the transaction, and
    may refuse the change by raising. Every film of the genre changes with it.
    """
    with transaction() as conn:
        before = document_before_write(conn, "genre", genre_id, check)
        if before is None:
            return None
        _check_name_free(conn, name, genre_id)
        changes = _touched(conn, genre_id)
        conn.execute("UPDATE genre SET name = ? WHERE id = ?", (_clean(name), genre_id))
        document = genre_document(conn, genre_id)
        note_changes(conn, changes)
        return document, changes


def delete_genre(genre_id, check=None):
    """Delete a genre, which leaves its films; return the changes, or None."""
    with transaction() as conn:
        before = document_before_write(conn, "genre", genre_id, check)
        if before is None:
            return None
        changes = _touched(conn, genre_id)
        conn.execute("DELETE FROM genre WHERE id = ?", (genre_id,))
        note_changes(conn, changes)
        return changes


def _touched(conn, genre_id):
    """Return the Changes of a write to a genre: it and every film it has."""
    films = conn.execute(
        "SELECT film_id FROM film_genre WHERE genre_id = ?", (genre_id,)
    ).fetchall()
    return Changes(genres={genre_id}, films={row["film_id"] for row in films})


def _clean(name):
    """Return ``name`` without surrounding spaces and with single inner spaces."""
    return " ".join(name.split())


def _check_name_free(conn, name, genre_id=None):
    """Raise GenreNameTaken if a genre other than ``genre_id`` has this name.

    Genres are a few hundred, so every name is compared; one writer of genre
    names at a time keeps another from taking the name meanwhile.
    """
    serialize(conn, "genre-names")
    key = name_key(name)
    for row in conn.execute("SELECT id, name FROM genre"):
        if row["id"] != genre_id and name_key(row["name"]) == key:
            raise GenreNameTaken(row["name"])
