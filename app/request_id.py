"""Request ids: one per request, echoed in the ``X-Request-ID`` header of every answer.

A proxy in front may have assigned one already; it is kept when it is plain and
short enough to log safely, and replaced by a fresh uuid4 otherwise.
"""

import re
import uuid

from apispec import BasePlugin
from flask import request

HEADER = "X-Request-ID"
HEADER_DOC = {
    "description": "Id of this request: the caller's own when valid, else a uuid4.",
    "schema": {"type": "string", "maxLength": 128},
}
_VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+/=-]{0,127}")
# Kept in the WSGI environ, which belongs to exactly one request (``g`` belongs to
# the app context, which several requests may share in tests and CLI commands).
_ENVIRON_KEY = "movie_catalogue.request_id"


def current_request_id():
    """Return this request's id, adopting a valid incoming one or making a uuid4."""
    environ = request.environ
    if _ENVIRON_KEY not in environ:
        incoming = request.headers.get(HEADER, "")
        environ[_ENVIRON_KEY] = (
            incoming if _VALID.fullmatch(incoming) else str(uuid.uuid4())
        )
    return environ[_ENVIRON_KEY]


def echo_request_id(response):
    """Put this request's id in the answer's ``X-Request-ID`` header."""
    response.headers[HEADER] = current_request_id()
    return response


class RequestIdHeaderPlugin(BasePlugin):
    """Document the ``X-Request-ID`` header on every response of the spec."""

    def init_spec(self, spec):
        """Register the header once, as a component the responses refer to."""
        spec.components.header("X_REQUEST_ID", HEADER_DOC)

    def response_helper(self, response, **kwargs):
        """Add the header to a response component (the shared error responses)."""
        return {"headers": {**response.get("headers", {}), HEADER: "X_REQUEST_ID"}}

    def operation_helper(self, path=None, operations=None, **kwargs):
        """Add the header to each response written inline in an operation."""
        for operation in (operations or {}).values():
            for response in operation.get("responses", {}).values():
                if isinstance(response, dict):
                    response.setdefault("headers", {})[HEADER] = "X_REQUEST_ID"


def init_app(app):
    """Answer every request with its id."""
    app.after_request(echo_request_id)
