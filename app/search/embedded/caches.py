"""What a process keeps of the live file between requests, per revision of it.

Every committed write gives the file a new revision; each cache here is
rebuilt the first time it is used after that. They hold the index vocabulary
(for typo matching), the films of each genre as bitsets (for counts), and the
number of films.
"""

import functools
import json

from rapidfuzz import process
from rapidfuzz.distance import OSA

from app.search.analysis import max_edits
from app.search.embedded.layout import VOCABULARIES, revision

# Elasticsearch's default max_expansions for a fuzzy term.
MAX_EXPANSIONS = 50


class RevisionCaches:
    """The caches of one process, each valid for one revision of the live file."""

    def __init__(self):
        self._vocabularies = {}
        self._genre_films = None
        self._film_count = None

    def vocabulary(self, conn, index):
        """Return the terms of ``index``, reloaded when the file has changed.

        They are kept in a table as documents are written (``fts5vocab`` reads
        every posting list to list them, a quarter of a second at 200,000
        films); terms of removed documents stay, to expand to nothing, until
        the next full load.
        """
        current = revision(conn)
        cached = self._vocabularies.get(index)
        if cached is None or cached.revision != current:
            rows = conn.execute(f"SELECT term FROM {VOCABULARIES[index]}").fetchall()
            cached = Vocabulary(current, [row[0] for row in rows])
            self._vocabularies[index] = cached
        return cached

    def genre_films(self, conn):
        """Return the films of each genre, as bitsets of row numbers."""
        current = revision(conn)
        if self._genre_films is None or self._genre_films.revision != current:
            self._genre_films = GenreFilms(current)
        return self._genre_films

    def film_count(self, conn):
        """Count every film, once per revision of the file (1.4 ms at 200,000)."""
        current = revision(conn)
        if self._film_count is None or self._film_count[0] != current:
            count = conn.execute("SELECT count(*) FROM movie").fetchone()[0]
            self._film_count = (current, count)
        return self._film_count[1]


class GenreFilms:
    """The films of each genre as a bitset of their row numbers, built on demand.

    The films sharing any of a film's genres, often most of the catalogue, are
    counted without a row being read; SQL would read every link row of every
    genre.
    """

    def __init__(self, revision):
        self.revision = revision
        self._members = {}

    def members(self, conn, genre_id):
        """Return the bitset of the films of ``genre_id`` (0 if it has none)."""
        members = self._members.get(genre_id)
        if members is None:
            rows = conn.execute(
                "SELECT movie_num FROM movie_genre WHERE genre_id = ?", (genre_id,)
            ).fetchall()
            members = self._members[genre_id] = _bitset([num for (num,) in rows])
        return members

    def count(self, conn, query):
        """Count the films of a query that filters by genres only (and ids)."""
        selected = None
        for genre_id in query.genre_ids:
            members = self.members(conn, genre_id)
            selected = members if selected is None else selected & members
        if query.any_genre_ids:
            members = 0
            for genre_id in query.any_genre_ids:
                members |= self.members(conn, genre_id)
            selected = members if selected is None else selected & members
        if query.ids is not None:
            selected &= _bitset(_nums(conn, query.ids))
        count = selected.bit_count()
        if query.exclude_ids:
            count -= sum(selected >> num & 1 for num in _nums(conn, query.exclude_ids))
        return count


def _nums(conn, ids):
    """Return the row numbers of the films with these ids."""
    rows = conn.execute(
        "SELECT num FROM movie WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(ids)),),
    ).fetchall()
    return [num for (num,) in rows]


def _bitset(nums):
    """Return the bitset of the row numbers ``nums``."""
    bits = bytearray(max(nums, default=0) // 8 + 1)
    for num in nums:
        bits[num >> 3] |= 1 << (num & 7)
    return int.from_bytes(bits, "little")


class Vocabulary:
    """The distinct terms of one FTS table, grouped by length for fuzzy look-ups."""

    def __init__(self, revision, terms):
        self.revision = revision
        self._terms = frozenset(terms)
        self._by_length = {}
        for term in terms:
            self._by_length.setdefault(len(term), []).append(term)
        self.expand = functools.lru_cache(maxsize=4096)(self._expand)

    def _expand(self, term):
        """Return the indexed terms within ``max_edits(term)`` edits, closest first."""
        edits = max_edits(term)
        if edits == 0:
            return (term,) if term in self._terms else ()
        hits = []
        for length in range(len(term) - edits, len(term) + edits + 1):
            hits += process.extract(
                term,
                self._by_length.get(length, ()),
                scorer=OSA.distance,
                score_cutoff=edits,
                limit=None,
            )
        hits.sort(key=lambda hit: (hit[1], hit[0]))
        return tuple(hit[0] for hit in hits[:MAX_EXPANSIONS])
