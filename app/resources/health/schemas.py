"""Schemas of the health probes."""

import marshmallow as ma


class LivenessSchema(ma.Schema):
    """The process is up."""

    status = ma.fields.String(metadata={"example": "ok"})


class CheckSchema(ma.Schema):
    """The outcome of one readiness check."""

    ok = ma.fields.Boolean(required=True)
    detail = ma.fields.String(
        metadata={
            "example": "5 migrations applied",
            "description": "What the check found: only with an admin's access token.",
        }
    )


class ReadinessSchema(ma.Schema):
    """Every dependency is reachable."""

    status = ma.fields.String(metadata={"example": "ready"})
    checks = ma.fields.Dict(
        keys=ma.fields.String(metadata={"enum": ["database", "search", "cache"]}),
        values=ma.fields.Nested(CheckSchema),
        metadata={"description": "Each dependency by name: database, search, cache."},
    )
