"""Schemas of the accounts resource: credentials in, tokens out."""

import marshmallow as ma

from app.resources.accounts import passwords
from app.resources.accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from catalogue import usernames

USERNAME_LENGTH = (3, 150)
USERNAME_RULE = (
    f"username must be {USERNAME_LENGTH[0]} to {USERNAME_LENGTH[1]} characters:"
    " letters, digits and @ . + - _ only."
)
PASSWORD_RULE = (
    f"password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long."
)


class UsernameField(ma.fields.String):
    """A username, loaded in the NFKC form it is kept in (fullwidth is plain)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return usernames.shown(super()._deserialize(value, attr, data, **kwargs))


class CredentialsSchema(ma.Schema):
    """A username and a password, as a log-in sends them."""

    username = UsernameField(
        required=True,
        validate=[
            ma.validate.Length(*USERNAME_LENGTH, error=USERNAME_RULE),
            ma.validate.Regexp(r"^[\w.@+-]+\Z", error=USERNAME_RULE),
        ],
        metadata={
            "description": "Letters, digits and @ . + - _; unique whatever its"
            " case and width (NFKC), and unlike any other (look-alike letters of"
            " other scripts count as the same).",
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
            "example": "correct horse battery",
            "minLength": MIN_PASSWORD_LENGTH,
            "maxLength": MAX_PASSWORD_LENGTH,
        },
    )


class RegistrationSchema(CredentialsSchema):
    """A new account's username and password.

    The password follows NIST SP 800-63B: 8 to 128 characters, not one of the
    most common passwords, not the username nor holding it, not one piece
    repeated nor a run of consecutive characters (each a 422 saying so).
    """

    password = ma.fields.String(
        required=True,
        load_only=True,
        validate=ma.validate.Length(
            MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH, error=PASSWORD_RULE
        ),
        metadata={
            "format": "password",
            "example": "correct horse battery",
            "minLength": MIN_PASSWORD_LENGTH,
            "maxLength": MAX_PASSWORD_LENGTH,
            "description": "Any characters, spaces too (NIST SP 800-63B). Refused"
            " (422) if it is one of the most common passwords (whatever its case),"
            " is or holds the username, is one character or piece repeated, or a"
            " run of consecutive characters such as 12345678.",
        },
    )

    @ma.validates_schema
    def password_hard_to_guess(self, data, **kwargs):
        """Refuse a password that is easy to guess (``passwords.weaknesses``)."""
        if "password" not in data:
            return
        found = passwords.weaknesses(data["password"], data.get("username"))
        if found:
            raise ma.ValidationError(found, "password")


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
