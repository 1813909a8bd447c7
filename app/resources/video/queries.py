"""What the legacy video API asks the search backend."""

from catalogue.search import FILM_SUMMARY, FilmQuery, Sort, get_search


def find_videos(search, sort, sort_order, page_params):
    """Return a Page of film summaries: searched, sorted and paged as asked.

    Without ``sort``, a search answers in relevance order and a listing by id.
    """
    if sort is None and search is None:
        sort = "id"
    order = (Sort(sort, descending=sort_order == "desc"),) if sort else ()
    query = FilmQuery(
        text=search,
        sort=order,
        offset=(page_params.page - 1) * page_params.page_size,
        limit=page_params.page_size,
    )
    return get_search().search_films(query, fields=FILM_SUMMARY)


def get_video(video_id):
    """Return the film document with this id, or None."""
    return get_search().get_film(video_id)
