"""Routes of the genres resource, under ``/api/v1/genres``."""

from flask import url_for
from flask.views import MethodView
from flask_smorest import abort

from app.errors import SEARCH_UNAVAILABLE_DOC, ErrorSchema
from app.resources.catalogue import (
    ADMIN,
    IF_MATCH_PARAMETER,
    INDEXING_HEADER,
    INDEXING_HEADER_DOC,
    LOCATION_HEADER_DOC,
    PRECONDITION_FAILED_DOC,
    TOO_LARGE_DOC,
    CatalogueBlueprint,
    conflict_answers_409,
    document_or_404,
    if_match,
    indexing,
    not_found_doc,
    page_items,
)
from app.resources.genres.queries import (
    GenreNameTaken,
    create_genre,
    delete_genre,
    get_genre,
    list_genres,
    rename_genre,
)
from app.resources.genres.schemas import (
    GenreQueryArgsSchema,
    GenreSchema,
    GenreWriteSchema,
)

NOT_FOUND_DOC = not_found_doc("genre")
CONFLICT_DOC = {
    "schema": ErrorSchema,
    "description": "Another genre has this name (names ignore case and spaces).",
}

blp = CatalogueBlueprint(
    "genres",
    __name__,
    url_prefix="/api/v1/genres",
    description="Genres and how many films each has; created, renamed and"
    " deleted by admins.",
)


def missing_genre(genre_id):
    """Answer 404 for a genre id that the catalogue does not have."""
    abort(404, message=f"No genre has the id {genre_id!r}.")


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

    @blp.login_required(role=ADMIN)
    @blp.arguments(GenreWriteSchema)
    @blp.response(
        201,
        GenreSchema,
        headers={"Location": LOCATION_HEADER_DOC, INDEXING_HEADER: INDEXING_HEADER_DOC},
    )
    @blp.alt_response(409, **CONFLICT_DOC)
    @blp.alt_response(413, **TOO_LARGE_DOC)
    @conflict_answers_409(GenreNameTaken, "name")
    def post(self, data):
        """Create a genre (admins only)."""
        document, changes = create_genre(data["name"])
        location = url_for("genres.GenreByIdViews", genre_id=document["id"])
        return document, {"Location": location, **indexing(changes)}


@blp.route(
    "/<string:genre_id>",
    parameters=[{"in": "path", "name": "genre_id", "description": "Genre id."}],
)
class GenreByIdViews(MethodView):
    """One genre."""

    @blp.response(200, GenreSchema)
    @blp.alt_response(404, **NOT_FOUND_DOC)
    @blp.alt_response(503, **SEARCH_UNAVAILABLE_DOC)
    def get(self, genre_id):
        """Get a genre with its film count."""
        return document_or_404(get_genre, genre_id, "genre")

    @blp.login_required(role=ADMIN)
    @blp.arguments(GenreWriteSchema)
    @blp.response(200, GenreSchema, headers={INDEXING_HEADER: INDEXING_HEADER_DOC})
    @blp.alt_response(404, **NOT_FOUND_DOC)
    @blp.alt_response(409, **CONFLICT_DOC)
    @blp.alt_response(412, **PRECONDITION_FAILED_DOC)
    @blp.alt_response(413, **TOO_LARGE_DOC)
    @blp.doc(parameters=[IF_MATCH_PARAMETER])
    @conflict_answers_409(GenreNameTaken, "name")
    def patch(self, data, genre_id):
        """Rename a genre; every film of it shows the new name (admins only)."""
        written = rename_genre(genre_id, data["name"], if_match(blp, GenreSchema))
        if written is None:
            missing_genre(genre_id)
        document, changes = written
        return document, indexing(changes)

    @blp.login_required(role=ADMIN)
    @blp.response(204, headers={INDEXING_HEADER: INDEXING_HEADER_DOC})
    @blp.alt_response(404, **NOT_FOUND_DOC)
    @blp.alt_response(412, **PRECONDITION_FAILED_DOC)
    @blp.doc(parameters=[IF_MATCH_PARAMETER])
    def delete(self, genre_id):
        """Delete a genre; it leaves every film that had it (admins only)."""
        changes = delete_genre(genre_id, if_match(blp, GenreSchema))
        if changes is None:
            missing_genre(genre_id)
        return None, indexing(changes)
