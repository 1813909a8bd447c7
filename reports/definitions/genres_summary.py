"""``genres-summary``: per genre its films, rated films, average and best film."""

from reports.parameters import ReportParametersSchema, sql_limit
from reports.registry import Report


class GenresSummaryParametersSchema(ReportParametersSchema):
    """Nothing beyond ``limit``."""


# SQLite: with one max() in a group, it takes the bare columns f.id and
# f.title from the row that has it; a genre without a rated film has no best
# film. PostgreSQL looks the best film of each genre up on its own.
_ROWS = {
    "sqlite": (
        "SELECT id, name, films, rated_films, average_rating,"
        " CASE WHEN best IS NULL THEN NULL ELSE best_id END,"
        " CASE WHEN best IS NULL THEN NULL ELSE best_title END"
        " FROM (SELECT g.id, g.name, count(f.id) AS films,"
        "   count(f.imdb_rating) AS rated_films,"
        "   round(avg(f.imdb_rating), 2) AS average_rating,"
        "   max(f.imdb_rating) AS best, f.id AS best_id, f.title AS best_title"
        "   FROM genre g LEFT JOIN film_genre fg ON fg.genre_id = g.id"
        "   LEFT JOIN film f ON f.id = fg.film_id GROUP BY g.id)"
        " ORDER BY films DESC, name, id LIMIT ?"
    ),
    "postgresql": (
        "SELECT g.id, g.name, g.films, g.rated_films, g.average_rating,"
        " best.id, best.title"
        " FROM (SELECT g.id, g.name, count(f.id) AS films,"
        "   count(f.imdb_rating) AS rated_films,"
        "   round(avg(f.imdb_rating)::numeric, 2)::double precision"
        "   AS average_rating"
        "   FROM genre g LEFT JOIN film_genre fg ON fg.genre_id = g.id"
        "   LEFT JOIN film f ON f.id = fg.film_id GROUP BY g.id) g"
        " LEFT JOIN LATERAL (SELECT f.id, f.title FROM film_genre fg"
        "   JOIN film f ON f.id = fg.film_id"
        "   WHERE fg.genre_id = g.id AND f.imdb_rating IS NOT NULL"
        "   ORDER BY f.imdb_rating DESC, f.id LIMIT 1) best ON true"
        " ORDER BY g.films DESC, g.name, g.id LIMIT ?"
    ),
}


def rows(conn, parameters):
    """Every genre, most films first."""
    sql = _ROWS[conn.engine]
    yield from map(tuple, conn.execute(sql, (sql_limit(parameters),)))


REPORT = Report(
    name="genres-summary",
    description=(
        "Every genre with its films, its rated films, their average rating and"
        " its best rated film; most films first."
    ),
    parameters=GenresSummaryParametersSchema,
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
)
