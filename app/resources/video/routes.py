"""Routes of the legacy video API, under ``/api/v1/video``."""

from flask.views import MethodView

from app.errors import SEARCH_UNAVAILABLE_DOC
from app.extensions.smorest import Blueprint
from app.resources.catalogue import document_or_404, not_found_doc, page_items
from app.resources.video.pagination import LinkHeaderPaginationMixin
from app.resources.video.queries import find_videos, get_video
from app.resources.video.schemas import (
    VideoCollectionQueryArgsSchema,
    VideoDetailSchema,
    VideoSchema,
)


class VideoBlueprint(LinkHeaderPaginationMixin, Blueprint):
    """A blueprint whose answers are cached and paged with Link headers."""


blp = VideoBlueprint(
    "video",
    __name__,
    cached=True,
    url_prefix="/api/v1/video",
    description="The legacy video API, kept for the current frontend.",
)


@blp.route("/collection")
class VideoCollectionViews(MethodView):
    """The collection of films."""

    @blp.arguments(VideoCollectionQueryArgsSchema, location="query")
    @blp.response(200, VideoSchema(many=True))
    @blp.alt_response(503, **SEARCH_UNAVAILABLE_DOC)
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """List films, or search them by text."""
        page = find_videos(**args, page_params=pagination_parameters)
        return page_items(page, pagination_parameters)


@blp.route(
    "/get/<string:video_id>",
    parameters=[
        {"in": "path", "name": "video_id", "description": "Film id, e.g. tt0076759."}
    ],
)
class VideoByIdViews(MethodView):
    """One film."""

    @blp.response(200, VideoDetailSchema)
    @blp.alt_response(404, **not_found_doc("film"))
    @blp.alt_response(503, **SEARCH_UNAVAILABLE_DOC)
    def get(self, video_id):
        """Get a film with its description, people and genres."""
        return document_or_404(get_video, video_id, "film")
