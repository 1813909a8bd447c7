"""The blueprint the catalogue resources (films, genres, persons) are built on."""

from flask_smorest import Blueprint

from app.caching import CachedResponsesMixin

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


class CatalogueBlueprint(CachedResponsesMixin, Blueprint):
    """A blueprint whose answers are cached and whose lists page by ``page_size``.

    Lists use flask-smorest's own ``page`` and ``page_size`` arguments and its
    ``X-Pagination`` header; a page deeper than the search engine can page is
    refused by the backend (``ResultWindowExceeded``, answered 422).
    """

    DEFAULT_PAGINATION_PARAMETERS = {
        "page": 1,
        "page_size": DEFAULT_PAGE_SIZE,
        "max_page_size": MAX_PAGE_SIZE,
    }


def page_items(page, pagination_parameters):
    """Give flask-smorest's pagination the total of a search Page; return its items."""
    pagination_parameters.item_count = page.total
    return page.items
