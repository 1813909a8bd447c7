"""Routes of the provider's movies: ``GET /movies/``."""

from urllib.parse import urlsplit

from flask import current_app, request, url_for
from flask.views import MethodView

from app.errors import ErrorSchema, retry_later_doc
from app.extensions.smorest import Blueprint
from app.resources.movies.provider import get_provider
from app.resources.movies.schemas import MoviesPageSchema, MoviesQueryArgsSchema

blp = Blueprint(
    "movies",
    __name__,
    personal=True,
    description="The movies of the third-party movie provider, page by page.",
)


def _link(page):
    """Our own URL of ``page``, never built from a host no setting trusts.

    ``PUBLIC_BASE_URL`` when it is set; else the request's scheme and host (as
    the trusted proxies tell) when the host is one of ``LINK_HOSTS``; else a
    relative URL, which a client resolves against the URL it asked.
    """
    if page is None:
        return None
    path = url_for("movies.MovieViews", page=page)
    config = current_app.config
    if config["PUBLIC_BASE_URL"]:
        return config["PUBLIC_BASE_URL"] + path
    if _hostname(request.host) in config["LINK_HOSTS"]:
        return url_for("movies.MovieViews", page=page, _external=True)
    return path


def _hostname(host):
    """Return the name of a Host header's value, without its port, lower case."""
    try:
        return (urlsplit(f"//{host}").hostname or "").lower()
    except ValueError:
        return ""


@blp.route("/movies/")
class MovieViews(MethodView):
    """The provider's movies."""

    @blp.login_required()
    @blp.arguments(MoviesQueryArgsSchema, location="query")
    @blp.response(200, MoviesPageSchema)
    @blp.alt_response(
        404, schema=ErrorSchema, description="The page is beyond the provider's last."
    )
    @blp.alt_response(
        502,
        **retry_later_doc(
            "The provider answered an error (wrong credentials included),"
            " something that is not a page, or more than this service reads,"
            " and no earlier copy is at hand."
        ),
    )
    @blp.alt_response(
        503,
        **retry_later_doc(
            "The provider cannot be reached, asks us to wait, or has failed"
            " repeatedly (every worker then answers at once for a pause); or it"
            " is not configured (the message names the settings, no Retry-After)."
        ),
    )
    @blp.alt_response(
        504, **retry_later_doc("The provider did not answer within the timeouts.")
    )
    def get(self, args):
        """List a page of the provider's movies (an earlier copy if it fails)."""
        cache = current_app.extensions["response-cache"]
        page = get_provider().page(args["page"], cache)
        return {
            "count": page["count"],
            "next": _link(page["next"]),
            "previous": _link(page["previous"]),
            "data": page["data"],
        }
