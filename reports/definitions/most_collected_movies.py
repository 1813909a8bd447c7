"""``most-collected-movies``: the provider's movies in most users' collections."""

from reports.parameters import ReportParametersSchema, sql_limit
from reports.registry import Report


class MostCollectedMoviesParametersSchema(ReportParametersSchema):
    """Nothing beyond ``limit``."""


def collections_version(conn):
    """Return the collections' fingerprint: it changes with every write to them.

    A collection created raises the largest id, one changed (its movies too)
    its ``modified``, one deleted the count; a movie's new data its own
    ``modified``.
    """
    row = conn.execute(
        "SELECT (SELECT max(id) FROM movie_collection),"
        " (SELECT count(*) FROM movie_collection),"
        " (SELECT max(modified) FROM movie_collection),"
        " (SELECT max(modified) FROM provider_movie)"
    ).fetchone()
    return "|".join("" if value is None else str(value) for value in row)


def rows(conn, parameters):
    """Yield the collected movies, held by most users first, then most collections."""
    sql = (
        "SELECT m.uuid, m.title, count(*) AS collections,"
        " count(DISTINCT c.owner_id) AS users"
        " FROM collection_movie cm"
        " JOIN movie_collection c ON c.id = cm.collection_id"
        " JOIN provider_movie m ON m.uuid = cm.movie_uuid"
        " GROUP BY m.uuid"
        " ORDER BY users DESC, collections DESC, m.title, m.uuid LIMIT ?"
    )
    yield from map(tuple, conn.execute(sql, (sql_limit(parameters),)))


REPORT = Report(
    name="most-collected-movies",
    description=(
        "The movie provider's movies held in most users' collections: the users"
        " and the collections that hold each; most users first."
    ),
    parameters=MostCollectedMoviesParametersSchema,
    columns=("uuid", "title", "collections", "users"),
    rows=rows,
    data_version=collections_version,
)
