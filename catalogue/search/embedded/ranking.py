"""Ranking: matches by relevance (``bm25()``), in tiers, ties broken on id.

A text that is a film's title (``analysis.title_key``) puts the films of that
title first, best rated first, before any tier. Films and persons that match every term as typed rank above those that need a
typo's variant of one, and a film's title above the rest of it (see
``tiers``); each tier by its own ``bm25()``; ties are broken on id after
ranking, among the rows read (see ``best_first``).
"""

from collections import Counter

from catalogue.search import MOVIES, PERSONS
from catalogue.search.embedded.layout import TABLES
from catalogue.search.embedded.planning import Window, all_of, rows_by_num

# bm25 weights of movie_fts columns: title, description, names.
MOVIE_RANK = "bm25(movie_fts, 5.0, 1.0, 1.0)"
# Matches read past a page's end, so that a tie across it is read whole.
TIE_ROOM = 100
# The full-text table and the relevance of each searched index.
RANKINGS = {
    MOVIES: ("movie_fts", MOVIE_RANK),
    PERSONS: ("person_fts", "bm25(person_fts)"),
}


def text_match(variants, corrections=(), column=None):
    """Return the FTS5 query of a text's matches, or None when nothing can match.

    ``variants`` maps each term of the text to its indexed variants: a film
    matches one variant of every term. With ``corrections`` (the terms of the
    words near each word typed, see ``tiers``), a film whose ``column`` holds
    one of the widest of them for every word matches too: "braave" is one edit
    from "brave", and its term "braav" two from "brave".
    """
    parts = []
    if variants and all(variants.values()):
        parts.append(all_of(variants.values()))
    if corrections and column:
        parts.append(f"{{{column}}} : ({all_of(corrections[-1])})")
    if len(parts) > 1:
        return " OR ".join(f"({part})" for part in parts)
    return parts[0] if parts else None


def tiers(variants, corrections=(), column=None):
    """Return the FTS5 queries of the tiers of a text's matches, best first.

    ``variants`` maps each term of the text to its indexed variants. The tiers,
    each without the matches of those before it: every term as typed in
    ``column`` (the title); then in that column each of ``corrections``, the
    terms of the words near each word typed (one edit away, then two); then
    every term as typed anywhere; then the rest. So "storm" lists a film with
    a storm in its description before "The Stork", while "runing", which is
    no film's word, lists "Running" titles before films of "rune" (its term)
    or of "june".
    """
    whole = text_match(variants, corrections, column)
    typed = all(found and term == found[0] for term, found in variants.items())
    exact = all_of((term,) for term in variants)
    preferred = []
    if column:
        if typed:
            preferred.append(f"{{{column}}} : ({exact})")
        preferred += [f"{{{column}}} : ({all_of(groups)})" for groups in corrections]
    if typed:
        preferred.append(exact)
    queries = []
    for query in [*preferred, whole]:
        if query not in queries:
            queries.append(query)
    return [
        f"({query}) NOT ({' OR '.join(f'({q})' for q in queries[:i])})" if i else query
        for i, query in enumerate(queries)
    ]


def relevance_page(tiers, window, page, count, titled=()):
    """Return the row numbers of a ``window`` of text matches, most relevant first.

    ``titled`` are the row numbers of the films whose title the text is, in
    their order: they come first, and ``page`` and ``count`` leave them out.
    ``tiers`` are FTS5 queries, best first (see ``tiers``). ``page(match,
    window)`` returns the row numbers of a window of one tier's FTS5 query in
    its ``bm25()`` order (ties on id), ``count(match)`` the size of a tier.
    Besides putting the fewest typos first, as search engines do, this ranks
    less: bm25 costs about half a microsecond a row, and the variants of a
    common word match many more films than the word itself (a quarter of the
    catalogue for ``return``, with ``turn``).
    """
    nums = list(titled[window.offset : window.offset + window.limit])
    skip = max(window.offset - len(titled), 0)
    if len(nums) == window.limit:
        return nums
    for tier in tiers:
        rows = page(tier, Window(offset=skip, limit=window.limit - len(nums)))
        nums += rows
        if len(nums) == window.limit:
            break
        # The tier ends in this window, or (nothing of it here) before it.
        skip = 0 if rows else skip - count(tier)
    return nums


def best_first(conn, index, match, window, left_out=()):
    """Return the row numbers of a ``window`` of ``match``es, best first, ties on id.

    The rows ``left_out`` (a few: the films a text is the title of) are not
    counted among the matches.

    Ranked by relevance alone, the query reads no row of the main table; the
    join that reads each match's id to break ties costs about as much as the
    ranking (32.6 against 18.8 ms for a word in 29,574 films). Ties are broken
    here instead, among the matches read: those up to the window's end and
    ``TIE_ROOM`` more, so that a tie across the end is read whole. A tie larger
    than that falls back to the query with the join.
    """
    if left_out:
        ahead = Window(0, window.offset + window.limit + len(left_out))
        skipped = set(left_out)
        rows = best_first(conn, index, match, ahead)
        kept = [num for num in rows if num not in skipped]
        return kept[window.offset : window.offset + window.limit]
    fts, rank = RANKINGS[index]
    table = TABLES[index]
    end = window.offset + window.limit
    rows = conn.execute(
        f"SELECT rowid, {rank} FROM {fts} WHERE {fts} MATCH ? ORDER BY 2 LIMIT ?",
        (match, end + TIE_ROOM),
    ).fetchall()
    if len(rows) <= window.offset:
        return []
    last = rows[min(end, len(rows)) - 1][1]
    if len(rows) == end + TIE_ROOM and rows[-1][1] == last:
        rows = conn.execute(
            f"SELECT t.num FROM {fts} JOIN {table} t ON t.num = {fts}.rowid"
            f" WHERE {fts} MATCH ? ORDER BY {rank}, t.id LIMIT ? OFFSET ?",
            (match, window.limit, window.offset),
        ).fetchall()
        return [row[0] for row in rows]
    # Every match scored up to the window's last score: each tie here is whole.
    rows = [row for row in rows if row[1] <= last]
    scores = Counter(score for _, score in rows)
    tied = [num for num, score in rows if scores[score] > 1]
    if tied:
        ids = {
            num: row["id"] for num, row in rows_by_num(conn, table, "id", tied).items()
        }
        rows.sort(key=lambda row: (row[1], ids.get(row[0], "")))
    return [num for num, _ in rows[window.offset : end]]


def count_persons(conn, match):
    """Count the persons matching the FTS5 query ``match``."""
    query = "SELECT count(*) FROM person_fts WHERE person_fts MATCH ?"
    return conn.execute(query, (match,)).fetchone()[0]
