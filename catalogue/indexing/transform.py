"""Transform: SQLite rows into search documents, built by ``catalogue.search.documents``."""

from itertools import groupby
from operator import itemgetter

from catalogue.search.documents import genre_document, movie_document, person_document


def _by_first_column(rows):
    """Group rows sorted by their first column into ``{value: [rows]}``."""
    return {key: list(group) for key, group in groupby(rows, key=itemgetter(0))}


def movie_documents(films, genres, credits):
    """Build movie documents from one batch of film, genre and credit rows."""
    genres_by_film = _by_first_column(genres)
    credits_by_film = _by_first_column(credits)
    return [
        movie_document(
            film,
            genres_by_film.get(film["id"], ()),
            credits_by_film.get(film["id"], ()),
        )
        for film in films
    ]


def person_documents(persons, credits):
    """Build person documents, each with its films and roles in them."""
    credits_by_person = _by_first_column(credits)
    return [
        person_document(person, credits_by_person.get(person["id"], ()))
        for person in persons
    ]


def genre_documents(rows):
    """Build genre documents with their film counts."""
    return [genre_document(row) for row in rows]
