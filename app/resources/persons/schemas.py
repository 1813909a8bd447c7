"""Schemas of the persons resource: a name to search in, persons out."""

import marshmallow as ma

from app.resources.arguments import SearchTextField
from catalogue.search import ROLES


class PersonSearchQueryArgsSchema(ma.Schema):
    """Words of a name to search for (paging is ``page``, ``page_size``)."""

    text = SearchTextField(
        data_key="query",
        metadata={"description": "Words of the person's name; misspellings match too."},
    )


class PersonFilmSchema(ma.Schema):
    """A film a person worked on, and their roles in it."""

    id = ma.fields.String(metadata={"description": "Film id.", "example": "tt0076759"})
    roles = ma.fields.List(
        ma.fields.String(metadata={"enum": list(ROLES)}),
        metadata={"example": ["writer", "director"]},
    )


class PersonSchema(ma.Schema):
    """A person and the films they worked on."""

    id = ma.fields.String(required=True, metadata={"description": "Person id."})
    full_name = ma.fields.String(metadata={"example": "George Lucas"})
    films = ma.fields.List(ma.fields.Nested(PersonFilmSchema), dump_default=list)
