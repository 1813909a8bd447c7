"""What the service knows about the client of the current request."""

from datetime import UTC, datetime

from flask import current_app, request

from app.request_id import current_request_id
from app.resources.client.user_agent import parse_user_agent


def describe_client():
    """Return the client's address, user agent, languages, and this request's ids."""
    return {
        "ip": request.remote_addr,
        "user_agent": parse_user_agent(request.user_agent.string),
        "languages": [
            {"tag": tag, "quality": quality}
            for tag, quality in request.accept_languages
        ],
        "request_id": current_request_id(),
        "api_version": current_app.config["API_VERSION"],
        "server_time": datetime.now(UTC),
    }
