"""Routes of the films resource, under ``/api/v1/films``."""

from flask.views import MethodView

from app.errors import SEARCH_UNAVAILABLE_DOC
from app.resources.catalogue import (
    CatalogueBlueprint,
    document_or_404,
    not_found_doc,
    page_items,
)
from app.resources.films.queries import find_films, find_similar_films, get_film
from app.resources.films.schemas import (
    FilmDetailSchema,
    FilmQueryArgsSchema,
    FilmSchema,
    FilmSearchQueryArgsSchema,
)

FILM_ID_PARAMETER = {
    "in": "path",
    "name": "film_id",
    "description": "Film id, e.g. tt0076759.",
}
NOT_FOUND_DOC = not_found_doc("film")

blp = CatalogueBlueprint(
    "films",
    __name__,
    url_prefix="/api/v1/films",
    description="Films: listed, searched in full text, and the films like one.",
)


def film_or_404(film_id):
    """Return the film document with this id, or answer 404."""
    return document_or_404(get_film, film_id, "film")


@blp.route("")
class FilmViews(MethodView):
    """The films."""

    @blp.arguments(FilmQueryArgsSchema, location="query")
    @blp.response(200, FilmSchema(many=True))
    @blp.alt_response(503, **SEARCH_UNAVAILABLE_DOC)
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """List films, filtered; best rated first unless sorted otherwise."""
        page = find_films(query, pagination_parameters)
        return page_items(page, pagination_parameters)


@blp.route("/search")
class FilmSearchViews(MethodView):
    """Films found by text."""

    @blp.arguments(FilmSearchQueryArgsSchema, location="query")
    @blp.response(200, FilmSchema(many=True))
    @blp.alt_response(503, **SEARCH_UNAVAILABLE_DOC)
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """Search films by text, best match first unless sorted otherwise."""
        page = find_films(query, pagination_parameters)
        return page_items(page, pagination_parameters)


@blp.route("/<string:film_id>", parameters=[FILM_ID_PARAMETER])
class FilmByIdViews(MethodView):
    """One film."""

    @blp.response(200, FilmDetailSchema)
    @blp.alt_response(404, **NOT_FOUND_DOC)
    @blp.alt_response(503, **SEARCH_UNAVAILABLE_DOC)
    def get(self, film_id):
        """Get a film with its description, genres and people."""
        return film_or_404(film_id)


@blp.route("/<string:film_id>/similar", parameters=[FILM_ID_PARAMETER])
class SimilarFilmViews(MethodView):
    """The films like one film."""

    @blp.response(200, FilmSchema(many=True))
    @blp.alt_response(404, **NOT_FOUND_DOC)
    @blp.alt_response(503, **SEARCH_UNAVAILABLE_DOC)
    @blp.paginate()
    def get(self, film_id, pagination_parameters):
        """List the films sharing a genre with this film, best rated first."""
        page = find_similar_films(film_or_404(film_id), pagination_parameters)
        return page_items(page, pagination_parameters)
