"""Schemas of the request counter."""

import marshmallow as ma


class RequestCountSchema(ma.Schema):
    """How many requests the server has answered."""

    requests = ma.fields.Integer(
        required=True,
        metadata={
            "description": "Requests answered since the last reset, this one not"
            " included.",
            "example": 1234,
        },
    )
