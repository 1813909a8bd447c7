"""Routes of collections: ``/collection/`` and ``/collection/<uuid>/``.

Every operation needs the caller's access token and sees only the caller's
collections: another user's collection is 404, exactly like one that does
not exist.
"""

from flask.views import MethodView
from flask_jwt_extended import current_user
from flask_smorest import abort

from app.errors import ErrorSchema
from app.extensions.smorest import Blueprint
from app.resources.collections import queries
from app.resources.collections.schemas import (
    CollectionCreatedSchema,
    CollectionDetailSchema,
    CollectionSchema,
    CollectionsSchema,
    CollectionUpdateSchema,
)

NOT_FOUND = "No collection of yours has this uuid."
NOT_FOUND_DOC = {
    "schema": ErrorSchema,
    "description": "None of the caller's collections has this uuid (another"
    " user's collection is not found either).",
}

blp = Blueprint(
    "collections",
    __name__,
    personal=True,
    description="Personal collections of the movie provider's movies.",
)


def _not_found():
    abort(404, message=NOT_FOUND)


@blp.route("/collection/")
class CollectionViews(MethodView):
    """The caller's collections."""

    @blp.login_required()
    @blp.response(200, CollectionsSchema)
    def get(self):
        """List your collections, newest first, and your three favourite genres."""
        return {
            "is_success": True,
            "data": {
                "collections": queries.list_collections(current_user.id),
                "favourite_genres": ", ".join(
                    queries.favourite_genres(current_user.id)
                ),
            },
        }

    @blp.login_required()
    @blp.arguments(CollectionSchema)
    @blp.response(201, CollectionCreatedSchema)
    def post(self, collection):
        """Create a collection of movies."""
        return {
            "collection_uuid": queries.create_collection(
                current_user.id,
                collection["title"],
                collection["description"],
                collection["movies"],
            )
        }


@blp.route("/collection/<uuid:collection_uuid>/")
class CollectionByUuidViews(MethodView):
    """One of the caller's collections."""

    @blp.login_required()
    @blp.response(200, CollectionDetailSchema)
    @blp.alt_response(404, **NOT_FOUND_DOC)
    def get(self, collection_uuid):
        """Read one of your collections with its movies, in the order added."""
        collection = queries.get_collection(current_user.id, collection_uuid)
        if collection is None:
            _not_found()
        return collection

    @blp.login_required()
    @blp.arguments(CollectionUpdateSchema, required=False)
    @blp.response(200, CollectionDetailSchema)
    @blp.alt_response(404, **NOT_FOUND_DOC)
    def put(self, changes, collection_uuid):
        """Change what you send of a collection: title, description, movie list."""
        if not queries.update_collection(current_user.id, collection_uuid, changes):
            _not_found()
        return queries.get_collection(current_user.id, collection_uuid)

    @blp.login_required()
    @blp.response(204)
    @blp.alt_response(404, **NOT_FOUND_DOC)
    def delete(self, collection_uuid):
        """Delete one of your collections."""
        if not queries.delete_collection(current_user.id, collection_uuid):
            _not_found()
