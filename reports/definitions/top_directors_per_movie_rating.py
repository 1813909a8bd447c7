"""``top-directors-per-movie-rating``: directors by the average rating of their films."""

import json

import marshmallow as ma

from reports.parameters import (
    RATING_ALIASES,
    PeopleSchema,
    RatingSchema,
    ReportParametersSchema,
    rating_conditions,
    sql_limit,
)
from reports.registry import Report


class TopDirectorsParametersSchema(ReportParametersSchema):
    """How many rated films a director needs, thresholds of the average, who."""

    min_films = ma.fields.Integer(
        strict=True,
        load_default=1,
        validate=ma.validate.Range(
            1, 10_000, error="min_films must be a whole number from 1 to 10000."
        ),
        metadata={"description": "Directors with at least this many rated films."},
    )
    rating = ma.fields.Nested(
        RatingSchema,
        load_default=dict,
        metadata={
            "description": "Thresholds of the director's average rating."
            + RATING_ALIASES
        },
    )
    directors = ma.fields.Nested(PeopleSchema, load_default=dict)


# Each engine's query; {where} filters the credits, {having} the directors.
# SQLite: with one max() in a group, it takes the bare columns f.id and
# f.title from the row that has it, the director's best film. PostgreSQL
# names that film with an ordered aggregate.
_ROWS = {
    "sqlite": (
        "SELECT p.id, p.full_name, count(*), count(f.imdb_rating),"
        " round(avg(f.imdb_rating), 2), max(f.imdb_rating), f.id, f.title"
        " FROM film_person fp JOIN film f ON f.id = fp.film_id"
        " JOIN person p ON p.id = fp.person_id"
        " WHERE {where} GROUP BY p.id HAVING {having}"
        " ORDER BY avg(f.imdb_rating) DESC, count(f.imdb_rating) DESC,"
        " p.full_name, p.id LIMIT ?"
    ),
    "postgresql": (
        "SELECT p.id, p.full_name, count(*), count(f.imdb_rating),"
        " round(avg(f.imdb_rating)::numeric, 2)::double precision,"
        " max(f.imdb_rating),"
        " (array_agg(f.id ORDER BY f.imdb_rating DESC NULLS LAST, f.id))[1],"
        " (array_agg(f.title ORDER BY f.imdb_rating DESC NULLS LAST, f.id))[1]"
        " FROM film_person fp JOIN film f ON f.id = fp.film_id"
        " JOIN person p ON p.id = fp.person_id"
        " WHERE {where} GROUP BY p.id HAVING {having}"
        " ORDER BY avg(f.imdb_rating) DESC, count(f.imdb_rating) DESC,"
        " p.full_name, p.id LIMIT ?"
    ),
}


def rows(conn, parameters):
    """Directors with enough rated films, best average first."""
    having, args = rating_conditions("avg(f.imdb_rating)", parameters["rating"])
    having.insert(0, "count(f.imdb_rating) >= ?")
    args.insert(0, parameters["min_films"])
    where, where_args = ["fp.role = 'director'"], []
    people = parameters["directors"]
    if people.get("include"):
        where.append("fp.person_id IN (SELECT value FROM json_each(?))")
        where_args.append(json.dumps(people["include"]))
    if people.get("exclude"):
        where.append("fp.person_id NOT IN (SELECT value FROM json_each(?))")
        where_args.append(json.dumps(people["exclude"]))
    sql = _ROWS[conn.engine].format(
        where=" AND ".join(where), having=" AND ".join(having)
    )
    for row in conn.execute(sql, (*where_args, *args, sql_limit(parameters))):
        person_id, name, films, rated, average, _, best_id, best_title = row
        yield person_id, name, films, rated, average, best_id, best_title


REPORT = Report(
    name="top-directors-per-movie-rating",
    description=(
        "Directors ranked by the average rating of their rated films, with a"
        " minimum number of rated films, thresholds of the average and directors"
        " to keep or leave out; each with their films and best film."
    ),
    parameters=TopDirectorsParametersSchema,
    columns=(
        "id",
        "name",
        "films",
        "rated_films",
        "average_rating",
        "best_film_id",
        "best_film_title",
    ),
    rows=rows,
    aliases=("top-directors-per-moving-rating",),
)
