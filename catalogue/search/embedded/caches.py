"""What a process keeps of the live file between requests, per revision of it.

Every committed write gives the file a new revision; each cache here is
rebuilt the first time it is used after that. They hold the index vocabulary
and the words of films (for typo matching), the films of each genre as bitsets (for counts), and the
number of films.
"""

import functools
import json

from rapidfuzz import process
from rapidfuzz.distance import OSA

from catalogue.search.analysis import max_edits
from catalogue.search.embedded import growth
from catalogue.search.embedded.layout import VOCABULARIES, WORDS, meta, revision

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
        query = f"SELECT term FROM {VOCABULARIES[index]}"
        return self._vocabulary(conn, index, query)

    def words(self, conn):
        """Return the searched words of films as typed, each with its term."""
        return self._vocabulary(conn, WORDS, f"SELECT word, term FROM {WORDS}")

    def _vocabulary(self, conn, key, query):
        """Return the vocabulary ``key``, kept, grown or loaded whole.

        It grows by what the file's log says it gained; it is loaded whole the
        first time, for another generation, or from a file without a log.
        """
        current = revision(conn)
        cached = self._vocabularies.get(key)
        if cached is not None and cached.revision == current:
            return cached
        generation = meta(conn, "generation")
        logged = growth.position(conn)
        if (
            cached is not None
            and logged is not None
            and cached.logged is not None
            and cached.generation == generation
            and logged >= cached.logged
        ):
            table = VOCABULARIES.get(key, key)
            cached.add(growth.gained(conn, table, cached.logged, logged))
        else:
            rows = conn.execute(query).fetchall()
            columns = list(zip(*rows, strict=True)) or [(), ()]
            cached = Vocabulary(current, *columns)
            self._vocabularies[key] = cached
        cached.revision, cached.generation, cached.logged = current, generation, logged
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
    """Distinct words of the index, grouped by length for fuzzy look-ups.

    Each word has a term: the word itself in a vocabulary of terms, its stem in
    the vocabulary of film words.
    """

    def __init__(self, revision, words, terms=None):
        self.revision = revision
        # Where the file's generation and vocabulary log stood when last read.
        self.generation = self.logged = None
        self._terms = dict(zip(words, terms or words, strict=True))
        self._by_length = {}
        for word in self._terms:
            self._by_length.setdefault(len(word), []).append(word)
        self._near = functools.lru_cache(maxsize=4096)(self._near)

    def add(self, rows):
        """Add ``(word, term)`` rows the file gained; forget the look-ups made."""
        for word, term in rows:
            if word not in self._terms:
                self._by_length.setdefault(len(word), []).append(word)
            self._terms[word] = term
        if rows:
            self._near.cache_clear()

    def __contains__(self, word):
        return word in self._terms

    def term(self, word):
        """Return the term of ``word``."""
        return self._terms[word]

    def expand(self, word):
        """Return the indexed words within ``max_edits(word)`` edits, closest first."""
        return tuple(found for found, _ in self._near(word))

    def near(self, word, edits):
        """Return the indexed words at most ``edits`` (and max_edits) from ``word``."""
        return [found for found, distance in self._near(word) if distance <= edits]

    def _near(self, word):
        """Return ``(indexed word, edits)`` within ``max_edits(word)``, closest first."""
        edits = max_edits(word)
        if edits == 0:
            return ((word, 0),) if word in self._terms else ()
        hits = []
        for length in range(len(word) - edits, len(word) + edits + 1):
            hits += process.extract(
                word,
                self._by_length.get(length, ()),
                scorer=OSA.distance,
                score_cutoff=edits,
                limit=None,
            )
        hits.sort(key=lambda hit: (hit[1], hit[0]))
        return tuple((hit[0], hit[1]) for hit in hits[:MAX_EXPANSIONS])
