"""The blueprint the catalogue resources (films, genres, persons) are built on."""

from functools import wraps

from flask import request
from flask_smorest import abort
from flask_smorest.error_handler import ErrorSchema
from werkzeug.exceptions import PreconditionFailed

from app.extensions.smorest import Blueprint
from catalogue.indexing.writethrough import index_after_write

ADMIN = "admin"
IF_MATCH_PARAMETER = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "The ETag of the item as last read: if it changed since, the"
    " answer is 412 and nothing is written. Without it, the last write wins.",
}
PRECONDITION_FAILED_DOC = {
    "schema": ErrorSchema,
    "description": "The item changed since the ETag of If-Match; read it again.",
}
INDEXING_HEADER = "X-Indexing"
INDEXING_HEADER_DOC = {
    "description": "`done`: search and every API show the change. `pending`: it"
    " is saved, and reaches search once the search engine is back.",
    "schema": {"type": "string", "enum": ["done", "pending"]},
}
LOCATION_HEADER_DOC = {
    "description": "The URL of the new item.",
    "schema": {"type": "string"},
}
TOO_LARGE_DOC = {
    "schema": ErrorSchema,
    "description": "The request body is larger than the limit (1 MiB).",
}


class CatalogueBlueprint(Blueprint):
    """A blueprint whose answers are cached and whose lists page by ``page_size``.

    Lists take ``page`` and ``page_size`` (50 by default, at most 100) and
    answer their paging in ``X-Pagination``; a page deeper than the search
    engine can page is refused (422).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, cached=True, **kwargs)


def indexing(changes):
    """Index a write's changes; return the headers that say how it went."""
    return {INDEXING_HEADER: index_after_write(changes)}


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


def if_match(blp, schema):
    """Return a check of the item as stored against the request's ``If-Match``.

    Without ``If-Match`` it accepts anything: the last write wins.
    """

    def check(document):
        if not request.if_match:
            return
        try:
            blp.check_etag(document, schema)
        except PreconditionFailed:
            abort(
                412,
                message="This item changed since the ETag in If-Match: read it"
                " again, then send its new ETag.",
            )

    return check


def conflict_answers_409(exception, field):
    """Decorate a write view: ``exception`` (a name in use) becomes a 409 on ``field``."""

    def decorator(func):
        @wraps(func)
        def wrapper(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except exception as exc:
                message = f"The {field} {str(exc)!r} is taken (names ignore case)."
                abort(409, message=message, errors={"json": {field: [message]}})

        return wrapper

    return decorator
