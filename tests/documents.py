"""Small factories for search documents: films, genres and people as the ETL
writes them (see ``catalogue.search``), and a catalogue of them written into a backend.
"""

from catalogue.search import GENRES, MOVIES, PERSONS, ROLES
from catalogue.search.documents import (
    PERSON_KEYS,
    genre_document,
    movie_document,
    person_document,
)
from tests.factories import writer_id


def genre(key, name):
    """A genre as films carry it."""
    return {"id": f"g-{key}", "name": name}


def person(key, full_name):
    """A person as films carry them."""
    return {"id": f"p-{key}", "full_name": full_name}


def film(
    film_id,
    title,
    rating=None,
    description=None,
    *,
    genres=(),
    directors=(),
    actors=(),
    writers=(),
):
    """A movie document; actors get legacy ids 1, 2, ... and writers
    ``writer_id(0)``, ``writer_id(1)``, ... in the order given.
    """
    credits = [
        *({"role": "director", **p, "legacy_id": None} for p in directors),
        *({"role": "actor", **p, "legacy_id": n} for n, p in enumerate(actors, 1)),
        *(
            {"role": "writer", **p, "legacy_id": writer_id(n)}
            for n, p in enumerate(writers)
        ),
    ]
    row = {
        "id": film_id,
        "title": title,
        "description": description,
        "imdb_rating": rating,
    }
    return movie_document(row, genres, credits)


def genre_documents(films):
    """The genre documents of ``films``, with their film counts."""
    counts = {}
    for doc in films:
        for g in doc["genres"]:
            counts.setdefault(g["id"], {**g, "film_count": 0})["film_count"] += 1
    return [genre_document(row) for row in counts.values()]


def person_documents(films):
    """The person documents of ``films``: each film once, its roles in ROLES order."""
    people, credits = {}, {}
    for doc in films:
        for role in ROLES:
            for p in doc["persons"][PERSON_KEYS[role]]:
                people.setdefault(p["id"], p)
                credits.setdefault(p["id"], []).append(
                    {"film_id": doc["id"], "role": role}
                )
    return [person_document(p, credits[p["id"]]) for p in people.values()]


def write_catalogue(indexer, generation, films, *, genres=None, persons=None):
    """Prepare ``generation`` and write ``films``, their genres and people into it.

    ``genres`` and ``persons``, when given, are written instead of the documents
    derived from ``films``. The generation is not made live.
    """
    indexer.prepare(generation)
    indexer.write(MOVIES, list(films), generation)
    indexer.write(
        GENRES, genre_documents(films) if genres is None else genres, generation
    )
    indexer.write(
        PERSONS, person_documents(films) if persons is None else persons, generation
    )
