"""The tokens of accounts: issued, looked up, and revoked into a blocklist.

A token names its account by id; the account is read for every request that
sends one, so a token of a deleted account is refused and a role change counts
at once. A revoked token (``POST /logout/``) stays on the blocklist until it
would have expired: in Redis when ``REDIS_URL`` is set (the token's remaining
life as the key's TTL), in the database otherwise.
"""

import time

import redis
from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, get_jwt
from flask_smorest import abort

from app.extensions import jwt
from app.resources.accounts.queries import get_account, is_token_revoked, revoke_token

REVOKED_KEY = "movie-catalogue:revoked:"
# Seconds to wait before retrying while the blocklist cannot be read.
BLOCKLIST_RETRY_AFTER = 5


def tokens_for(account, refresh=True):
    """Return a new access token for ``account``, and a refresh token if asked."""
    identity = str(account.id)
    tokens = {"access_token": create_access_token(identity)}
    if refresh:
        tokens["refresh_token"] = create_refresh_token(identity)
    return tokens


def revoke_current_token():
    """Put the token of this request on the blocklist until it expires."""
    claims = get_jwt()
    client = current_app.extensions.get("redis")
    if client is None:
        revoke_token(claims["jti"], claims["exp"])
        return
    remaining = max(1, int(claims["exp"] - time.time()))
    try:
        client.set(REVOKED_KEY + claims["jti"], 1, ex=remaining)
    except redis.RedisError:
        _blocklist_unavailable()


def _is_revoked(jwt_header, jwt_payload):
    """Whether the token is on the blocklist; 503 if the blocklist cannot tell."""
    client = current_app.extensions.get("redis")
    if client is None:
        return is_token_revoked(jwt_payload["jti"])
    try:
        return bool(client.exists(REVOKED_KEY + jwt_payload["jti"]))
    except redis.RedisError:
        _blocklist_unavailable()


def _blocklist_unavailable():
    current_app.logger.warning("token blocklist unavailable")
    abort(
        503,
        message="Tokens cannot be checked right now; try again in a few seconds.",
        headers={"Retry-After": str(BLOCKLIST_RETRY_AFTER)},
    )


def _account_of(jwt_header, jwt_payload):
    """Return the account the token names, or None (a 401) if there is none."""
    try:
        account_id = int(jwt_payload["sub"])
    except (TypeError, ValueError):
        return None
    return get_account(account_id)


def init_app(app):
    """Tell flask-jwt-extended whom a token names and whether it was revoked."""
    jwt.user_lookup_loader(_account_of)
    jwt.token_in_blocklist_loader(_is_revoked)
