"""flask-jwt-extended's manager, remembering the tokens it has verified.

A client sends the same access token with each of its requests, and verifying
it (four parses of the token by PyJWT and its signature) cost more than the
rest of an authenticated request's checks: 16% of a worker's CPU on
``GET /collection/``. So a token's verified claims are kept until the token
expires, for the key that verified them: a token is never accepted without
having been verified once with the app's key, nor after its ``exp``. Whom it
names and whether it was revoked are still read on every request.
"""

import threading
import time

import cachetools
import flask_jwt_extended
from flask import current_app

# Verified tokens kept per process (a few hundred bytes each).
VERIFIED_TOKENS = 10_000


def _until_expiry(key, claims, now):
    return claims["exp"]


class JWTManager(flask_jwt_extended.JWTManager):
    """A JWTManager that verifies each token once, not on every request."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The timer reads time.time at each call, so a test can move the clock.
        self._verified = cachetools.TLRUCache(
            VERIFIED_TOKENS, _until_expiry, timer=lambda: time.time()
        )
        self._lock = threading.Lock()

    def _decode_jwt_from_config(
        self, encoded_token, csrf_value=None, allow_expired=False
    ):
        """Return the token's claims, verified now or by an earlier request."""
        if csrf_value is not None or allow_expired:
            return super()._decode_jwt_from_config(
                encoded_token, csrf_value, allow_expired
            )
        key = (current_app.config["JWT_SECRET_KEY"], encoded_token)
        with self._lock:
            claims = self._verified.get(key)
        if claims is None:
            claims = super()._decode_jwt_from_config(encoded_token)
            # One without an expiry is refused later (authentication): never kept.
            if "exp" in claims:
                with self._lock:
                    self._verified[key] = claims
        return claims
