"""The collections' SQL: each read and each write one named function, raw SQL.

A collection is always looked up by its uuid *and* its owner, so another
user's collection is simply not found. Each collection keeps its movies' data
as its owner sent it: no write of one collection, nor of another user, ever
changes what another collection shows.
"""

import json
import uuid as uuid_module
from collections import Counter
from dataclasses import dataclass

from catalogue.db import get_db, transaction, utc_now

FAVOURITE_GENRES = 3
# Every genres text of the owner's movies, as one JSON array built by each
# engine: no Python object per row.
_GENRES_AS_JSON = {
    "sqlite": "json_group_array(coalesce(genres, ''))",
    "postgresql": "coalesce(json_agg(coalesce(genres, '')), '[]')::text",
}


@dataclass(frozen=True)
class Collection:
    """One collection, with its movies when they were asked for."""

    uuid: str
    title: str
    description: str
    movies: list | None = None


def create_collection(owner_id, title, description, movies):
    """Create a collection of ``owner_id`` holding ``movies``; return its uuid."""
    collection_uuid = str(uuid_module.uuid4())
    with transaction() as conn:
        collection_id = conn.execute(
            "INSERT INTO movie_collection (uuid, owner_id, title, description)"
            " VALUES (?, ?, ?, ?) RETURNING id",
            (collection_uuid, owner_id, title, description),
        ).fetchone()[0]
        _save_movies(conn, collection_id, movies)
    return collection_uuid


def list_collections(owner_id):
    """Return the collections of ``owner_id``, newest first, without their movies."""
    rows = get_db().execute(
        "SELECT uuid, title, description FROM movie_collection"
        " WHERE owner_id = ? ORDER BY id DESC",
        (owner_id,),
    )
    return [Collection(**row) for row in rows]


def favourite_genres(owner_id, limit=FAVOURITE_GENRES):
    """Return the top genres across the distinct movies of the owner's collections.

    A movie in several of them counts once, with the genres its most recently
    changed collection holds. Each movie's comma-separated genres are trimmed
    and compared without regard to case, empty ones ignored; ranked by how many
    movies have them, ties by name. A genre is shown as most of its movies spell
    it (a tie: the first spelling in code-point order). Only the owner's own
    collections are read.
    """
    conn = get_db()
    (genres_json,) = conn.execute(
        f"SELECT {_GENRES_AS_JSON[conn.engine]} FROM ("
        " SELECT cm.genres, row_number() OVER (PARTITION BY cm.movie_uuid"
        "   ORDER BY c.modified DESC, c.id DESC) AS version"
        " FROM movie_collection c"
        " JOIN collection_movie cm ON cm.collection_id = c.id"
        " WHERE c.owner_id = ?) AS latest WHERE version = 1",
        (owner_id,),
    ).fetchone()
    movies_of = Counter()
    spellings = Counter()
    for genres in json.loads(genres_json):
        seen = set()
        for name in genres.split(","):
            name = name.strip()
            key = name.casefold()
            if name and key not in seen:
                seen.add(key)
                movies_of[key] += 1
                spellings[key, name] += 1
    ranked = sorted(movies_of, key=lambda key: (-movies_of[key], key))[:limit]
    return [
        min(
            (name for k, name in spellings if k == key),
            key=lambda name: (-spellings[key, name], name),
        )
        for key in ranked
    ]


def get_collection(owner_id, collection_uuid):
    """Return the owner's collection with its movies in order, or None."""
    conn = get_db()
    row = conn.execute(
        "SELECT id, uuid, title, description FROM movie_collection"
        " WHERE uuid = ? AND owner_id = ?",
        (str(collection_uuid), owner_id),
    ).fetchone()
    if row is None:
        return None
    movies = conn.execute(
        "SELECT title, description, genres, movie_uuid AS uuid FROM collection_movie"
        " WHERE collection_id = ? ORDER BY position",
        (row["id"],),
    )
    return Collection(
        row["uuid"], row["title"], row["description"], [dict(m) for m in movies]
    )


def update_collection(owner_id, collection_uuid, changes):
    """Change what ``changes`` holds of the owner's collection; False if not found.

    ``changes`` may hold ``title``, ``description`` and ``movies`` (the full new
    list); what it does not hold stays as it was.
    """
    fields = [name for name in ("title", "description") if name in changes]
    with transaction() as conn:
        row = conn.execute(
            "SELECT id FROM movie_collection WHERE uuid = ? AND owner_id = ?",
            (str(collection_uuid), owner_id),
        ).fetchone()
        if row is None:
            return False
        if fields:
            # The column names come from the fixed tuple above, never the request.
            assignments = ", ".join(f"{name} = ?" for name in fields)
            conn.execute(
                f"UPDATE movie_collection SET {assignments}, modified = ? WHERE id = ?",
                (*(changes[name] for name in fields), utc_now(), row["id"]),
            )
        if "movies" in changes:
            conn.execute(
                "DELETE FROM collection_movie WHERE collection_id = ?", (row["id"],)
            )
            _save_movies(conn, row["id"], changes["movies"])
            if not fields:
                conn.execute(
                    "UPDATE movie_collection SET modified = ? WHERE id = ?",
                    (utc_now(), row["id"]),
                )
    return True


def delete_collection(owner_id, collection_uuid):
    """Delete the owner's collection and its links; False if not found."""
    with transaction() as conn:
        deleted = conn.execute(
            "DELETE FROM movie_collection WHERE uuid = ? AND owner_id = ?",
            (str(collection_uuid), owner_id),
        ).rowcount
    return bool(deleted)


def _save_movies(conn, collection_id, movies):
    """Store ``movies`` in the collection, in order, each with the data sent."""
    conn.executemany(
        "INSERT INTO collection_movie"
        " (collection_id, position, movie_uuid, title, description, genres)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                collection_id,
                position,
                str(m["uuid"]),
                m["title"],
                m["description"],
                m["genres"],
            )
            for position, m in enumerate(movies)
        ],
    )
