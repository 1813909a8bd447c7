"""Schemas of the client information answer."""

import marshmallow as ma


class SoftwareSchema(ma.Schema):
    """A browser or an operating system."""

    family = ma.fields.String(metadata={"example": "Chrome"})
    version = ma.fields.String(allow_none=True, metadata={"example": "120.0.0"})


class DeviceSchema(ma.Schema):
    """The device a user agent runs on."""

    family = ma.fields.String(metadata={"example": "iPhone"})
    brand = ma.fields.String(allow_none=True, metadata={"example": "Apple"})
    model = ma.fields.String(allow_none=True, metadata={"example": "iPhone"})


class UserAgentSchema(ma.Schema):
    """The User-Agent header, raw and parsed."""

    raw = ma.fields.String(metadata={"description": "The header as sent."})
    browser = ma.fields.Nested(SoftwareSchema)
    os = ma.fields.Nested(SoftwareSchema)
    device = ma.fields.Nested(DeviceSchema)
    is_bot = ma.fields.Boolean(metadata={"description": "A crawler or other robot."})


class LanguageSchema(ma.Schema):
    """One language of Accept-Language, with its weight."""

    tag = ma.fields.String(metadata={"example": "en-US"})
    quality = ma.fields.Float(metadata={"example": 0.9})


class ClientInfoSchema(ma.Schema):
    """What the service knows about the calling client."""

    ip = ma.fields.String(
        metadata={
            "description": "The client's address; X-Forwarded-For counts only when"
            " set by one of the TRUSTED_PROXIES."
        }
    )
    user_agent = ma.fields.Nested(UserAgentSchema)
    languages = ma.fields.List(
        ma.fields.Nested(LanguageSchema),
        metadata={"description": "Accept-Language, most preferred first."},
    )
    request_id = ma.fields.String(metadata={"description": "Also in X-Request-ID."})
    api_version = ma.fields.String(metadata={"example": "1.0.0"})
    server_time = ma.fields.AwareDateTime(
        metadata={"description": "The server's clock, UTC, ISO 8601."}
    )
