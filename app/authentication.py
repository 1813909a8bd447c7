"""Who is asking: JWT bearer tokens (flask-jwt-extended), checked by :func:`require`.

Tokens are signed with ``JWT_SECRET_KEY`` (HS256, pinned: a token that names
another algorithm, ``none`` included, is refused) and must carry an expiry.
An access token lives ``JWT_ACCESS_TOKEN_MINUTES``, a refresh token
``JWT_REFRESH_TOKEN_DAYS``. Whom a token names, and whether it was revoked,
the accounts resource tells (``app.resources.accounts.tokens``).

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
from datetime import timedelta
from pathlib import Path

from flask_jwt_extended import current_user, verify_jwt_in_request
from flask_smorest import abort

from app.errors import error_response
from app.extensions import jwt
from catalogue.config import ConfigError

ALGORITHM = "HS256"
SECRET_BYTES = 64
# RFC 7518: an HS256 key as long as the hash, at least.
MIN_SECRET_BYTES = 32
BEARER = {"WWW-Authenticate": "Bearer"}


def require(role=None, refresh=False):
    """Answer 401 unless the request carries a valid token; 403 without ``role``.

    An access token, or with ``refresh`` a refresh token; never the other.
    """
    verify_jwt_in_request(refresh=refresh)
    if role is not None and current_user.role != role:
        abort(403, message=f"Only a user with the role {role} may do this.")


def _unauthorized(message):
    return error_response(401, message, headers=BEARER)


def _secret_key(config):
    """Return the signing key: the setting, or the embedded default's kept secret."""
    if config["JWT_SECRET_KEY"]:
        if len(config["JWT_SECRET_KEY"].encode()) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"JWT_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes long for"
                " HS256; make one with: python -c 'import secrets;"
                " print(secrets.token_urlsafe(64))'"
            )
        return config["JWT_SECRET_KEY"]
    if config["ELASTICSEARCH_URL"] or config["REDIS_URL"] or config["DATABASE_URL"]:
        raise ConfigError(
            "JWT_SECRET_KEY must be set when DATABASE_URL, REDIS_URL or"
            " ELASTICSEARCH_URL is: every node has to sign and accept tokens with"
            " the same key"
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
        JWT_ACCESS_TOKEN_EXPIRES=timedelta(
            minutes=app.config["JWT_ACCESS_TOKEN_MINUTES"]
        ),
        JWT_REFRESH_TOKEN_EXPIRES=timedelta(days=app.config["JWT_REFRESH_TOKEN_DAYS"]),
    )
    jwt.init_app(app)
    # Every token this service signs expires; one without exp was not made here.
    jwt.token_verification_loader(lambda header, payload: "exp" in payload)
    jwt.unauthorized_loader(
        lambda reason: _unauthorized(
            "This needs an access token: send Authorization: Bearer <token>."
        )
    )
    jwt.invalid_token_loader(
        lambda reason: _unauthorized(
            "The token is not valid here; log in again for a new one."
        )
    )
    jwt.expired_token_loader(
        lambda header, payload: _unauthorized(
            "The token has expired; refresh it or log in again."
        )
    )
    jwt.revoked_token_loader(
        lambda header, payload: _unauthorized(
            "The token was revoked (by a log-out, or a refresh token used"
            " already); log in again."
        )
    )
    jwt.token_verification_failed_loader(
        lambda header, payload: _unauthorized(
            "The token has no expiry; log in again for a new one."
        )
    )
    jwt.user_lookup_error_loader(
        lambda header, payload: _unauthorized(
            "The token's account no longer exists; register or log in again."
        )
    )
