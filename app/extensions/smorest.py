"""flask-smorest for this API: the one Blueprint every resource is built on.

A blueprint caches its GET answers in the shared response cache only when
asked (``cached=True``). An operation marked ``@blp.login_required(role=...)``
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

    def __init__(self, *args, cached=False, **kwargs):
        super().__init__(*args, **kwargs)
        if cached:
            self.before_request(caching.serve_from_cache)
            self.after_request(caching.finish_cacheable_response)
            self._prepare_doc_cbks.append(caching.document_caching)

    def login_required(self, role=None):
        """Decorate a view that only a user with a valid token (and ``role``) may call.

        Goes above ``arguments``, ``response`` and ``paginate``, so that nothing
        is parsed or read before the caller is known.
        """

        def decorator(func):
            @wraps(func)
            def wrapper(*args, **kwargs):
                caching.mark_personal()
                authentication.require(role)
                return func(*args, **kwargs)

            wrapper._personal = True
            wrapper = self.doc(security=[{BEARER_SCHEME: []}])(wrapper)
            wrapper = self.alt_response(
                401,
                schema=ErrorSchema,
                description="No valid access token was sent.",
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
