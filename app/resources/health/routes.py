"""Health probes: ``/healthz`` (alive) and ``/readyz`` (dependencies reachable).

``/readyz`` tells anyone whether each dependency is up; what each check found
(the database's migrations, which search engine and where, which cache) only
an admin's access token sees, since those details name the service's insides.
"""

from flask.views import MethodView
from flask_jwt_extended import current_user, verify_jwt_in_request
from flask_smorest import abort

from app import caching
from app.errors import ErrorSchema
from app.extensions.smorest import (
    BEARER_SCHEME,
    WWW_AUTHENTICATE_HEADER,
    Blueprint,
)
from app.resources.health.checks import run_checks
from app.resources.health.schemas import LivenessSchema, ReadinessSchema

blp = Blueprint("health", __name__, description="Probes for orchestrators.")


@blp.route("/healthz")
class LivenessViews(MethodView):
    """Liveness."""

    @blp.response(200, LivenessSchema)
    def get(self):
        """Answer while the process runs; touches no dependency."""
        return {"status": "ok"}


def _for_an_operator():
    """Whether the caller sent an admin's access token (a bad token is a 401).

    Only then does the answer depend on who asks: it is sent private.
    """
    if verify_jwt_in_request(optional=True) is None:
        return False
    caching.mark_personal()
    return current_user is not None and current_user.is_admin


@blp.route("/readyz")
class ReadinessViews(MethodView):
    """Readiness."""

    @blp.doc(security=[{}, {BEARER_SCHEME: []}])
    @blp.response(200, ReadinessSchema)
    @blp.alt_response(
        401,
        schema=ErrorSchema,
        description="A token was sent, and it is not valid (none is needed).",
        headers={"WWW-Authenticate": WWW_AUTHENTICATE_HEADER},
    )
    @blp.alt_response(
        503,
        schema=ErrorSchema,
        description="A dependency is unreachable; `errors` holds every check.",
    )
    def get(self):
        """Check the database, the search engine and the cache (details for admins)."""
        ready, checks = run_checks()
        if not _for_an_operator():
            checks = {name: {"ok": check["ok"]} for name, check in checks.items()}
        if not ready:
            failed = ", ".join(
                name for name, check in checks.items() if not check["ok"]
            )
            abort(503, message=f"Not ready: {failed} unavailable.", errors=checks)
        return {"status": "ready", "checks": checks}
