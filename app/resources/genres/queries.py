"""What the genres resource asks the search backend."""

from app.search import get_search


def list_genres(sort, page_params):
    """Return a Page of genres in ``sort`` order, at the page asked for."""
    return get_search().list_genres(
        sort, offset=page_params.first_item, limit=page_params.page_size
    )


def get_genre(genre_id):
    """Return the genre document with this id, or None."""
    return get_search().get_genre(genre_id)
