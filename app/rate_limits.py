"""Rate limits (flask-limiter): in Redis when REDIS_URL is set, in memory otherwise.

Only the routes that name a limit have one (log-ins and registrations, see
``app.resources.accounts.routes``). A Redis that fails lets requests through
on per-worker limits in memory, rather than failing them.
"""

from app.extensions import limiter

KEY_PREFIX = "movie-catalogue:limits"


def init_app(app):
    """Keep the limits where the settings say; answer 429 with Retry-After."""
    config = app.config
    timeout = config["REDIS_SOCKET_TIMEOUT"]
    app.config.update(
        RATELIMIT_STORAGE_URI=config["REDIS_URL"] or "memory://",
        RATELIMIT_STORAGE_OPTIONS=(
            {"socket_timeout": timeout, "socket_connect_timeout": timeout}
            if config["REDIS_URL"]
            else {}
        ),
        RATELIMIT_KEY_PREFIX=KEY_PREFIX,
        RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
    )
    limiter.init_app(app)
