"""Routes about the calling client, under ``/client``."""

from flask.views import MethodView

from app.extensions.smorest import Blueprint
from app.resources.client.info import describe_client
from app.resources.client.schemas import ClientInfoSchema

blp = Blueprint(
    "client", __name__, url_prefix="/client", description="The calling client."
)


@blp.after_request
def forbid_storing(response):
    """Keep shared caches from handing one client's details to another."""
    response.cache_control.no_store = True
    return response


@blp.route("/info")
class ClientInfoViews(MethodView):
    """The calling client."""

    @blp.response(200, ClientInfoSchema)
    def get(self):
        """Describe the calling client: address, user agent, languages, time."""
        return describe_client()
