"""Schemas of collections: a collection in, its uuid, the list and one collection out."""

import marshmallow as ma

TITLE_LENGTH = (1, 200)
MAX_DESCRIPTION_LENGTH = 5_000
MAX_MOVIES = 1_000
MAX_MOVIE_TITLE_LENGTH = 500
MAX_GENRES_LENGTH = 1_000


def _length(name, low, high):
    if low:
        rule = f"{name} must be {low} to {high} characters long."
    else:
        rule = f"{name} must be at most {high} characters long."
    return ma.validate.Length(low or None, high, error=rule)


class MovieSchema(ma.Schema):
    """A movie of the provider, as it lists them."""

    title = ma.fields.String(
        required=True,
        validate=_length("title", 1, MAX_MOVIE_TITLE_LENGTH),
        metadata={"example": "Queerama", "minLength": 1},
    )
    description = ma.fields.String(
        load_default="",
        allow_none=True,
        validate=_length("description", 0, MAX_DESCRIPTION_LENGTH),
        metadata={
            "description": "Kept as sent: null (as the provider sends some) stays null."
        },
    )
    genres = ma.fields.String(
        load_default="",
        allow_none=True,
        validate=_length("genres", 0, MAX_GENRES_LENGTH),
        metadata={
            "description": "Comma-separated, possibly empty or null.",
            "example": "Drama,Comedy",
        },
    )
    uuid = ma.fields.UUID(
        required=True,
        error_messages={"invalid_uuid": "uuid must be a valid UUID."},
    )


def _unique_movies(movies):
    """Keep each movie once: at its first place, with the data of its last mention."""
    latest = {movie["uuid"]: movie for movie in movies}
    return list(latest.values())


class MoviesField(ma.fields.List):
    """A list of at most MAX_MOVIES movies, each uuid kept once."""

    def __init__(self, **kwargs):
        super().__init__(
            ma.fields.Nested(MovieSchema),
            validate=ma.validate.Length(
                max=MAX_MOVIES, error=f"movies holds at most {MAX_MOVIES} movies."
            ),
            metadata={
                "description": f"At most {MAX_MOVIES}, in order; a movie listed"
                " twice is kept once, at its first place, with its last data.",
                **kwargs.pop("metadata", {}),
            },
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        # Validators run on what this returns: the limit counts distinct movies.
        return _unique_movies(super()._deserialize(value, attr, data, **kwargs))


class CollectionSchema(ma.Schema):
    """A collection as it is created: a title, a description and its movies."""

    title = ma.fields.String(
        required=True,
        validate=_length("title", *TITLE_LENGTH),
        error_messages={"required": "Required: the collection's title."},
        metadata={"minLength": TITLE_LENGTH[0], "maxLength": TITLE_LENGTH[1]},
    )
    description = ma.fields.String(
        load_default="",
        validate=_length("description", 0, MAX_DESCRIPTION_LENGTH),
        metadata={"maxLength": MAX_DESCRIPTION_LENGTH},
    )
    movies = MoviesField(load_default=list)


class CollectionUpdateSchema(CollectionSchema):
    """A change of a collection: any of its title, description and movies.

    Nothing sent changes nothing (the body may be left out).
    """

    title = ma.fields.String(
        validate=_length("title", *TITLE_LENGTH),
        metadata={"minLength": TITLE_LENGTH[0], "maxLength": TITLE_LENGTH[1]},
    )
    description = ma.fields.String(
        validate=_length("description", 0, MAX_DESCRIPTION_LENGTH),
        metadata={"maxLength": MAX_DESCRIPTION_LENGTH},
    )
    movies = MoviesField(
        metadata={
            "description": f"The full new list of movies, replacing the old: at"
            f" most {MAX_MOVIES}, in order; a movie listed twice is kept once."
        }
    )


class CollectionCreatedSchema(ma.Schema):
    """The uuid of a new collection."""

    collection_uuid = ma.fields.UUID(required=True)


class CollectionSummarySchema(ma.Schema):
    """A collection without its movies."""

    title = ma.fields.String(required=True)
    uuid = ma.fields.UUID(required=True)
    description = ma.fields.String(required=True)


class CollectionsDataSchema(ma.Schema):
    """The caller's collections and favourite genres."""

    collections = ma.fields.List(
        ma.fields.Nested(CollectionSummarySchema),
        required=True,
        metadata={"description": "Newest first."},
    )
    favourite_genres = ma.fields.String(
        required=True,
        metadata={
            "description": "Up to three genres, most movies first, ties by name,"
            " joined by ', '; empty when the collections hold no genre.",
            "example": "Drama, Comedy, Action",
        },
    )


class CollectionsSchema(ma.Schema):
    """The answer of ``GET /collection/``."""

    is_success = ma.fields.Boolean(required=True)
    data = ma.fields.Nested(CollectionsDataSchema, required=True)


class CollectionDetailSchema(ma.Schema):
    """One collection with its movies, in the order they were added."""

    title = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    movies = ma.fields.List(ma.fields.Nested(MovieSchema), required=True)
