"""Schemas of the legacy video API: query arguments in, films out."""

import marshmallow as ma

from catalogue.search import FILM_SORT_FIELDS, MAX_QUERY_LENGTH

SORT_ORDERS = ("asc", "desc")


class VideoCollectionQueryArgsSchema(ma.Schema):
    """How to filter and order the collection (paging: ``page`` and ``limit``)."""

    sort = ma.fields.String(
        load_default=None,
        validate=ma.validate.OneOf(
            FILM_SORT_FIELDS,
            error="sort must be one of: {choices}; got {input!r}.",
        ),
        metadata={
            "description": "Field to order by. Default: `id`, or relevance when"
            " `search` is given.",
            "enum": list(FILM_SORT_FIELDS),
        },
    )
    sort_order = ma.fields.String(
        load_default="asc",
        validate=ma.validate.OneOf(
            SORT_ORDERS, error="sort_order must be one of: {choices}; got {input!r}."
        ),
        metadata={"description": "Direction of `sort`.", "enum": list(SORT_ORDERS)},
    )
    search = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(
            max=MAX_QUERY_LENGTH,
            error=f"search must be at most {MAX_QUERY_LENGTH} characters long.",
        ),
        metadata={
            "description": "Full-text search over titles, descriptions, genres and"
            " people; empty means no search."
        },
    )

    @ma.post_load
    def drop_empty_search(self, data, **kwargs):
        """Treat an empty or blank ``search`` as no search at all."""
        data["search"] = (data["search"] or "").strip() or None
        return data


class VideoSchema(ma.Schema):
    """One film of the collection."""

    id = ma.fields.String(required=True, metadata={"example": "tt0076759"})
    title = ma.fields.String(metadata={"example": "Star Wars"})
    imdb_rating = ma.fields.Float(
        allow_none=True, dump_default=None, metadata={"example": 8.6}
    )


class WriterSchema(ma.Schema):
    """A writer as the legacy system identified them."""

    id = ma.fields.String(metadata={"description": "Legacy writer id."})
    name = ma.fields.String()


class ActorSchema(ma.Schema):
    """An actor as the legacy system identified them."""

    id = ma.fields.Integer(metadata={"description": "Legacy actor id."})
    name = ma.fields.String()


class VideoDetailSchema(ma.Schema):
    """One film with its description, people and genres, as the legacy API gave it."""

    id = ma.fields.String(required=True, metadata={"example": "tt0076759"})
    title = ma.fields.String(metadata={"example": "Star Wars"})
    description = ma.fields.String(allow_none=True, dump_default=None)
    imdb_rating = ma.fields.Float(allow_none=True, dump_default=None)
    writers = ma.fields.List(ma.fields.Nested(WriterSchema), dump_default=list)
    actors = ma.fields.List(ma.fields.Nested(ActorSchema), dump_default=list)
    genre = ma.fields.List(ma.fields.String(), dump_default=list)
    director = ma.fields.List(ma.fields.String(), dump_default=list)
