"""What the persons resource asks the search backend."""

from app.resources.films.queries import find_films
from catalogue.search import FilmQuery, get_search


def search_persons(text, page_params):
    """Return a Page of persons whose name matches ``text``, best match first."""
    return get_search().search_persons(
        text, offset=page_params.first_item, limit=page_params.page_size
    )


def find_person_films(person_id, page_params):
    """Return a Page of summaries of the films this person worked on."""
    return find_films(FilmQuery(person_id=person_id), page_params)


def get_person(person_id):
    """Return the person document with this id, or None."""
    return get_search().get_person(person_id)
