"""Schemas of the provider's movies: its page as read, our page as answered."""

import marshmallow as ma

from app.extensions.smorest import PAGE_RULE


class _Text(ma.fields.String):
    """A text the provider may send as null: passed on as it sends it, null as null."""

    def __init__(self, **kwargs):
        super().__init__(load_default="", allow_none=True, **kwargs)


class ProviderMovieSchema(ma.Schema):
    """A movie as the provider lists it."""

    class Meta:
        """Fields the provider adds later are left out, not refused."""

        unknown = ma.EXCLUDE

    title = ma.fields.String(required=True)
    description = _Text(
        metadata={"description": "As the provider sends it; may be null."}
    )
    genres = _Text(
        metadata={"description": "Comma-separated; may be empty, or null as sent."}
    )
    uuid = ma.fields.String(required=True)


class ProviderPageSchema(ma.Schema):
    """A page as the provider answers it; anything else is refused (502)."""

    class Meta:
        """Fields the provider adds later are left out, not refused."""

        unknown = ma.EXCLUDE

    count = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(0))
    next = ma.fields.String(load_default=None, allow_none=True)
    previous = ma.fields.String(load_default=None, allow_none=True)
    data = ma.fields.List(ma.fields.Nested(ProviderMovieSchema), required=True)


class MoviesQueryArgsSchema(ma.Schema):
    """The page of the provider's movies to read."""

    page = ma.fields.Integer(
        load_default=1,
        validate=ma.validate.Range(min=1, error=PAGE_RULE),
        error_messages={"invalid": PAGE_RULE},
        metadata={"description": "Page number, from 1; 10 movies a page."},
    )


class MoviesPageSchema(ma.Schema):
    """A page of the provider's movies, its links pointing at this service."""

    count = ma.fields.Integer(
        required=True, metadata={"description": "Movies the provider has in all."}
    )
    next = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "URL of the next page here, or null on the last:"
            " absolute from PUBLIC_BASE_URL, or from the request's host when it"
            " is one of LINK_HOSTS, else relative (`/movies/?page=2`)."
        },
    )
    previous = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "URL of the previous page here, or null on the first;"
            " built as `next` is."
        },
    )
    data = ma.fields.List(ma.fields.Nested(ProviderMovieSchema), required=True)
