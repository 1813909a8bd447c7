"""Health probes: ``/healthz`` (alive) and ``/readyz`` (dependencies reachable)."""

from flask.views import MethodView
from flask_smorest import abort

from app.errors import ErrorSchema
from app.extensions.smorest import Blueprint
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


@blp.route("/readyz")
class ReadinessViews(MethodView):
    """Readiness."""

    @blp.response(200, ReadinessSchema)
    @blp.alt_response(
        503,
        schema=ErrorSchema,
        description="A dependency is unreachable; `errors` holds every check.",
    )
    def get(self):
        """Check the database, the search engine and the cache."""
        ready, checks = run_checks()
        if not ready:
            failed = ", ".join(
                name for name, check in checks.items() if not check["ok"]
            )
            abort(503, message=f"Not ready: {failed} unavailable.", errors=checks)
        return {"status": "ready", "checks": checks}
