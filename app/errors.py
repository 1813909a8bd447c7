"""One JSON error shape for every 4xx and 5xx: ``{code, status, message, errors}``.

flask-smorest's shape is the base; ``errors`` holds details by location and name,
e.g. ``{"query": {"limit": ["..."]}}`` for a bad query parameter. No answer ever
carries a stack trace: unexpected exceptions are logged with the request id.
"""

import time

from flask import current_app, jsonify
from flask_smorest.error_handler import ErrorSchema
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from app.request_id import current_request_id
from catalogue.db import DatabaseBusy, DatabaseUnavailable
from catalogue.search import ResultWindowExceeded, SearchIndexDamaged, SearchUnavailable

# Seconds a client should wait before retrying while the search engine is down.
SEARCH_RETRY_AFTER = 5
# Seconds a client should wait before retrying a write that found the database busy.
DATABASE_RETRY_AFTER = 1
# While the search engine stays down for one cause, one warning per this many
# seconds is enough; another cause is warned of at once.
_SEARCH_WARNING_INTERVAL = 30.0
_LAST_SEARCH_WARNINGS = "search-unavailable-warned-at"

RETRY_AFTER_HEADER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer"},
}


def retry_later_doc(description):
    """Return the documented answer of an error that says when to retry."""
    return {
        "schema": ErrorSchema,
        "description": description,
        "headers": {"Retry-After": RETRY_AFTER_HEADER},
    }


SEARCH_UNAVAILABLE_DOC = retry_later_doc(
    "The search engine is unreachable or too slow; retry later."
)


def error_response(code, message, errors=None, headers=None):
    """Build the JSON answer for an error with status ``code``."""
    response = jsonify(
        {
            "code": code,
            "status": HTTP_STATUS_CODES.get(code, "Error"),
            "message": message,
            "errors": errors or {},
        }
    )
    response.status_code = code
    if headers:
        response.headers.update(headers)
    return response


def handle_http_exception(error):
    """Answer an HTTP error (abort, routing, webargs validation) in the one shape."""
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages") or {}
    message = data.get("message") or _describe(error, errors)
    headers = {
        name: value
        for name, value in error.get_headers()
        if name.lower() != "content-type"
    }
    headers.update(data.get("headers") or {})
    return error_response(error.code, message, errors, headers)


def _describe(error, errors):
    """Write a message a user can act on, for errors raised without one."""
    if error.code == 422 and errors:
        names = sorted(
            {
                name
                for location, fields in errors.items()
                for name in (fields if isinstance(fields, dict) else [location])
            }
        )
        noun = "value" if len(names) == 1 else "values"
        return f"Invalid {noun} for {', '.join(names)}; see errors for what is allowed."
    if error.code == 500:
        return _internal_error_message()
    if error.code == 405 and getattr(error, "valid_methods", None):
        allowed = ", ".join(sorted(error.valid_methods))
        return f"This URL does not accept that method; allowed: {allowed}."
    return error.description


def handle_search_index_damaged(error):
    """503 without Retry-After: the index must be rebuilt; retrying cannot help."""
    _warn_search_unavailable(error)
    return error_response(
        503,
        "The search index is damaged and must be rebuilt (flask etl run --full);"
        " retrying will not help until then.",
    )


def handle_search_unavailable(error):
    """503 with Retry-After: the search engine is down or timed out."""
    _warn_search_unavailable(error)
    return error_response(
        503,
        "The search engine is unavailable; try again in a few seconds.",
        headers={"Retry-After": str(SEARCH_RETRY_AFTER)},
    )


def _warn_search_unavailable(error):
    """Log the failure, once per interval for each cause."""
    now = time.monotonic()
    warned = current_app.extensions.setdefault(_LAST_SEARCH_WARNINGS, {})
    cause = _cause_of(error)
    if now - warned.get(cause, float("-inf")) >= _SEARCH_WARNING_INTERVAL:
        warned[cause] = now
        current_app.logger.warning(
            "search engine unavailable (request %s): %s", current_request_id(), error
        )


def _cause_of(error):
    """Name what went wrong: the kind of failure, without the details that vary."""
    underlying = error.__cause__
    detail = str(underlying) if underlying is not None else str(error)
    return (type(underlying).__name__, detail.split(":")[0][:80])


def handle_database_busy(error):
    """503 with Retry-After: another writer kept the database for too long."""
    current_app.logger.warning(
        "database busy (request %s): %s", current_request_id(), error
    )
    return error_response(
        503,
        "The database is busy with another change; try again in a moment.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )


def handle_database_unavailable(error):
    """503 with Retry-After: the database cannot be reached right now."""
    current_app.logger.warning(
        "database unavailable (request %s): %s", current_request_id(), error
    )
    return error_response(
        503,
        "The database cannot be reached right now; try again in a moment.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )


def handle_result_window_exceeded(error):
    """422: the page lies deeper than the search engine can page."""
    window = current_app.config["MAX_RESULT_WINDOW"]
    deepest = ""
    if error.limit:
        deepest = f" (page {window // error.limit} with {error.limit} a page)"
    message = (
        f"Only the first {window} results can be paged through{deepest}; "
        "ask for an earlier page or narrow the search."
    )
    return error_response(422, message, {"query": {"page": [message]}})


def handle_unexpected_error(error):
    """500 for any exception nothing else handled; logged with the request id."""
    current_app.logger.error(
        "unhandled error in request %s", current_request_id(), exc_info=error
    )
    return error_response(500, _internal_error_message())


def _internal_error_message():
    return (
        "Something went wrong on our side; quote request id "
        f"{current_request_id()} when you report it."
    )


def init_app(app):
    """Answer every error in the one JSON shape (after the Api set its handler)."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(SearchIndexDamaged, handle_search_index_damaged)
    app.register_error_handler(SearchUnavailable, handle_search_unavailable)
    app.register_error_handler(DatabaseBusy, handle_database_busy)
    app.register_error_handler(DatabaseUnavailable, handle_database_unavailable)
    app.register_error_handler(ResultWindowExceeded, handle_result_window_exceeded)
    app.register_error_handler(Exception, handle_unexpected_error)
