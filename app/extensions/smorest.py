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
from flask_smorest.error_handler import ErrorSchema

from app import authentication, caching

BEARER_SCHEME = "bearerAuth"
BEARER_SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "An access token from `POST /login/`, as `Bearer <token>`.",
}
WWW_AUTHENTICATE_HEADER = {
    "description": "`Bearer`: send an access token.",
    "schema": {"type": "string"},
}


class Blueprint(flask_smorest.Blueprint):
    """A flask-smorest Blueprint that knows about caching and authentication."""

    def __init__(self, *args, cached=False, personal=False, **kwargs):
        super().__init__(*args, **kwargs)
        if personal:
            # Every answer of the blueprint is for its caller alone (tokens, say).
            self.before_request(caching.mark_personal)
        if cached:
            self.before_request(caching.serve_from_cache)
            self.after_request(caching.finish_cacheable_response)
            self._prepare_doc_cbks.append(caching.document_caching)

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
