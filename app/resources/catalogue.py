"""The blueprint the catalogue resources (films, genres, persons) are built on."""

from flask_smorest import abort
from flask_smorest.error_handler import ErrorSchema

from app.extensions.smorest import Blueprint


class CatalogueBlueprint(Blueprint):
    """A blueprint whose answers are cached and whose lists page by ``page_size``.

    Lists take ``page`` and ``page_size`` (50 by default, at most 100) and
    answer their paging in ``X-Pagination``; a page deeper than the search
    engine can page is refused (422).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, cached=True, **kwargs)


def page_items(page, pagination_parameters):
    """Give flask-smorest's pagination the total of a search Page; return its items."""
    pagination_parameters.item_count = page.total
    return page.items


def not_found_doc(kind):
    """Return the documented 404 of an operation on one ``kind`` by id."""
    return {"schema": ErrorSchema, "description": f"No {kind} has this id."}


def document_or_404(find, document_id, kind):
    """Return ``find(document_id)``, or answer 404 naming the ``kind`` and the id."""
    document = find(document_id)
    if document is None:
        abort(404, message=f"No {kind} has the id {document_id!r}.")
    return document
