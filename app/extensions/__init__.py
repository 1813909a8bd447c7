"""Extension objects, created unbound and initialised by the factory.

The flask-smorest ``Api`` is not here: it binds to one app, so the factory
creates one per app (tests create many apps in one process). The Blueprint
every resource uses is in ``app.extensions.smorest``; the JWTManager, which
remembers the tokens it verified, in ``app.extensions.verified_tokens``.
"""

from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from app.extensions.verified_tokens import JWTManager

cache = Cache()
jwt = JWTManager()
limiter = Limiter(key_func=get_remote_address)
