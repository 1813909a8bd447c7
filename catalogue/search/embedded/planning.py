"""Query planning: a FilmQuery's filters, sort and text as SQL over the side tables.

Filters and sorts are plain SQL over the narrow ``movie`` table and the link
tables; a text becomes an FTS5 query that matches one indexed variant of every
term. Lists of films read their summaries from ``movie``, not the documents.
"""

import json
from collections import namedtuple

from catalogue.search import FILM_SUMMARY, ROLES

# The only SQL a sort key can add; the id keeps ties in a stable order.
FILM_ORDER = {
    ("id", False): "m.id",
    ("id", True): "m.id DESC",
    ("title", False): "m.title_sort",
    ("title", True): "m.title_sort DESC",
    # SQLite puts NULL first going up and last going down; the contract wants
    # films without a rating last both ways.
    ("imdb_rating", False): "m.imdb_rating IS NULL, m.imdb_rating",
    ("imdb_rating", True): "m.imdb_rating DESC",
}
GENRE_ORDER = {
    ("name", False): "name_sort, id",
    ("name", True): "name_sort DESC, id",
    ("film_count", False): "film_count, id",
    ("film_count", True): "film_count DESC, id",
}
# Where a page of films starts and how many films it holds.
Window = namedtuple("Window", "offset limit")


def _quote(term):
    """Quote ``term`` as an FTS5 string."""
    return '"' + term.replace('"', '""') + '"'


def _any_of(variants):
    """Return the FTS5 query matching any of ``variants``."""
    return "(" + " OR ".join(map(_quote, variants)) + ")"


def all_of(groups):
    """Return the FTS5 query matching one variant of every group."""
    return " AND ".join(map(_any_of, groups))


def rows_by_num(conn, table, columns, nums):
    """Return ``columns`` of the rows ``nums`` of ``table``, by row number."""
    rows = conn.execute(
        f"SELECT num, {columns} FROM {table}"
        " WHERE num IN (SELECT value FROM json_each(?))",
        (json.dumps(nums),),
    ).fetchall()
    return {row["num"]: row for row in rows}


def documents(conn, table, nums):
    """Return the documents of rows ``nums`` of ``table``, in that order."""
    rows = rows_by_num(conn, table, "doc", nums)
    return [json.loads(rows[num]["doc"]) for num in nums]


def films(conn, nums, fields):
    """Return the films of rows ``nums``, in that order, only ``fields`` if given.

    Summaries come from the movie table, without a document being read.
    """
    if not fields or not set(fields) <= set(FILM_SUMMARY):
        docs = documents(conn, "movie_doc", nums)
        if fields:
            docs = [{key: doc[key] for key in fields if key in doc} for doc in docs]
        return docs
    rows = rows_by_num(conn, "movie", "id, title, imdb_rating", nums)
    return [{key: rows[num][key] for key in fields} for num in nums]


def film_filters(query):
    """Split a FilmQuery's filters into sets of films and conditions on ``m``.

    A set is ``(side table, WHERE, parameters)`` selecting ``movie_num``s; a
    condition is ``(SQL, parameters)`` over the ``movie`` row.
    """
    sets, conditions = [], []
    if query.person_id is not None:
        if query.role is None:
            sets.append(("movie_person", "person_id = ?", [query.person_id]))
        elif query.role in ROLES:
            where = "person_id = ? AND role = ?"
            sets.append(("movie_person", where, [query.person_id, query.role]))
        else:
            raise ValueError(f"unknown role {query.role!r}")
    for genre_id in query.genre_ids:
        sets.append(("movie_genre", "genre_id = ?", [genre_id]))
    if query.any_genre_ids:
        genre_ids = json.dumps(list(query.any_genre_ids))
        sets.append(
            ("movie_genre", "genre_id IN (SELECT value FROM json_each(?))", [genre_ids])
        )
    if query.ids is not None:
        ids = json.dumps(list(query.ids))
        conditions.append(("m.id IN (SELECT value FROM json_each(?))", [ids]))
    if query.exclude_ids:
        exclude_ids = json.dumps(list(query.exclude_ids))
        conditions.append(
            ("m.id NOT IN (SELECT value FROM json_each(?))", [exclude_ids])
        )
    if query.rating_min is not None:
        conditions.append(("m.imdb_rating >= ?", [query.rating_min]))
    if query.rating_max is not None:
        conditions.append(("m.imdb_rating <= ?", [query.rating_max]))
    return sets, conditions


def _film_source(match, sets, conditions, walk=False):
    """Return the FROM, WHERE and parameters that select the films of a query.

    ``walk`` tests each film's membership of the sets, so that SQLite walks the
    sort's index instead of driving the query from the sets.
    """
    clauses, params = [], []
    if match is not None:
        clauses.append("movie_fts MATCH ?")
        params.append(match)
    # The text's matches drive the query, or else the first set. When those are
    # few (a person's films) the other sets are probed film by film rather than
    # listed whole, genre by genre; a walk probes every set, so that no set is
    # listed whole before the first film is found.
    probe = bool(sets) and sets[0][0] == "movie_person"
    for position, (table, where, set_params) in enumerate(sets):
        if match is not None or walk or (position and probe):
            clauses.append(
                f"EXISTS (SELECT 1 FROM {table} WHERE {where} AND movie_num = m.num)"
            )
        else:
            clauses.append(f"m.num IN (SELECT movie_num FROM {table} WHERE {where})")
        params += set_params
    for sql, condition_params in conditions:
        clauses.append(sql)
        params += condition_params
    source = "movie m"
    if match is not None:
        source = "movie_fts JOIN movie m ON m.num = movie_fts.rowid"
    return source, " AND ".join(clauses) or "1", params


def film_page(conn, selection, order, window, walk=False):
    """Return the row numbers of the films in ``window`` (offset, limit), in order.

    ``selection`` is the FTS5 query (or None), the sets and the conditions.
    """
    source, where, params = _film_source(*selection, walk)
    rows = conn.execute(
        f"SELECT m.num FROM {source} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, window.limit, window.offset],
    ).fetchall()
    return [row[0] for row in rows]


def titled(conn, key, sets, conditions):
    """Return the row numbers of the films whose title has ``key``, best rated first.

    Of those that pass the filters; ties on id, films without a rating last.
    """
    exact = [*conditions, ("m.title_key = ?", [key])]
    source, where, params = _film_source(None, sets, exact)
    rows = conn.execute(
        f"SELECT m.num FROM {source} WHERE {where}"
        f" ORDER BY {FILM_ORDER['imdb_rating', True]}, m.id",
        params,
    ).fetchall()
    return [row[0] for row in rows]


def leaving_out(conditions, nums):
    """Return ``conditions`` with one more: the films of rows ``nums`` left out."""
    if not nums:
        return conditions
    left_out = ("m.num NOT IN (SELECT value FROM json_each(?))", [json.dumps(nums)])
    return [*conditions, left_out]


def count_films(conn, match, sets, conditions):
    """Count the matching films, reading as few rows as the filters allow."""
    if match is None and len(sets) == 1 and not conditions:
        # One side table knows the answer without a film row being read.
        table, where, params = sets[0]
        sql = f"SELECT count(DISTINCT movie_num) FROM {table} WHERE {where}"
    elif match is not None and not sets and not conditions:
        # FTS5 counts its matches from the index alone.
        sql, params = "SELECT count(*) FROM movie_fts WHERE movie_fts MATCH ?", [match]
    else:
        source, where, params = _film_source(match, sets, conditions)
        sql = f"SELECT count(*) FROM {source} WHERE {where}"
    return conn.execute(sql, params).fetchone()[0]


def count_among(conn, match, nums):
    """Count the films of rows ``nums`` that the FTS5 query ``match`` matches."""
    if not nums:
        return 0
    return conn.execute(
        "SELECT count(*) FROM movie_fts WHERE movie_fts MATCH ?"
        " AND rowid IN (SELECT value FROM json_each(?))",
        (match, json.dumps(nums)),
    ).fetchone()[0]


def walk_in_order(conn, total, query):
    """Whether to find a page by walking the sort's index rather than sorting.

    Left to itself SQLite builds the film sets first and sorts all ``total``
    members; walking the index in sort order and testing membership instead
    reaches the page after about ``(offset + limit) * films / total`` rows.
    The highest row number stands for ``films``: counting would read them all.
    """
    if not total:
        return False
    films = conn.execute("SELECT max(num) FROM movie").fetchone()[0] or 0
    return total * total > (query.offset + query.limit) * films


def film_order(sort):
    """Return the ORDER BY of ``sort`` (None when empty), ties broken on id."""
    if not sort:
        return None
    keys = []
    for key in sort:
        sql = FILM_ORDER.get((key.field, key.descending))
        if sql is None:
            raise ValueError(f"cannot sort films by {key.field!r}")
        keys.append(sql)
    return ", ".join([*keys, "m.id"])
