"""Routes of the genres resource, under ``/api/v1/genres``."""

from flask.views import MethodView

from app.errors import SEARCH_UNAVAILABLE_DOC
from app.resources.catalogue import (
    CatalogueBlueprint,
    document_or_404,
    not_found_doc,
    page_items,
)
from app.resources.genres.queries import get_genre, list_genres
from app.resources.genres.schemas import GenreQueryArgsSchema, GenreSchema

blp = CatalogueBlueprint(
    "genres",
    __name__,
    url_prefix="/api/v1/genres",
    description="Genres and how many films each has.",
)


@blp.route("")
class GenreViews(MethodView):
    """The genres."""

    @blp.arguments(GenreQueryArgsSchema, location="query")
    @blp.response(200, GenreSchema(many=True))
    @blp.alt_response(503, **SEARCH_UNAVAILABLE_DOC)
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """List genres with their film counts, by name unless sorted otherwise."""
        page = list_genres(args["sort"], pagination_parameters)
        return page_items(page, pagination_parameters)


@blp.route(
    "/<string:genre_id>",
    parameters=[{"in": "path", "name": "genre_id", "description": "Genre id."}],
)
class GenreByIdViews(MethodView):
    """One genre."""

    @blp.response(200, GenreSchema)
    @blp.alt_response(404, **not_found_doc("genre"))
    @blp.alt_response(503, **SEARCH_UNAVAILABLE_DOC)
    def get(self, genre_id):
        """Get a genre with its film count."""
        return document_or_404(get_genre, genre_id, "genre")
