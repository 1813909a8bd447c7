"""Search documents: their shape is written here once, and built only here.

The ETL builds them from the catalogue's rows, tests from their factories (and
admin writes will from what they saved), all through these functions, so every
writer stores the same shape and both backends index the same fields.

movies (id = film id)::

    {"id": "tt0076759", "title": "Star Wars",
     "description": "..." or None, "imdb_rating": 8.6 or None,
     "genre": ["Action", "Sci-Fi"],                     # legacy: names, in order
     "genres": [{"id": "<uuid>", "name": "Action"}],    # new API
     "director": ["George Lucas"],                      # legacy: names
     "actors": [{"id": 1, "name": "Mark Hamill"}],      # legacy ids (int), link order
     "writers": [{"id": "0b60f2f3...", "name": "..."}], # legacy ids (str)
     "actors_names": ["Mark Hamill"], "writers_names": ["George Lucas"],
     "persons": {"actors": [{"id": "<uuid>", "full_name": "..."}],
                 "writers": [...], "directors": [...]}} # new API, stable ids

genres (id = genre id)::

    {"id": "<uuid>", "name": "Action", "film_count": 123}

persons (id = person id)::

    {"id": "<uuid>", "full_name": "Mark Hamill",
     "films": [{"id": "tt0076759", "roles": ["actor", "writer"]}]}
"""

from catalogue.search import ROLES

# The key of each role's people under a film's ``persons``.
PERSON_KEYS = {"actor": "actors", "writer": "writers", "director": "directors"}
# Roles whose people the legacy API shows with the old system's ids, and where.
LEGACY_CREDITS = {"actor": "actors", "writer": "writers"}


def searched_texts(doc):
    """Return the texts of a film document that are searched, by field.

    Its title, its description, and its names: genres, directors, actors and
    writers (``search_text`` on Elasticsearch, the FTS columns when embedded).
    """
    names = ("genre", "director", "actors_names", "writers_names")
    return (
        [doc.get("title")],
        [doc.get("description")],
        [name for key in names for name in doc.get(key) or ()],
    )


def movie_document(film, genres=(), credits=()):
    """Build the document of one film.

    ``film`` has ``id``, ``title``, ``description`` and ``imdb_rating``;
    ``genres`` holds ``{id, name}`` in the film's order; ``credits`` holds
    ``{role, id, full_name, legacy_id}`` in link order, where ``legacy_id`` is
    the old system's actor or writer id (as text; an actor's is a whole
    number, and its document says so), or None.
    """
    people = {role: [] for role in ROLES}
    legacy = {key: [] for key in LEGACY_CREDITS.values()}
    for credit in credits:
        role = credit["role"]
        people[role].append({"id": credit["id"], "full_name": credit["full_name"]})
        legacy_id = credit["legacy_id"]
        if role in LEGACY_CREDITS and legacy_id is not None:
            if role == "actor":
                legacy_id = int(legacy_id)
            legacy[LEGACY_CREDITS[role]].append(
                {"id": legacy_id, "name": credit["full_name"]}
            )
    return {
        "id": film["id"],
        "title": film["title"],
        "description": film["description"],
        "imdb_rating": film["imdb_rating"],
        "genre": [genre["name"] for genre in genres],
        "genres": [{"id": genre["id"], "name": genre["name"]} for genre in genres],
        "director": [person["full_name"] for person in people["director"]],
        **legacy,
        "actors_names": [person["full_name"] for person in people["actor"]],
        "writers_names": [person["full_name"] for person in people["writer"]],
        "persons": {PERSON_KEYS[role]: people[role] for role in ROLES},
    }


def person_document(person, credits=()):
    """Build the document of one person from ``{film_id, role}`` credits.

    Each film appears once, in the order of its first credit, with its roles
    in ``ROLES`` order.
    """
    roles_by_film = {}
    for credit in credits:
        roles_by_film.setdefault(credit["film_id"], set()).add(credit["role"])
    return {
        "id": person["id"],
        "full_name": person["full_name"],
        "films": [
            {"id": film_id, "roles": [role for role in ROLES if role in roles]}
            for film_id, roles in roles_by_film.items()
        ],
    }


def genre_document(genre):
    """Build the document of one genre: ``id``, ``name`` and ``film_count``."""
    return {
        "id": genre["id"],
        "name": genre["name"],
        "film_count": genre["film_count"],
    }
