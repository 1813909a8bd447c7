"""Routes of the films resource, under ``/api/v1/films``."""

from flask import url_for
from flask.views import MethodView
from flask_smorest import abort
from werkzeug.routing import BaseConverter

from app.errors import SEARCH_UNAVAILABLE_DOC
from app.resources.catalogue import (
    ADMIN,
    IF_MATCH_PARAMETER,
    INDEXING_HEADER,
    INDEXING_HEADER_DOC,
    LOCATION_HEADER_DOC,
    PRECONDITION_FAILED_DOC,
    TOO_LARGE_DOC,
    CatalogueBlueprint,
    document_or_404,
    if_match,
    indexing,
    not_found_doc,
    page_items,
)
from app.resources.films.queries import (
    UnknownGenres,
    UnknownPersons,
    create_film,
    delete_film,
    find_films,
    find_similar_films,
    get_film,
    update_film,
)
from app.resources.films.schemas import (
    FilmDetailSchema,
    FilmPatchSchema,
    FilmQueryArgsSchema,
    FilmSchema,
    FilmSearchQueryArgsSchema,
    FilmWriteSchema,
)


class FilmIdConverter(BaseConverter):
    """A film id in a path: any segment but ``search``, the films' own route.

    Without it ``/films/search`` also matches ``/films/<film_id>``, and its
    ``Allow`` lists that route's PATCH and DELETE.
    """

    regex = r"(?!search(?:/|$))[^/]+"


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
    description="Films: listed, searched in full text, and the films like one;"
    " created, changed and deleted by admins.",
)


def film_or_404(film_id):
    """Return the film document with this id, or answer 404."""
    return document_or_404(get_film, film_id, "film")


def missing_film(film_id):
    """Answer 404 for a film id that the catalogue does not have."""
    abort(404, message=f"No film has the id {film_id!r}.")


def write_film(write, *args, **kwargs):
    """Run a film write; answer 422 naming the genres or persons it does not know."""
    try:
        return write(*args, **kwargs)
    except UnknownGenres as exc:
        ids = ", ".join(repr(genre_id) for genre_id in exc.genre_ids)
        message = f"No genre has the id {ids}."
        abort(422, message=message, errors={"json": {"genres": [message]}})
    except UnknownPersons as exc:
        ids = ", ".join(repr(person_id) for person_id in exc.person_ids)
        message = f"No person has the id {ids}; give a full name for a new person."
        abort(422, message=message, errors={"json": {"persons": [message]}})


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

    @blp.login_required(role=ADMIN)
    @blp.arguments(FilmWriteSchema)
    @blp.response(
        201,
        FilmDetailSchema,
        headers={"Location": LOCATION_HEADER_DOC, INDEXING_HEADER: INDEXING_HEADER_DOC},
    )
    @blp.alt_response(413, **TOO_LARGE_DOC)
    def post(self, data):
        """Create a film, with its genres and people (admins only)."""
        document, changes = write_film(create_film, data)
        location = url_for("films.FilmByIdViews", film_id=document["id"])
        return document, {"Location": location, **indexing(changes)}


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


@blp.route("/<film_id:film_id>", parameters=[FILM_ID_PARAMETER])
class FilmByIdViews(MethodView):
    """One film."""

    @blp.response(200, FilmDetailSchema)
    @blp.alt_response(404, **NOT_FOUND_DOC)
    @blp.alt_response(503, **SEARCH_UNAVAILABLE_DOC)
    def get(self, film_id):
        """Get a film with its description, genres and people."""
        return film_or_404(film_id)

    @blp.login_required(role=ADMIN)
    @blp.arguments(FilmPatchSchema, required=False)
    @blp.response(200, FilmDetailSchema, headers={INDEXING_HEADER: INDEXING_HEADER_DOC})
    @blp.alt_response(404, **NOT_FOUND_DOC)
    @blp.alt_response(412, **PRECONDITION_FAILED_DOC)
    @blp.alt_response(413, **TOO_LARGE_DOC)
    @blp.doc(parameters=[IF_MATCH_PARAMETER])
    def patch(self, data, film_id):
        """Change a film's fields; a list given replaces the old one (admins only)."""
        check = if_match(blp, FilmDetailSchema)
        written = write_film(update_film, film_id, data, check)
        if written is None:
            missing_film(film_id)
        document, changes = written
        return document, indexing(changes)

    @blp.login_required(role=ADMIN)
    @blp.response(204, headers={INDEXING_HEADER: INDEXING_HEADER_DOC})
    @blp.alt_response(404, **NOT_FOUND_DOC)
    @blp.alt_response(412, **PRECONDITION_FAILED_DOC)
    @blp.doc(parameters=[IF_MATCH_PARAMETER])
    def delete(self, film_id):
        """Delete a film; its people and genres stay (admins only)."""
        changes = delete_film(film_id, if_match(blp, FilmDetailSchema))
        if changes is None:
            missing_film(film_id)
        return None, indexing(changes)


@blp.route("/<film_id:film_id>/similar", parameters=[FILM_ID_PARAMETER])
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
