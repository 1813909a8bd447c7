"""Paging of the legacy collection: ``page`` and ``limit`` in, headers out.

The body stays the plain array the frontend reads: the total goes in
``X-Total-Count``, navigation in an RFC 8288 ``Link`` header (first, prev, next,
last), and flask-smorest's ``X-Pagination`` is kept beside them.
"""

import math
from urllib.parse import urlencode

from flask import current_app, request, url_for

from app.extensions.smorest import page_arguments

DEFAULT_LIMIT = 50
MAX_LIMIT = 100

TOTAL_COUNT_HEADER = {
    "description": "Number of films matching the query, on all pages.",
    "schema": {"type": "integer"},
}
LINK_HEADER = {
    "description": 'Links to the first, prev, next and last pages (rel="...").',
    "schema": {"type": "string"},
}


class LinkHeaderPaginationMixin:
    """Extend the API's Blueprint: pages read ``page`` and ``limit``.

    The answer gets ``X-Total-Count`` and ``Link`` beside ``X-Pagination``.
    """

    PAGE_ARGUMENTS = page_arguments("limit", DEFAULT_LIMIT, MAX_LIMIT, what="Films")

    def _set_pagination_metadata(self, page_params, result, headers):
        result, headers = super()._set_pagination_metadata(page_params, result, headers)
        headers["X-Total-Count"] = str(page_params.item_count)
        headers["Link"] = link_header(page_params)
        return result, headers

    def _document_pagination_metadata(self, spec, resp_doc):
        super()._document_pagination_metadata(spec, resp_doc)
        resp_doc["headers"].update(
            {"X-Total-Count": TOTAL_COUNT_HEADER, "Link": LINK_HEADER}
        )


def last_page(page_params):
    """Return the last page worth linking: the last with results, within the window."""
    size = page_params.page_size
    pages = math.ceil(page_params.item_count / size)
    reachable = current_app.config["MAX_RESULT_WINDOW"] // size
    return max(1, min(pages, reachable))


def link_header(page_params):
    """Build the ``Link`` header: this query at the first, prev, next and last pages."""
    page, last = page_params.page, last_page(page_params)
    targets = {"first": 1}
    if page > 1:
        targets["prev"] = min(page - 1, last)
    if page < last:
        targets["next"] = page + 1
    targets["last"] = last
    # Query arguments go through urlencode, not url_for, whose own keywords
    # (_external, _scheme, endpoint...) a caller could otherwise smuggle in.
    path = url_for(request.endpoint, **request.view_args)
    query = request.args.to_dict()
    return ", ".join(
        f'<{path}?{urlencode({**query, "page": number})}>; rel="{rel}"'
        for rel, number in targets.items()
    )
