"""``most-collected-movies``: the provider's movies in most users' collections."""

from reports.parameters import ReportParametersSchema, sql_limit
from reports.registry import Report


class MostCollectedMoviesParametersSchema(ReportParametersSchema):
    """Nothing beyond ``limit``."""


def collections_version(conn):
    """Return the collections' revision: triggers move it on with every change."""
    (revision,) = conn.execute(
        "SELECT revision FROM collection_revision WHERE id = 1"
    ).fetchone()
    return f"collections:{revision}"


def rows(conn, parameters):
    """Yield the collected movies, held by most users first, then most collections.

    Each collection keeps a movie's title as its owner sent it; the report
    names a movie by the title most of its users gave it (a tie: the first
    in code-point order), so that no single user decides what it is called.
    """
    sql = (
        "WITH held AS (SELECT cm.movie_uuid AS uuid, cm.title, c.owner_id"
        "   FROM collection_movie cm"
        "   JOIN movie_collection c ON c.id = cm.collection_id),"
        " named AS (SELECT uuid, title, row_number() OVER (PARTITION BY uuid"
        "   ORDER BY count(DISTINCT owner_id) DESC, title) AS rank"
        "   FROM held GROUP BY uuid, title)"
        " SELECT h.uuid, n.title, count(*) AS collections,"
        " count(DISTINCT h.owner_id) AS users"
        " FROM held h JOIN named n ON n.uuid = h.uuid AND n.rank = 1"
        " GROUP BY h.uuid, n.title"
        " ORDER BY users DESC, collections DESC, n.title, h.uuid LIMIT ?"
    )
    yield from map(tuple, conn.execute(sql, (sql_limit(parameters),)))


REPORT = Report(
    name="most-collected-movies",
    description=(
        "The movie provider's movies held in most users' collections: the users"
        " and the collections that hold each, and the title most of its users"
        " gave it; most users first."
    ),
    parameters=MostCollectedMoviesParametersSchema,
    columns=("uuid", "title", "collections", "users"),
    rows=rows,
    data_version=collections_version,
)
