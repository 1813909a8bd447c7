"""Routes of accounts: ``/register/``, ``/login/``, ``/token/refresh/``, ``/logout/``."""

from flask import current_app, request
from flask.views import MethodView
from flask_jwt_extended import current_user
from flask_limiter.util import get_remote_address
from flask_smorest import abort

from app.authentication import BEARER
from app.errors import ErrorSchema, retry_later_doc
from app.extensions import limiter
from app.extensions.smorest import Blueprint
from app.resources.accounts import passwords, queries
from app.resources.accounts.schemas import (
    AccessTokenSchema,
    CredentialsSchema,
    MessageSchema,
    RegistrationSchema,
    TokensSchema,
)
from app.resources.accounts.tokens import (
    revoke_current_tokens,
    rotate_current_refresh_token,
    tokens_for,
)

WRONG_CREDENTIALS = "Wrong username or password."
TOO_MANY_DOC = retry_later_doc("Too many attempts; wait for Retry-After seconds.")

blp = Blueprint(
    "accounts",
    __name__,
    personal=True,
    description="Accounts: register, log in for tokens, refresh them, log out.",
)


def _failed(response):
    """Whether a log-in failed, and so counts against its limits."""
    return response.status_code == 401


def _username_and_address_key():
    """Return the rate-limit key of the username a log-in names, from its address.

    Failed log-ins count per username *and* address, so that someone elsewhere
    who fails for a username never holds back its owner at her own address
    (the per-address limit bounds how many names one address may try).
    """
    body = request.get_json(silent=True)
    username = body.get("username") if isinstance(body, dict) else None
    name = queries.username_key(username) if isinstance(username, str) else ""
    return f"username:{name}|address:{get_remote_address()}"


@blp.route("/register/")
class RegisterViews(MethodView):
    """New accounts."""

    @limiter.limit(
        lambda: current_app.config["REGISTRATIONS_PER_ADDRESS"],
        error_message="Too many registrations from this address; try again later.",
    )
    @blp.arguments(RegistrationSchema)
    @blp.response(201, AccessTokenSchema)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="The username is taken, whatever its case and width, or"
        " reads like one that is (look-alike letters).",
    )
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="A username or password the rules refuse: `errors` says why"
        " (a password too easy to guess: common, the username, repeated or"
        " consecutive characters).",
    )
    @blp.alt_response(429, **TOO_MANY_DOC)
    def post(self, credentials):
        """Create an account (never an admin) and answer its first access token."""
        password_hash = passwords.hash_password(credentials["password"])
        try:
            account = queries.create_account(credentials["username"], password_hash)
        except queries.UsernameLookalike:
            abort(
                409,
                message="This username reads like one that is taken (look-alike"
                " letters count as the same); choose another.",
                errors={
                    "json": {"username": ["This username reads like a taken one."]}
                },
            )
        except queries.UsernameTaken:
            abort(
                409,
                message="This username is taken (usernames ignore case and width).",
                errors={"json": {"username": ["This username is taken."]}},
            )
        return tokens_for(account, refresh=False)


@blp.route("/login/")
class LoginViews(MethodView):
    """Access and refresh tokens for a username and password."""

    @limiter.limit(
        lambda: current_app.config["LOGIN_FAILURES_PER_USERNAME"],
        key_func=_username_and_address_key,
        deduct_when=_failed,
        error_message="Too many failed log-ins for this username from this"
        " address; try again later.",
    )
    @limiter.limit(
        lambda: current_app.config["LOGIN_FAILURES_PER_ADDRESS"],
        deduct_when=_failed,
        error_message="Too many failed log-ins from this address; try again later.",
    )
    @blp.arguments(CredentialsSchema)
    @blp.response(200, TokensSchema)
    @blp.alt_response(
        401,
        schema=ErrorSchema,
        description="Wrong username or password (which one is not said).",
    )
    @blp.alt_response(429, **TOO_MANY_DOC)
    def post(self, credentials):
        """Log in: answer an access token and a refresh token."""
        # Unknown users cost one verification too: no telling them apart by time.
        reference = passwords.dummy_hash()
        account, password_hash = queries.find_credentials(credentials["username"])
        valid = passwords.verify_password(
            password_hash or reference, credentials["password"]
        )
        if account is None or not valid:
            abort(401, message=WRONG_CREDENTIALS, headers=BEARER)
        if passwords.needs_rehash(password_hash):
            new_hash = passwords.hash_password(credentials["password"])
            queries.set_password_hash(account.id, new_hash)
        return tokens_for(account)


@blp.route("/token/refresh/")
class TokenRefreshViews(MethodView):
    """New access tokens."""

    @blp.login_required(refresh=True)
    @blp.response(200, TokensSchema)
    def post(self):
        """Answer a new access token and a new refresh token; the one sent is used up."""
        return rotate_current_refresh_token(current_user)


@blp.route("/logout/")
class LogoutViews(MethodView):
    """The end of a token."""

    @blp.login_required()
    @blp.response(200, MessageSchema)
    def post(self):
        """Revoke the access token this request carries and the refresh tokens of its log-in."""
        revoke_current_tokens()
        return {"message": "token revoked"}
