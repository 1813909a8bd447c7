"""The tokens of accounts: issued, looked up, rotated and revoked into a blocklist.

A token names its account by the account's public id, a random UUID never
given to another account; the account is read for every request that sends
one, so a token of a deleted account is refused and a role change counts at
once.

Each log-in starts a family: its access and refresh tokens, and every token
refreshed from them, carry the family's id (``fam``). A refresh token works
once: refreshing answers a new access token and a new refresh token of the
same family, and the one used goes on the blocklist. A used refresh token sent
again (a copy someone kept) revokes its whole family. ``POST /logout/``
revokes the access token it carries and its family, so the refresh tokens
of that log-in fail too.

The blocklist keeps token ids and families until no token they name can still
be valid: in Redis when ``REDIS_URL`` is set (the remaining life as the key's
TTL), in the database otherwise (``revoked_token``, families as
``family:<id>``).
"""

import time
import uuid

import redis
from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, get_jwt
from flask_smorest import abort

from app.authentication import BEARER
from app.extensions import jwt
from app.resources.accounts.queries import (
    get_account_by_public_id,
    revoke_token,
    revoked_among,
)

REVOKED_KEY = "movie-catalogue:revoked:"
FAMILY_PREFIX = "family:"
FAMILY_CLAIM = "fam"
# Seconds to wait before retrying while the blocklist cannot be read.
BLOCKLIST_RETRY_AFTER = 5


def tokens_for(account, refresh=True, family=None):
    """Return a new access token for ``account``, and a refresh token if asked.

    Both belong to ``family``, or to a new family (a new log-in).
    """
    claims = {FAMILY_CLAIM: family or uuid.uuid4().hex}
    identity = account.public_id
    tokens = {"access_token": create_access_token(identity, additional_claims=claims)}
    if refresh:
        tokens["refresh_token"] = create_refresh_token(
            identity, additional_claims=claims
        )
    return tokens


def rotate_current_refresh_token(account):
    """Use this request's refresh token once: answer new tokens of its family.

    A refresh token that was used already (by a racing request) is refused
    (401), and its family revoked.
    """
    claims = get_jwt()
    if not _revoke(claims["jti"], claims["exp"]):
        revoke_family(claims)
        abort(
            401,
            message="This refresh token was used already; log in again.",
            headers=BEARER,
        )
    return tokens_for(account, family=claims.get(FAMILY_CLAIM))


def revoke_current_tokens():
    """Revoke the token of this request and its family (a log-out)."""
    claims = get_jwt()
    _revoke(claims["jti"], claims["exp"])
    revoke_family(claims)


def revoke_family(claims):
    """Revoke every token of the family of ``claims``, for as long as one may live."""
    family = claims.get(FAMILY_CLAIM)
    if family is None:
        return
    lifetime = current_app.config["JWT_REFRESH_TOKEN_EXPIRES"].total_seconds()
    _revoke(FAMILY_PREFIX + family, int(time.time() + lifetime) + 1)


def _revoke(key, expires_at):
    """Put ``key`` on the blocklist until ``expires_at``; False if it was on it."""
    client = current_app.extensions.get("redis")
    if client is None:
        return revoke_token(key, expires_at)
    remaining = max(1, int(expires_at - time.time()))
    try:
        return bool(client.set(REVOKED_KEY + key, 1, ex=remaining, nx=True))
    except redis.RedisError:
        _blocklist_unavailable()


def _is_revoked(jwt_header, jwt_payload):
    """Whether the token or its family is on the blocklist; 503 if it cannot tell.

    A used refresh token sent again revokes its family: someone kept a copy.
    """
    keys = [jwt_payload["jti"]]
    family = jwt_payload.get(FAMILY_CLAIM)
    if isinstance(family, str):
        keys.append(FAMILY_PREFIX + family)
    revoked = _revoked_among(keys)
    replayed = jwt_payload["jti"] in revoked and jwt_payload.get("type") == "refresh"
    if replayed and len(keys) == 2 and keys[1] not in revoked:
        revoke_family(jwt_payload)
    return bool(revoked)


def _revoked_among(keys):
    client = current_app.extensions.get("redis")
    if client is None:
        return revoked_among(keys)
    try:
        found = client.mget([REVOKED_KEY + key for key in keys])
    except redis.RedisError:
        _blocklist_unavailable()
    return {key for key, value in zip(keys, found, strict=True) if value is not None}


def _blocklist_unavailable():
    current_app.logger.warning("token blocklist unavailable")
    abort(
        503,
        message="Tokens cannot be checked right now; try again in a few seconds.",
        headers={"Retry-After": str(BLOCKLIST_RETRY_AFTER)},
    )


def _account_of(jwt_header, jwt_payload):
    """Return the account the token names, or None (a 401) if there is none."""
    subject = jwt_payload.get("sub")
    if not isinstance(subject, str):
        return None
    try:
        public_id = str(uuid.UUID(subject))
    except ValueError:
        return None
    return get_account_by_public_id(public_id)


def init_app(app):
    """Tell flask-jwt-extended whom a token names and whether it was revoked."""
    jwt.user_lookup_loader(_account_of)
    jwt.token_in_blocklist_loader(_is_revoked)
