"""flask-smorest for this API: the one Blueprint every resource is built on.

A blueprint caches its GET answers in the shared response cache only when
asked (``cached=True``); one made ``personal=True`` sends every answer
``private, no-store`` (those that carry tokens, say). An operation marked ``@blp.login_required(role=...)``
asks for a bearer token, is documented with that security requirement and its
401 and 403 answers, and, since its answer depends on who asks, is never
stored in the shared cache and is sent ``Cache-Control: private, no-store``.
"""

from functools import wraps

import flask_smorest
from flask import current_app
from flask_smorest.error_handler import ErrorSchema

from app import authentication, caching

BEARER_SCHEME = "bearerAuth"
BEARER_SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "An access token from `POST /login/`, as `Bearer <token>`.",
}
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


def init_spec(api):
    """Declare the bearer security scheme that ``login_required`` operations use."""
    api.spec.components.security_scheme(BEARER_SCHEME, BEARER_SECURITY_SCHEME)
