"""Routes of the request counter: ``/request-count/`` and its reset."""

from flask import current_app
from flask.views import MethodView
from flask_smorest import abort

from app.errors import retry_later_doc
from app.extensions.smorest import Blueprint
from app.resources.accounts.schemas import MessageSchema
from app.resources.request_count.counter import CounterUnavailable
from app.resources.request_count.schemas import RequestCountSchema

RESET_MESSAGE = "request count reset successfully"
RETRY_AFTER = 5
UNAVAILABLE_DOC = retry_later_doc("The count cannot be reached; retry later.")

blp = Blueprint(
    "request-count",
    __name__,
    url_prefix="/request-count",
    description="How many requests the server has answered (see the README for"
    " what is counted).",
)


def _counter():
    return current_app.extensions["request-counter"]


def _unavailable():
    abort(
        503,
        message="The request count is unavailable; try again in a few seconds.",
        headers={"Retry-After": str(RETRY_AFTER)},
    )


@blp.route("/")
class RequestCountViews(MethodView):
    """The count."""

    @blp.login_required()
    @blp.response(200, RequestCountSchema)
    @blp.alt_response(503, **UNAVAILABLE_DOC)
    def get(self):
        """Read how many requests were answered before this one."""
        try:
            return {"requests": _counter().read()}
        except CounterUnavailable:
            _unavailable()


@blp.route("/reset/")
class RequestCountResetViews(MethodView):
    """Starting the count again."""

    @blp.login_required(role="admin")
    @blp.response(200, MessageSchema)
    @blp.alt_response(503, **UNAVAILABLE_DOC)
    def post(self):
        """Set the count to zero, as an admin (this request's own answer then counts as one)."""
        try:
            _counter().reset()
        except CounterUnavailable:
            _unavailable()
        return {"message": RESET_MESSAGE}
