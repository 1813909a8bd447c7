"""Schemas of the accounts resource: credentials in, tokens out."""

import marshmallow as ma

from app.resources.accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

USERNAME_LENGTH = (3, 150)
USERNAME_RULE = (
    f"username must be {USERNAME_LENGTH[0]} to {USERNAME_LENGTH[1]} characters:"
    " letters, digits and @ . + - _ only."
)
PASSWORD_RULE = (
    f"password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long."
)


class CredentialsSchema(ma.Schema):
    """A username and a password."""

    username = ma.fields.String(
        required=True,
        validate=[
            ma.validate.Length(*USERNAME_LENGTH, error=USERNAME_RULE),
            ma.validate.Regexp(r"^[\w.@+-]+\Z", error=USERNAME_RULE),
        ],
        metadata={
            "description": "Letters, digits and @ . + - _; unique whatever its case.",
            "example": "alice",
            "minLength": USERNAME_LENGTH[0],
            "maxLength": USERNAME_LENGTH[1],
            "pattern": r"^[\w.@+-]+$",
        },
    )
    password = ma.fields.String(
        required=True,
        load_only=True,
        validate=ma.validate.Length(
            MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH, error=PASSWORD_RULE
        ),
        metadata={
            "format": "password",
            "minLength": MIN_PASSWORD_LENGTH,
            "maxLength": MAX_PASSWORD_LENGTH,
        },
    )


class AccessTokenSchema(ma.Schema):
    """A new access token."""

    access_token = ma.fields.String(
        required=True, metadata={"description": "Send as `Authorization: Bearer ...`."}
    )


class TokensSchema(AccessTokenSchema):
    """An access token, and the refresh token that gets new ones."""

    refresh_token = ma.fields.String(
        required=True,
        metadata={
            "description": "Send once to `POST /token/refresh/` for a new access"
            " token and a new refresh token; a refresh token used once is refused"
            " afterwards, and `POST /logout/` revokes it too."
        },
    )


class MessageSchema(ma.Schema):
    """What was done."""

    message = ma.fields.String(required=True)
