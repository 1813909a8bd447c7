"""flask-smorest for this API: the one Blueprint every resource is built on.

A blueprint caches its GET answers in the shared response cache only when
asked (``cached=True``); one made ``personal=True`` sends every answer
``private, no-store`` (those that carry tokens, say). An operation marked ``@blp.login_required(role=...)``
asks for a bearer token, is documented with that security requirement and its
401 and 403 answers, and, since its answer depends on who asks, is never
stored in the shared cache and is sent ``Cache-Control: private, no-store``.
"""

from copy import deepcopy
from functools import wraps

import flask_smorest
import marshmallow as ma
from apispec import BasePlugin
from flask import current_app, request
from flask_smorest.error_handler import ErrorSchema
from flask_smorest.pagination import PaginationParameters
from flask_smorest.utils import unpack_tuple_response
from werkzeug.http import generate_etag

from app import authentication, caching
from app.request_bodies import ArgumentsParser
from app.request_id import HEADER as REQUEST_ID_HEADER
from catalogue.search import check_window

BEARER_SCHEME = "bearerAuth"
BEARER_SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "An access token from `POST /login/`, as `Bearer <token>`.",
}
PAGE_RULE = "page must be a whole number from 1."


def page_arguments(size_name, default_size, max_size, what="Results"):
    """Return the schema of ``page`` and a page size named ``size_name``.

    It loads as flask-smorest's PaginationParameters, with the same wording of
    its errors on every API.
    """
    size_rule = f"{size_name} must be a whole number from 1 to {max_size}."

    def load(self, data, **kwargs):
        return PaginationParameters(page=data["page"], page_size=data[size_name])

    fields = {
        "page": ma.fields.Integer(
            load_default=1,
            validate=ma.validate.Range(min=1, error=PAGE_RULE),
            error_messages={"invalid": PAGE_RULE},
            metadata={
                "description": f"Page number, from 1. Only the first results can"
                f" be paged through: page x {size_name} may not pass"
                " MAX_RESULT_WINDOW (10,000 by default), or the answer is 422."
            },
        ),
        size_name: ma.fields.Integer(
            load_default=default_size,
            validate=ma.validate.Range(min=1, max=max_size, error=size_rule),
            error_messages={"invalid": size_rule},
            metadata={"description": f"{what} per page, 1 to {max_size}."},
        ),
        "make_pagination_parameters": ma.post_load(load),
    }
    name = f"{size_name.title().replace('_', '')}QueryArgsSchema"
    return type(name, (ma.Schema,), fields)


# X-Pagination is JSON text in a header: documented as such, not as an object.
PAGINATION_HEADER_DOC = {
    "description": "JSON: `total` and `total_pages` count every match; `last_page`"
    " and `next_page` stop at the deepest page that can be served (the first"
    " MAX_RESULT_WINDOW results).",
    "content": {
        "application/json": {
            "schema": {"$ref": "#/components/schemas/PaginationMetadata"}
        }
    },
}
WWW_AUTHENTICATE_HEADER = {
    "description": "`Bearer`: send an access token.",
    "schema": {"type": "string"},
}


class Blueprint(flask_smorest.Blueprint):
    """A flask-smorest Blueprint that knows about caching and authentication.

    Its ``X-Pagination`` header names as ``last_page`` the deepest page that can
    be served (``MAX_RESULT_WINDOW`` results), and offers no ``next_page`` past
    it; ``total`` and ``total_pages`` still count every match.
    """

    def __init__(self, *args, cached=False, personal=False, **kwargs):
        super().__init__(*args, **kwargs)
        if personal:
            # Every answer of the blueprint is for its caller alone (tokens, say).
            self.before_request(caching.mark_personal)
        if cached:
            self.before_request(caching.serve_from_cache)
            self.after_request(caching.finish_cacheable_response)
            self._prepare_doc_cbks.append(caching.document_caching)

    # JSON bodies too deep, with huge numbers, lone surrogates or NULs are a 400.
    ARGUMENTS_PARSER = ArgumentsParser()

    # The arguments of paginate(): page and page_size, unless a blueprint says.
    PAGE_ARGUMENTS = page_arguments("page_size", 50, 100)

    def paginate(self):
        """Decorate a view that pages its own results.

        The view receives ``pagination_parameters`` (``page``, ``page_size``)
        and sets its ``item_count``; a page deeper than the result window is
        refused before the view runs (422); the answer gets X-Pagination.
        """

        def decorator(func):
            @wraps(func)
            def wrapper(*args, **kwargs):
                page_params = self.PAGINATION_ARGUMENTS_PARSER.parse(
                    self.PAGE_ARGUMENTS, request, location="query"
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
                "parameters": {"in": "query", "schema": self.PAGE_ARGUMENTS},
                "response": {422: "UNPROCESSABLE_ENTITY"},
            }
            return wrapper

        return decorator

    @staticmethod
    def _make_pagination_metadata(page, page_size, item_count):
        """Build X-Pagination, its last and next pages within the result window."""
        metadata = flask_smorest.Blueprint._make_pagination_metadata(
            page, page_size, item_count
        )
        deepest = max(1, current_app.config["MAX_RESULT_WINDOW"] // page_size)
        if metadata.get("last_page", 0) > deepest:
            metadata["last_page"] = deepest
            if metadata.get("next_page", 0) > deepest:
                del metadata["next_page"]
            if metadata.get("page", 0) > deepest:
                del metadata["page"]
        return metadata

    def _document_pagination_metadata(self, spec, resp_doc):
        """Document X-Pagination as the JSON text it is."""
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = (
            PAGINATION_HEADER_DOC
        )

    @staticmethod
    def _generate_etag(etag_data, extra_data=None):
        """Return the ETag of the answer whose body is ``etag_data`` as JSON.

        It is the hash of that body, the ETag every cached GET carries, so
        ``check_etag`` compares an ``If-Match`` with what the caller was sent.
        """
        return generate_etag(current_app.json.response(etag_data).get_data())

    def login_required(self, role=None, refresh=False):
        """Decorate a view that only a user with a valid token (and ``role``) may call.

        The token is an access token, or with ``refresh`` a refresh token. Goes
        above ``arguments``, ``response`` and ``paginate``, so that nothing is
        parsed or read before the caller is known.
        """

        def decorator(func):
            @wraps(func)
            def wrapper(*args, **kwargs):
                caching.mark_personal()
                authentication.require(role, refresh=refresh)
                return func(*args, **kwargs)

            wrapper._personal = True
            wrapper = self.doc(security=[{BEARER_SCHEME: []}])(wrapper)
            kind = "refresh" if refresh else "access"
            wrapper = self.alt_response(
                401,
                schema=ErrorSchema,
                description=f"No valid {kind} token was sent.",
                headers={"WWW-Authenticate": WWW_AUTHENTICATE_HEADER},
            )(wrapper)
            if role is not None:
                wrapper = self.alt_response(
                    403,
                    schema=ErrorSchema,
                    description=f"Only a user with the role {role} may do this.",
                )(wrapper)
            return wrapper

        return decorator


class PageDepthPlugin(BasePlugin):
    """State in the spec the deepest ``page`` the result window lets through.

    A page ends within the first ``max_result_window`` results only if page x
    page size does not pass it, so no page beyond ``max_result_window`` is ever
    served (not even one result a page): that is the ``maximum`` of every
    ``page``. The rule over both parameters is in their descriptions.
    """

    def __init__(self, max_result_window):
        super().__init__()
        self.max_result_window = max_result_window

    def operation_helper(self, path=None, operations=None, **kwargs):
        """Give each ``page`` query parameter its ``maximum``."""
        for operation in (operations or {}).values():
            for parameter in operation.get("parameters", []):
                if (
                    isinstance(parameter, dict)
                    and parameter.get("in") == "query"
                    and parameter.get("name") == "page"
                ):
                    parameter["schema"]["maximum"] = self.max_result_window


# What the HTTP server answers itself, before the API (gunicorn.conf.py's limits).
SERVER_REFUSALS = {
    400: "A body the API cannot read, in the JSON error shape: not JSON, or JSON"
    " no view can use (arrays or objects nested too deep, a number of more than"
    " 4,300 digits, an escaped lone surrogate such as \\udfff, a NUL character"
    " \\u0000 in a text, which no text column can store). Or the"
    " HTTP server's own refusal of a malformed request (a raw CR, LF or NUL in a"
    " header) or of more than 100 headers: a short HTML page.",
    414: "The HTTP server's own refusal of a request line longer than 4,094"
    " bytes (a long query string): a short HTML page.",
    431: "The HTTP server's own refusal of a header longer than 8,190 bytes: a"
    " short HTML page.",
}
SERVER_REFUSAL_CONTENT = {"text/html": {"schema": {"type": "string"}}}


class ServerRefusalsPlugin(BasePlugin):
    """Document on every operation the answers the HTTP server gives itself.

    gunicorn refuses a request line, a header or a request it cannot take
    before the app sees it, with an HTML page and no ``X-Request-ID``: each
    operation may answer 400, 414 and 431 in ``text/html``. A 400 may also be
    the API's own JSON error (a body that is not JSON), with its request id. Registered after
    the plugin that adds ``X-Request-ID``, which these answers do not carry.
    """

    def operation_helper(self, path=None, operations=None, **kwargs):
        """Add the server's refusals to each operation's responses."""
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            for status, description in SERVER_REFUSALS.items():
                documented = responses.get(str(status), responses.get(status))
                if isinstance(documented, dict):
                    documented.setdefault("content", {}).update(SERVER_REFUSAL_CONTENT)
                    documented["description"] += f" Or: {description}"
                elif documented is None:
                    responses[str(status)] = {
                        "description": description,
                        "content": dict(SERVER_REFUSAL_CONTENT),
                    }
            # A 400 is also the API's own, for a body it cannot read.
            responses["400"]["content"]["application/json"] = {
                "schema": {"$ref": "#/components/schemas/Error"}
            }
            responses["400"].setdefault("headers", {})[REQUEST_ID_HEADER] = (
                "X_REQUEST_ID"
            )


def init_spec(api):
    """Declare the bearer security scheme that ``login_required`` operations use."""
    api.spec.components.security_scheme(BEARER_SCHEME, BEARER_SECURITY_SCHEME)
