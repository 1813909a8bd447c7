"""Schemas of the films resource: filters, sort and search words in, films out."""

import marshmallow as ma

from app.resources.arguments import NOT_BLANK_PATTERN, SearchTextField, SortField
from catalogue.search import FILM_SORT_FIELDS, ROLES, FilmQuery, Sort

MIN_RATING, MAX_RATING = 0, 10
_RATING_RULE = f"must be a number from {MIN_RATING} to {MAX_RATING}"


def _rating(name, bound):
    """Return an optional ``rating_min`` or ``rating_max`` argument, 0 to 10."""
    rule = f"{name} {_RATING_RULE}; got {{input}}."
    return ma.fields.Float(
        validate=ma.validate.Range(min=MIN_RATING, max=MAX_RATING, error=rule),
        error_messages={"invalid": f"{name} {_RATING_RULE}."},
        metadata={
            "description": f"Only films rated {bound} this, inclusive; films"
            " without a rating are left out. rating_min above rating_max is"
            " refused (422).",
            "minimum": MIN_RATING,
            "maximum": MAX_RATING,
        },
    )


class FilmQueryArgsSchema(ma.Schema):
    """Which films to list and in what order (paging is ``page``, ``page_size``)."""

    genre_ids = ma.fields.List(
        ma.fields.String(),
        data_key="genre",
        metadata={"description": "Genre id; repeat for films in all the given genres."},
    )
    person_id = ma.fields.String(
        data_key="person",
        metadata={"description": "Person id: only films this person worked on."},
    )
    role = ma.fields.String(
        validate=ma.validate.OneOf(
            ROLES, error="role must be one of: {choices}; got {input!r}."
        ),
        metadata={
            "description": "With `person`: only films where they had this role."
            " Without `person` the answer is 422.",
            "enum": list(ROLES),
        },
    )
    rating_min = _rating("rating_min", "at least")
    rating_max = _rating("rating_max", "at most")
    sort = SortField(
        FILM_SORT_FIELDS,
        load_default=Sort("imdb_rating", descending=True),
        metadata={"description": "Field to order by; a leading `-` for descending."},
    )

    @ma.validates_schema
    def check_combinations(self, data, **kwargs):
        """Refuse a role without a person, and a rating range that is empty."""
        if data.get("role") is not None and data.get("person_id") is None:
            raise ma.ValidationError(
                "role needs person: give the id of the person whose role it is.",
                field_name="role",
            )
        low, high = data.get("rating_min"), data.get("rating_max")
        if low is not None and high is not None and low > high:
            raise ma.ValidationError(
                f"rating_min must not exceed rating_max; got {low} > {high}.",
                field_name="rating_min",
            )

    @ma.post_load
    def make_film_query(self, data, **kwargs):
        """Hold the arguments as the search interface's FilmQuery."""
        sort = data.pop("sort", None)
        genre_ids = tuple(data.pop("genre_ids", ()))
        return FilmQuery(**data, genre_ids=genre_ids, sort=(sort,) if sort else ())


class FilmSearchQueryArgsSchema(FilmQueryArgsSchema):
    """Words to search for, and the filters and sort of the film list."""

    text = SearchTextField(
        data_key="query",
        metadata={
            "description": "Words to find in titles, descriptions, genres and"
            " people; misspellings and other forms of a word match too."
        },
    )
    sort = SortField(
        FILM_SORT_FIELDS,
        metadata={
            "description": "Field to order by; a leading `-` for descending."
            " Default: relevance, best match first."
        },
    )


class FilmSchema(ma.Schema):
    """One film of a list."""

    id = ma.fields.String(required=True, metadata={"example": "tt0076759"})
    title = ma.fields.String(metadata={"example": "Star Wars"})
    imdb_rating = ma.fields.Float(
        allow_none=True, dump_default=None, metadata={"example": 8.6}
    )


class FilmGenreSchema(ma.Schema):
    """A genre of a film."""

    id = ma.fields.String(metadata={"description": "Genre id."})
    name = ma.fields.String(metadata={"example": "Sci-Fi"})


class FilmPersonSchema(ma.Schema):
    """A person who worked on a film."""

    id = ma.fields.String(metadata={"description": "Person id."})
    full_name = ma.fields.String(metadata={"example": "George Lucas"})


def _people(role):
    """Return the field of the film's people in ``role`` (a key of ``persons``)."""
    return ma.fields.List(
        ma.fields.Nested(FilmPersonSchema),
        attribute=f"persons.{role}",
        dump_default=list,
    )


class FilmDetailSchema(ma.Schema):
    """One film with its description, genres and people."""

    id = ma.fields.String(required=True, metadata={"example": "tt0076759"})
    title = ma.fields.String(metadata={"example": "Star Wars"})
    description = ma.fields.String(allow_none=True, dump_default=None)
    imdb_rating = ma.fields.Float(
        allow_none=True, dump_default=None, metadata={"example": 8.6}
    )
    genres = ma.fields.List(ma.fields.Nested(FilmGenreSchema), dump_default=list)
    actors = _people("actors")
    writers = _people("writers")
    directors = _people("directors")


MAX_TITLE_LENGTH = 500
MAX_DESCRIPTION_LENGTH = 20_000
MAX_GENRES = 100
MAX_PEOPLE = 500
MAX_NAME_LENGTH = 500


class TextField(ma.fields.String):
    """Text loaded without surrounding spaces, ``min_length`` to ``max_length`` long.

    ``max_length`` counts the text as sent, as the spec's ``maxLength`` does; a
    text that must not be empty must hold a character that is not white space
    (the spec's ``pattern``).
    """

    def __init__(self, min_length=1, max_length=None, **kwargs):
        self.min_length, self.max_length = min_length, max_length
        metadata = {"minLength": min_length, **kwargs.pop("metadata", {})}
        if min_length:
            metadata["pattern"] = NOT_BLANK_PATTERN
        if max_length is not None:
            metadata["maxLength"] = max_length
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        sent = super()._deserialize(value, attr, data, **kwargs)
        if self.max_length is not None and len(sent) > self.max_length:
            raise ma.ValidationError(
                f"Must be at most {self.max_length} characters long; got {len(sent)}."
            )
        text = sent.strip()
        if len(text) < self.min_length:
            raise ma.ValidationError("Must not be empty or blank.")
        return text


def _one_decimal(value):
    """Refuse a rating with more than one decimal."""
    if value is not None and round(value, 1) != value:
        raise ma.ValidationError(f"Must have at most one decimal; got {value}.")


def _people_in(role):
    """Return the field of the people of ``role``: full names or person ids."""
    return ma.fields.List(
        TextField(max_length=MAX_NAME_LENGTH),
        validate=ma.validate.Length(
            max=MAX_PEOPLE, error=f"At most {MAX_PEOPLE} people per film."
        ),
        metadata={
            "description": f"The film's {role}, in order: each a person's id, or a"
            " full name (the person of that name, or a new one). Replaces the"
            " old list.",
            "maxItems": MAX_PEOPLE,
        },
    )


class FilmWriteSchema(ma.Schema):
    """A new film: only the title is required."""

    title = TextField(
        required=True,
        max_length=MAX_TITLE_LENGTH,
        metadata={"example": "Star Wars"},
    )
    description = TextField(
        min_length=0, max_length=MAX_DESCRIPTION_LENGTH, allow_none=True
    )
    imdb_rating = ma.fields.Float(
        allow_none=True,
        validate=[
            ma.validate.Range(
                min=MIN_RATING,
                max=MAX_RATING,
                error="Must be from 0 to 10; got {input}.",
            ),
            _one_decimal,
        ],
        metadata={
            "example": 8.6,
            "minimum": MIN_RATING,
            "maximum": MAX_RATING,
            "description": "From 0 to 10, with at most one decimal (8.6, not 8.65).",
        },
    )
    genres = ma.fields.List(
        TextField(),
        validate=ma.validate.Length(
            max=MAX_GENRES, error=f"At most {MAX_GENRES} genres per film."
        ),
        metadata={
            "description": "Ids of genres that exist (an unknown id is refused,"
            " 422), in order; replaces the old list.",
            "maxItems": MAX_GENRES,
        },
    )
    directors = _people_in("directors")
    actors = _people_in("actors")
    writers = _people_in("writers")

    @ma.validates_schema
    def check_people(self, data, **kwargs):
        """Refuse more than MAX_PEOPLE people in all roles together."""
        count = sum(
            len(data.get(key) or ()) for key in ("directors", "actors", "writers")
        )
        if count > MAX_PEOPLE:
            raise ma.ValidationError(
                f"At most {MAX_PEOPLE} people per film in all roles; got {count}.",
                field_name="actors",
            )


class FilmPatchSchema(FilmWriteSchema):
    """Changes to a film: any of its fields; a list replaces the old one."""

    title = TextField(max_length=MAX_TITLE_LENGTH, metadata={"example": "Star Wars"})
