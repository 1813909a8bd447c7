"""Schemas of the genres resource: a sort in, genres with film counts out."""

import marshmallow as ma

from app.resources.arguments import NOT_BLANK_PATTERN, SortField
from catalogue.search import GENRE_SORT_FIELDS, Sort


class GenreQueryArgsSchema(ma.Schema):
    """The order of the genre list (paging is ``page``, ``page_size``)."""

    sort = SortField(
        GENRE_SORT_FIELDS,
        load_default=Sort("name"),
        metadata={"description": "Field to order by; a leading `-` for descending."},
    )


class GenreSchema(ma.Schema):
    """A genre and how many films it has."""

    id = ma.fields.String(required=True, metadata={"description": "Genre id."})
    name = ma.fields.String(metadata={"example": "Sci-Fi"})
    film_count = ma.fields.Integer(metadata={"example": 123})


MAX_GENRE_NAME_LENGTH = 100


class GenreWriteSchema(ma.Schema):
    """A genre's name, unique without regard to case and surrounding spaces."""

    name = ma.fields.String(
        required=True,
        validate=ma.validate.Length(
            min=1, max=MAX_GENRE_NAME_LENGTH, error="Must be 1 to 100 characters long."
        ),
        metadata={"example": "Sci-Fi", "pattern": NOT_BLANK_PATTERN},
    )

    @ma.validates("name")
    def check_not_blank(self, value, **kwargs):
        """Refuse a blank name."""
        if not value.strip():
            raise ma.ValidationError("Must not be empty or blank.")
