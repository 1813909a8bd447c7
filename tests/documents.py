"""Small factories for search documents: films, genres and people as the ETL
writes them (see ``app.search``), and a catalogue of them written into a backend.
"""

from app.search import GENRES, MOVIES, PERSONS, ROLES
from tests.factories import writer_id

_ROLE_KEYS = {"actor": "actors", "writer": "writers", "director": "directors"}


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
    return {
        "id": film_id,
        "title": title,
        "description": description,
        "imdb_rating": rating,
        "genre": [g["name"] for g in genres],
        "genres": list(genres),
        "director": [p["full_name"] for p in directors],
        "actors": [{"id": n, "name": p["full_name"]} for n, p in enumerate(actors, 1)],
        "writers": [
            {"id": writer_id(n), "name": p["full_name"]} for n, p in enumerate(writers)
        ],
        "actors_names": [p["full_name"] for p in actors],
        "writers_names": [p["full_name"] for p in writers],
        "persons": {
            "actors": list(actors),
            "writers": list(writers),
            "directors": list(directors),
        },
    }


def genre_documents(films):
    """The genre documents of ``films``, with their film counts."""
    counts = {}
    for doc in films:
        for g in doc["genres"]:
            counts.setdefault(g["id"], {**g, "film_count": 0})["film_count"] += 1
    return list(counts.values())


def person_documents(films):
    """The person documents of ``films``: each film once, its roles in ROLES order."""
    people = {}
    for doc in films:
        for role in ROLES:
            for p in doc["persons"][_ROLE_KEYS[role]]:
                entry = people.setdefault(p["id"], {**p, "films": {}})
                entry["films"].setdefault(doc["id"], set()).add(role)
    return [
        {
            "id": entry["id"],
            "full_name": entry["full_name"],
            "films": [
                {"id": film_id, "roles": [r for r in ROLES if r in roles]}
                for film_id, roles in entry["films"].items()
            ],
        }
        for entry in people.values()
    ]


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
