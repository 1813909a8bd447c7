"""Paging of the legacy collection: ``page`` and ``limit`` in, headers out.

The body stays the plain array the frontend reads: the total goes in
``X-Total-Count``, navigation in an RFC 8288 ``Link`` header (first, prev, next,
last), and flask-smorest's ``X-Pagination`` is kept beside them.
"""

import math
from copy import deepcopy
from functools import wraps
from urllib.parse import urlencode

import marshmallow as ma
from flask import current_app, request, url_for
from flask_smorest.pagination import PaginationParameters
from flask_smorest.utils import unpack_tuple_response

from app.search import check_window

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
_LIMIT_RULE = f"limit must be a whole number from 1 to {MAX_LIMIT}."
_PAGE_RULE = "page must be a whole number from 1."

TOTAL_COUNT_HEADER = {
    "description": "Number of films matching the query, on all pages.",
    "schema": {"type": "integer"},
}
LINK_HEADER = {
    "description": 'Links to the first, prev, next and last pages (rel="...").',
    "schema": {"type": "string"},
}


class PageQueryArgsSchema(ma.Schema):
    """Which page of results to answer, and how many per page."""

    limit = ma.fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=ma.validate.Range(min=1, max=MAX_LIMIT, error=_LIMIT_RULE),
        error_messages={"invalid": _LIMIT_RULE},
        metadata={"description": f"Films per page, 1 to {MAX_LIMIT}."},
    )
    page = ma.fields.Integer(
        load_default=1,
        validate=ma.validate.Range(min=1, error=_PAGE_RULE),
        error_messages={"invalid": _PAGE_RULE},
        metadata={"description": "Page number, from 1."},
    )

    @ma.post_load
    def make_pagination_parameters(self, data, **kwargs):
        """Hold the page as flask-smorest's pagination parameters."""
        return PaginationParameters(page=data["page"], page_size=data["limit"])


class LinkHeaderPaginationMixin:
    """Extend a flask-smorest Blueprint: ``paginate`` reads ``page`` and ``limit``.

    The view receives ``pagination_parameters`` (``page``, ``page_size``) and sets
    its ``item_count``; the answer gets the paging headers.
    """

    def paginate(self):
        """Decorate a view that pages its own results."""

        def decorator(func):
            @wraps(func)
            def wrapper(*args, **kwargs):
                page_params = self.PAGINATION_ARGUMENTS_PARSER.parse(
                    PageQueryArgsSchema, request, location="query"
                )
                check_window(
                    page_params.first_item,
                    page_params.page_size,
                    current_app.config["MAX_RESULT_WINDOW"],
                )
                kwargs["pagination_parameters"] = page_params
                result, status, headers = unpack_tuple_response(func(*args, **kwargs))
                result, headers = self._set_pagination_metadata(
                    page_params, result, headers
                )
                return result, status, headers

            wrapper._apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
            wrapper._apidoc["pagination"] = {
                "parameters": {"in": "query", "schema": PageQueryArgsSchema},
                "response": {422: "UNPROCESSABLE_ENTITY"},
            }
            return wrapper

        return decorator

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
