"""Routes of the persons resource, under ``/api/v1/persons``."""

from flask.views import MethodView

from app.errors import SEARCH_UNAVAILABLE_DOC
from app.resources.catalogue import (
    CatalogueBlueprint,
    document_or_404,
    not_found_doc,
    page_items,
)
from app.resources.films.schemas import FilmSchema
from app.resources.persons.queries import (
    find_person_films,
    get_person,
    search_persons,
)
from app.resources.persons.schemas import PersonSchema, PersonSearchQueryArgsSchema

PERSON_ID_PARAMETER = {"in": "path", "name": "person_id", "description": "Person id."}
NOT_FOUND_DOC = not_found_doc("person")

blp = CatalogueBlueprint(
    "persons",
    __name__,
    url_prefix="/api/v1/persons",
    description="The people who make films: actors, writers and directors.",
)


def person_or_404(person_id):
    """Return the person document with this id, or answer 404."""
    return document_or_404(get_person, person_id, "person")


@blp.route("/search")
class PersonSearchViews(MethodView):
    """Persons found by name."""

    @blp.arguments(PersonSearchQueryArgsSchema, location="query")
    @blp.response(200, PersonSchema(many=True))
    @blp.alt_response(503, **SEARCH_UNAVAILABLE_DOC)
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Search persons by name, best match first."""
        page = search_persons(args["text"], pagination_parameters)
        return page_items(page, pagination_parameters)


@blp.route("/<string:person_id>", parameters=[PERSON_ID_PARAMETER])
class PersonByIdViews(MethodView):
    """One person."""

    @blp.response(200, PersonSchema)
    @blp.alt_response(404, **NOT_FOUND_DOC)
    @blp.alt_response(503, **SEARCH_UNAVAILABLE_DOC)
    def get(self, person_id):
        """Get a person with the films they worked on and their roles."""
        return person_or_404(person_id)


@blp.route("/<string:person_id>/films", parameters=[PERSON_ID_PARAMETER])
class PersonFilmViews(MethodView):
    """The films of one person."""

    @blp.response(200, FilmSchema(many=True))
    @blp.alt_response(404, **NOT_FOUND_DOC)
    @blp.alt_response(503, **SEARCH_UNAVAILABLE_DOC)
    @blp.paginate()
    def get(self, person_id, pagination_parameters):
        """List the films this person worked on, in any role."""
        person = person_or_404(person_id)
        page = find_person_films(person["id"], pagination_parameters)
        return page_items(page, pagination_parameters)
