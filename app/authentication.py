"""Who is asking: JWT bearer tokens (flask-jwt-extended), checked by :func:`require`.

Tokens are signed with ``JWT_SECRET_KEY`` (HS256, pinned: a token that names
another algorithm, ``none`` included, is refused) and must carry an expiry.
Every failure answers 401 in the API's error shape with ``WWW-Authenticate:
Bearer``, and says what to do; no token, and nothing of one, is ever written
into an answer or a log line.

Without ``JWT_SECRET_KEY``, the embedded default (no Redis, no Elasticsearch)
generates a secret once and keeps it in ``JWT_SECRET_PATH``, readable by its
owner only, so that every worker, and the next start, accept the same tokens.
A deployment on the real parts must set it.
"""

import os
import secrets
from pathlib import Path

from flask_jwt_extended import get_jwt, verify_jwt_in_request
from flask_smorest import abort

from app.config import ConfigError
from app.errors import error_response
from app.extensions import jwt

ALGORITHM = "HS256"
SECRET_BYTES = 64
BEARER = {"WWW-Authenticate": "Bearer"}


def require(role=None):
    """Answer 401 unless the request carries a valid access token; 403 without ``role``."""
    verify_jwt_in_request()
    if role is not None and get_jwt().get("role") != role:
        abort(403, message=f"Only a user with the role {role} may do this.")


def _unauthorized(message):
    return error_response(401, message, headers=BEARER)


def _secret_key(config):
    """Return the signing key: the setting, or the embedded default's kept secret."""
    if config["JWT_SECRET_KEY"]:
        return config["JWT_SECRET_KEY"]
    if config["ELASTICSEARCH_URL"] or config["REDIS_URL"]:
        raise ConfigError(
            "JWT_SECRET_KEY must be set when REDIS_URL or ELASTICSEARCH_URL is:"
            " every node has to sign and accept tokens with the same key"
        )
    return _kept_secret(Path(config["JWT_SECRET_PATH"]))


def _kept_secret(path):
    """Read the secret in ``path``, writing a new one there first if it is missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(SECRET_BYTES))
    secret = path.read_text().strip()
    if not secret:
        raise ConfigError(f"{path} is empty: delete it to have a new secret made")
    return secret


def init_app(app):
    """Configure flask-jwt-extended and answer its failures in the API's shape."""
    app.config.update(
        JWT_SECRET_KEY=_secret_key(app.config),
        JWT_ALGORITHM=ALGORITHM,
        JWT_DECODE_ALGORITHMS=[ALGORITHM],
        JWT_TOKEN_LOCATION=["headers"],
    )
    jwt.init_app(app)
    jwt.unauthorized_loader(
        lambda reason: _unauthorized(
            "This needs an access token: send Authorization: Bearer <token>."
        )
    )
    jwt.invalid_token_loader(
        lambda reason: _unauthorized(
            "The access token is not valid; log in again for a new one."
        )
    )
    jwt.expired_token_loader(
        lambda header, payload: _unauthorized(
            "The access token has expired; refresh it or log in again."
        )
    )
