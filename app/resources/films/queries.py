"""What the films resource asks the search backend."""

from dataclasses import replace

from app.search import FILM_SUMMARY, FilmQuery, Page, Sort, get_search


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
