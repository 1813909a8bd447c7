"""Transform: SQLite rows into the search documents described in ``app.search``."""

from itertools import groupby
from operator import itemgetter

from app.search import ROLES

_ROLE_KEYS = {"actor": "actors", "writer": "writers", "director": "directors"}


def movie_documents(films, genres, credits):
    """Build movie documents from one batch of film, genre and credit rows."""
    genres_by_film = {
        film_id: list(rows) for film_id, rows in groupby(genres, key=itemgetter(0))
    }
    credits_by_film = {
        film_id: list(rows) for film_id, rows in groupby(credits, key=itemgetter(0))
    }
    return [
        movie_document(
            film,
            genres_by_film.get(film["id"], ()),
            credits_by_film.get(film["id"], ()),
        )
        for film in films
    ]


def movie_document(film, genres, credits):
    """Build the document of one film; genres and credits come in link order."""
    people = {role: [] for role in ROLES}
    legacy_actors, legacy_writers = [], []
    for row in credits:
        people[row["role"]].append({"id": row["id"], "full_name": row["full_name"]})
        if row["role"] == "actor" and row["legacy_actor_id"] is not None:
            legacy_actors.append(
                {"id": row["legacy_actor_id"], "name": row["full_name"]}
            )
        elif row["role"] == "writer" and row["legacy_writer_id"] is not None:
            legacy_writers.append(
                {"id": row["legacy_writer_id"], "name": row["full_name"]}
            )
    return {
        "id": film["id"],
        "title": film["title"],
        "description": film["description"],
        "imdb_rating": film["imdb_rating"],
        "genre": [row["name"] for row in genres],
        "genres": [{"id": row["id"], "name": row["name"]} for row in genres],
        "director": [person["full_name"] for person in people["director"]],
        "actors": legacy_actors,
        "writers": legacy_writers,
        "actors_names": [person["full_name"] for person in people["actor"]],
        "writers_names": [person["full_name"] for person in people["writer"]],
        "persons": {_ROLE_KEYS[role]: people[role] for role in ROLES},
    }


def person_documents(persons, credits):
    """Build person documents, each with its films and roles in them."""
    by_person = {
        person_id: list(rows) for person_id, rows in groupby(credits, key=itemgetter(0))
    }
    documents = []
    for person in persons:
        roles_by_film = {}
        for row in by_person.get(person["id"], ()):
            roles_by_film.setdefault(row["film_id"], set()).add(row["role"])
        films = [
            {"id": film_id, "roles": [role for role in ROLES if role in roles]}
            for film_id, roles in roles_by_film.items()
        ]
        documents.append(
            {"id": person["id"], "full_name": person["full_name"], "films": films}
        )
    return documents


def genre_documents(rows):
    """Build genre documents with their film counts."""
    return [
        {"id": row["id"], "name": row["name"], "film_count": row["film_count"]}
        for row in rows
    ]
