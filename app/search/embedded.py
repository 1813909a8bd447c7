"""The embedded search backend: SQLite FTS5 in a file of its own.

For machines without Elasticsearch. The index lives in ``EMBEDDED_SEARCH_PATH``,
beside the catalogue database, and follows the contract in ``app.search``:

- Text is reduced to terms by ``app.search.analysis.analyse`` when a document is
  written; the FTS5 tables store those terms space-joined, and their tokenizer
  only splits on the spaces, so a stored term is exactly the term analysed.
- A query term matches the indexed terms within ``max_edits(term)`` OSA edits,
  found with rapidfuzz in the index vocabulary: the terms of every document ever
  written to the file, kept in a table as they are written (``fts5vocab`` reads
  every posting list to list them, a quarter of a second at 200,000 films), and
  cached per process until a write changes the file's revision. Terms of removed
  documents stay in it, to expand to nothing, until the next full load.
- Filters and sorts are plain SQL over side tables; lists of films read their
  summaries from the narrow ``movie`` table, not from the documents. Relevance
  is ``bm25()``, in two tiers: films that match every term as typed, then
  those that need a typo's variant (see ``_relevance_page``); ties are broken
  on id after ranking (see ``_best_first``).
- The file's layout is numbered in its ``user_version``: a write upgrades an
  older file, and reads refuse one until then.

Generations: ``None`` is the live file; a named generation is a file of its own
(``<live>.<generation>``) that :meth:`EmbeddedBackend.publish` moves over the
live one with ``os.replace``. Readers with a connection open keep the old file,
the next request opens the new one (and closes idle connections to the old).

Every file uses a rollback journal, never WAL: SQLite opens any database in WAL
mode when a ``-wal`` file lies beside it, so the sidecars of a replaced WAL file
would be applied to its successor. The price is that readers wait (briefly,
``busy_timeout``) while a write to the live file commits.
"""

import functools
import json
import os
import re
import sqlite3
import uuid
from collections import Counter, namedtuple
from contextlib import closing, contextmanager
from pathlib import Path

from flask import g, has_app_context
from rapidfuzz import process
from rapidfuzz.distance import OSA

from app.db import connect
from app.search import (
    FILM_SUMMARY,
    GENRES,
    MOVIES,
    PERSONS,
    ROLES,
    Page,
    ResultWindowExceeded,
    SearchBackend,
    SearchError,
    SearchUnavailable,
)
from app.search.analysis import analyse, max_edits

NOT_BUILT = "search index not built yet: run flask etl run"
OUTDATED = "search index has an older layout: run flask etl run to upgrade it"
# A generation names a file beside the live one: no separators, no "..".
GENERATION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
# Read connections kept open per process between requests, and the page cache of
# each: 16 MiB holds a search's hot pages (a query measured 1.7 ms with SQLite's
# 2 MiB default, 1.5 ms with 16 MiB, 2.1 ms on a new connection each time).
IDLE_CONNECTIONS = 4
READ_CACHE_KIB = 16 * 1024
# Elasticsearch's default max_expansions for a fuzzy term.
MAX_EXPANSIONS = 50
# bm25 weights of movie_fts columns: title, description, names.
MOVIE_RANK = "bm25(movie_fts, 5.0, 1.0, 1.0)"
# Matches read past a page's end, so that a tie across it is read whole.
TIE_ROOM = 100
# The full-text table and the relevance of each searched index.
RANKINGS = {
    MOVIES: ("movie_fts", MOVIE_RANK),
    PERSONS: ("person_fts", "bm25(person_fts)"),
}
# Terms contain only word characters and inner apostrophes: splitting on
# anything else (spaces) keeps each one intact, whatever its script.
TOKENIZER = "ascii tokenchars '''_'"

SCHEMA = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;

-- What filters, sorts and lists of films read, kept narrow so that scanning it
-- stays cheap: a list of 20 summaries read from the documents instead reads 20
-- pages of a table 20 times larger (0.9 ms against 0.05 ms at 200,000 films).
CREATE TABLE movie (
    num INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    title_sort TEXT NOT NULL,
    imdb_rating REAL,
    title TEXT
);
CREATE INDEX movie_title ON movie (title_sort, id);
CREATE INDEX movie_rating ON movie (imdb_rating IS NULL, imdb_rating, id);
CREATE INDEX movie_rating_desc ON movie (imdb_rating DESC, id);
CREATE TABLE movie_doc (num INTEGER PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE movie_genre (
    genre_id TEXT NOT NULL,
    movie_num INTEGER NOT NULL,
    PRIMARY KEY (genre_id, movie_num)
) WITHOUT ROWID;
CREATE INDEX movie_genre_movie ON movie_genre (movie_num);
CREATE TABLE movie_person (
    person_id TEXT NOT NULL,
    role TEXT NOT NULL,
    movie_num INTEGER NOT NULL,
    PRIMARY KEY (person_id, role, movie_num)
) WITHOUT ROWID;
CREATE INDEX movie_person_movie ON movie_person (movie_num);
CREATE VIRTUAL TABLE movie_fts
    USING fts5 (title, description, names, tokenize = "{TOKENIZER}");
CREATE TABLE movie_term (term TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TRIGGER movie_deleted AFTER DELETE ON movie BEGIN
    DELETE FROM movie_doc WHERE num = old.num;
    DELETE FROM movie_fts WHERE rowid = old.num;
    DELETE FROM movie_genre WHERE movie_num = old.num;
    DELETE FROM movie_person WHERE movie_num = old.num;
END;

CREATE TABLE genre (
    num INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name_sort TEXT NOT NULL,
    film_count INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX genre_name ON genre (name_sort, id);
CREATE INDEX genre_film_count ON genre (film_count, id);

CREATE TABLE person (
    num INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL
);
CREATE VIRTUAL TABLE person_fts
    USING fts5 (full_name, tokenize = "{TOKENIZER}");
CREATE TABLE person_term (term TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TRIGGER person_deleted AFTER DELETE ON person BEGIN
    DELETE FROM person_fts WHERE rowid = old.num;
END;
"""

# The layout of the tables above, kept in the file's user_version. A file of
# an older one is upgraded by the next write (every run of the ETL writes) with
# the steps from its layout on; until then reads refuse it with OUTDATED.
LAYOUT = 1
UPGRADES = {
    0: """
    ALTER TABLE movie ADD COLUMN title TEXT;
    UPDATE movie SET title = (SELECT doc ->> '$.title' FROM movie_doc d
                              WHERE d.num = movie.num);
    """,
}

TABLES = {MOVIES: "movie", GENRES: "genre", PERSONS: "person"}
DOCUMENTS = {
    MOVIES: "SELECT d.doc FROM movie m JOIN movie_doc d USING (num) WHERE m.id = ?",
    GENRES: "SELECT doc FROM genre WHERE id = ?",
    PERSONS: "SELECT doc FROM person WHERE id = ?",
}
VOCABULARIES = {MOVIES: "movie_term", PERSONS: "person_term"}
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
PERSON_ROLES = (("actors", "actor"), ("writers", "writer"), ("directors", "director"))


class EmbeddedBackend(SearchBackend):
    """Search over an SQLite FTS5 file; see the module docstring for its layout."""

    def __init__(self, path, max_result_window):
        self.path = Path(path)
        self.max_result_window = max_result_window
        self._vocabularies = {}
        self._genre_films = None
        self._all_films = None
        self._idle = []

    @classmethod
    def from_config(cls, config):
        """Build the backend from the app's settings."""
        return cls(config["EMBEDDED_SEARCH_PATH"], config["MAX_RESULT_WINDOW"])

    # Read side.

    def search_films(self, query, fields=None):
        """Return a Page of film documents, only ``fields`` of each if given."""
        self._check_window(query.offset, query.limit)
        sets, conditions = _film_filters(query)
        order = _film_order(query.sort)
        with self._reading() as conn:
            variants = match = None
            if query.text is not None:
                variants = self._expand(conn, MOVIES, query.text)
                if variants is None:
                    return Page(total=0)
                match = _all_of(variants.values())
            if match is None and not sets and not conditions:
                total = self._count_all_films(conn)
            else:
                total = self._count_by_genres(conn, query)
            if total is None:
                total = _count_films(conn, match, sets, conditions)
            if query.offset >= total:
                return Page(total=total)
            if match is not None and not order:

                def page(tier, window):
                    if not sets and not conditions:
                        return _best_first(conn, MOVIES, tier, window)
                    selection = (tier, sets, conditions)
                    return _film_page(conn, selection, f"{MOVIE_RANK}, m.id", window)

                def count(tier):
                    return _count_films(conn, tier, sets, conditions)

                nums = _relevance_page(variants, query, page, count)
            else:
                walk = not match and bool(sets) and _walk_in_order(conn, total, query)
                selection = (match, sets, conditions)
                nums = _film_page(conn, selection, order or "m.id", query, walk)
            items = _films(conn, nums, fields)
        return Page(total=total, items=items)

    def get_film(self, film_id):
        """Return one film document, or None."""
        return self._get(MOVIES, film_id)

    def list_genres(self, sort, offset=0, limit=50):
        """Return a Page of genre documents in ``sort`` order (ties on id)."""
        self._check_window(offset, limit)
        order = GENRE_ORDER.get((sort.field, sort.descending))
        if order is None:
            raise ValueError(f"cannot sort genres by {sort.field!r}")
        with self._reading() as conn:
            total = conn.execute("SELECT count(*) FROM genre").fetchone()[0]
            rows = conn.execute(
                f"SELECT doc FROM genre ORDER BY {order} LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return Page(total=total, items=[json.loads(row[0]) for row in rows])

    def get_genre(self, genre_id):
        """Return one genre document, or None."""
        return self._get(GENRES, genre_id)

    def search_persons(self, text, offset=0, limit=50):
        """Return a Page of person documents matching ``text``, best first."""
        self._check_window(offset, limit)
        with self._reading() as conn:
            variants = self._expand(conn, PERSONS, text)
            if variants is None:
                return Page(total=0)
            total = _count_persons(conn, _all_of(variants.values()))
            if offset >= total:
                return Page(total=total)
            page = functools.partial(_best_first, conn, PERSONS)
            count = functools.partial(_count_persons, conn)
            nums = _relevance_page(variants, Window(offset, limit), page, count)
            items = _documents(conn, "person", nums)
        return Page(total=total, items=items)

    def get_person(self, person_id):
        """Return one person document, or None."""
        return self._get(PERSONS, person_id)

    def ping(self):
        """Raise SearchUnavailable unless the index file can be read."""
        with self._reading() as conn:
            conn.execute("SELECT count(*) FROM meta").fetchone()

    def release(self):
        """Give this request's read connection back to the idle ones, if opened."""
        if has_app_context():
            held = g.pop("embedded_search", None)
            if held is not None and len(self._idle) < IDLE_CONNECTIONS:
                self._idle.append(held)
            elif held is not None:
                held[0].close()

    def refresh(self, generation=None):
        """Nothing to do: a write is searchable as soon as it commits."""

    def describe(self):
        """Name the backend and its file."""
        return f"embedded:{self.path}"

    def _check_window(self, offset, limit):
        if offset + limit > self.max_result_window:
            raise ResultWindowExceeded(
                f"offset + limit must not exceed {self.max_result_window}"
            )

    def _get(self, index, doc_id):
        with self._reading() as conn:
            row = conn.execute(DOCUMENTS[index], (doc_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    @contextmanager
    def _reading(self):
        """Yield a connection to the live file, inside a read transaction.

        The transaction gives the call one snapshot, so counts, pages and
        documents agree while the ETL writes; SQLite failures come out as
        SearchUnavailable.
        """
        with _unavailable_on_failure(), self._live_connection() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.rollback()

    @contextmanager
    def _live_connection(self):
        """Yield this request's connection, or outside a request one of our own."""
        if has_app_context():
            yield self._request_connection()
        else:
            self._live_identity()
            with closing(_open_for_reading(self.path)) as conn:
                yield conn

    def _request_connection(self):
        """Return this request's connection, reopened if the live file was replaced."""
        identity = self._live_identity()
        held = g.get("embedded_search")
        if held is not None and held[1] == identity:
            return held[0]
        self.release()
        conn = self._idle_connection(identity)
        g.embedded_search = (conn, identity)
        return conn

    def _idle_connection(self, identity):
        """Return an idle connection to the live file, or a new one.

        Idle connections keep their page cache between requests: a search
        reads its posting lists from memory instead of from the file again.
        Those left on a replaced file are closed here.
        """
        while self._idle:
            conn, held_identity = self._idle.pop()
            if held_identity == identity:
                return conn
            conn.close()
        conn = _open_for_reading(self.path)
        conn.execute(f"PRAGMA cache_size = -{READ_CACHE_KIB}")
        return conn

    def _live_identity(self):
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            raise SearchUnavailable(NOT_BUILT) from None
        return stat.st_dev, stat.st_ino

    def _expand(self, conn, index, text):
        """Map each term of ``text`` to its indexed variants, closest first.

        None when nothing can match: a term without variants, or no terms.
        """
        vocabulary = self._vocabulary(conn, index)
        variants = {term: vocabulary.expand(term) for term in analyse(text)}
        return variants if variants and all(variants.values()) else None

    def _count_by_genres(self, conn, query):
        """Count a query that only filters by genre (and excludes films), or None.

        Film sets are bitsets of row numbers here, so the films sharing any of a
        film's genres, often most of the catalogue, are counted without a row
        being read; SQL would read every link row of every genre.
        """
        if (
            not (query.genre_ids or query.any_genre_ids)
            or query.text is not None
            or query.person_id is not None
            or query.rating_min is not None
            or query.rating_max is not None
        ):
            return None
        revision = _revision(conn)
        if self._genre_films is None or self._genre_films.revision != revision:
            self._genre_films = GenreFilms(revision)
        films = self._genre_films
        selected = None
        for genre_id in query.genre_ids:
            members = films.members(conn, genre_id)
            selected = members if selected is None else selected & members
        if query.any_genre_ids:
            members = 0
            for genre_id in query.any_genre_ids:
                members |= films.members(conn, genre_id)
            selected = members if selected is None else selected & members
        count = selected.bit_count()
        if query.exclude_ids:
            excluded = conn.execute(
                "SELECT num FROM movie WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(list(query.exclude_ids)),),
            ).fetchall()
            count -= sum(selected >> num & 1 for (num,) in excluded)
        return count

    def _count_all_films(self, conn):
        """Count every film, once per revision of the file (1.4 ms at 200,000)."""
        revision = _revision(conn)
        if self._all_films is None or self._all_films[0] != revision:
            count = conn.execute("SELECT count(*) FROM movie").fetchone()[0]
            self._all_films = (revision, count)
        return self._all_films[1]

    def _vocabulary(self, conn, index):
        """Return the terms of ``index``, reloaded when the file has changed."""
        revision = _revision(conn)
        cached = self._vocabularies.get(index)
        if cached is None or cached.revision != revision:
            rows = conn.execute(f"SELECT term FROM {VOCABULARIES[index]}").fetchall()
            cached = Vocabulary(revision, [row[0] for row in rows])
            self._vocabularies[index] = cached
        return cached

    # Write side.

    def prepare(self, generation=None):
        """Create the file of ``generation`` (or the live one) if missing."""
        with self._writing(generation) as conn:
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', ?)",
                (generation,),
            )

    def write(self, index, documents, generation=None):
        """Insert or replace documents by id, in one transaction; return how many."""
        writer = WRITERS.get(index)
        if writer is None:
            raise ValueError(f"unknown index {index!r}")
        documents = list(documents)
        with self._writing(generation) as conn:
            terms = set(writer(conn, documents))
            if terms:
                conn.executemany(
                    f"INSERT OR IGNORE INTO {VOCABULARIES[index]} (term) VALUES (?)",
                    [(term,) for term in terms],
                )
        return len(documents)

    def remove(self, index, ids, generation=None):
        """Delete documents by id (missing ones are fine); return how many."""
        with self._writing(generation) as conn:
            return conn.execute(
                f"DELETE FROM {_table(index)}"
                " WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(list(ids)),),
            ).rowcount

    def publish(self, generation):
        """Compact ``generation``, move it over the live file, drop the others."""
        if generation is None:
            raise ValueError("only a named generation can be published")
        path = self._generation_path(generation)
        if not path.exists():
            raise SearchError(f"generation {generation!r} was never prepared")
        with self._writing(generation) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('generation', ?)",
                (generation,),
            )
            conn.execute("INSERT INTO movie_fts (movie_fts) VALUES ('optimize')")
            conn.execute("INSERT INTO person_fts (person_fts) VALUES ('optimize')")
            conn.execute("ANALYZE")
        os.replace(path, self.path)
        prefix = self.path.name + "."
        for leftover in self.path.parent.iterdir():
            if leftover.name.startswith(prefix):
                leftover.unlink(missing_ok=True)

    def discard(self, generation):
        """Delete the file of an unpublished ``generation``."""
        if generation is None or generation == self.live_generation():
            raise SearchError(f"generation {generation} is live; publish another first")
        path = self._generation_path(generation)
        for suffix in ("", "-journal", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)

    def live_generation(self):
        """Return the generation of the live file, or None before the first load.

        Of a file of any layout: the ETL asks before the write that upgrades it.
        """
        if not self.path.exists():
            return None
        with (
            _unavailable_on_failure(),
            closing(connect(self.path, readonly=True)) as conn,
        ):
            row = conn.execute(
                "SELECT value FROM meta WHERE key = 'generation'"
            ).fetchone()
        return row and row[0]

    def count(self, index, generation=None):
        """Return the number of documents in an index of ``generation``."""
        table = _table(index)
        if generation is None:
            with self._reading() as conn:
                return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        path = self._generation_path(generation)
        if not path.exists():
            raise SearchError(f"generation {generation!r} was never prepared")
        with closing(_open_for_reading(path)) as conn:
            return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    def _generation_path(self, generation):
        if generation is None:
            return self.path
        if not GENERATION_NAME.fullmatch(generation) or ".." in generation:
            raise ValueError(f"invalid generation name {generation!r}")
        return self.path.with_name(f"{self.path.name}.{generation}")

    @contextmanager
    def _writing(self, generation):
        """Yield a connection in a write transaction that bumps the revision."""
        path = self._generation_path(generation)
        with closing(_open_for_writing(path)) as conn, conn:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('revision', ?)",
                (uuid.uuid4().hex,),
            )


class GenreFilms:
    """The films of each genre as a bitset of their row numbers, built on demand."""

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
            bits = bytearray(max((num for (num,) in rows), default=0) // 8 + 1)
            for (num,) in rows:
                bits[num >> 3] |= 1 << (num & 7)
            members = self._members[genre_id] = int.from_bytes(bits, "little")
        return members


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


def _revision(conn):
    """Return the revision of the file, which every committed write changes."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()
    return row and row[0]


@contextmanager
def _unavailable_on_failure():
    """Raise SQLite's failures as SearchUnavailable."""
    try:
        yield
    except sqlite3.ProgrammingError:
        raise
    except sqlite3.DatabaseError as exc:
        if has_app_context():
            # Whatever went wrong, the next request starts on a new connection.
            held = g.pop("embedded_search", None)
            if held is not None:
                held[0].close()
        raise SearchUnavailable(f"embedded search index failed: {exc}") from exc


def _open_for_reading(path):
    """Open ``path`` to read; refuse a file of another layout."""
    conn = connect(path, readonly=True)
    if conn.execute("PRAGMA user_version").fetchone()[0] != LAYOUT:
        conn.close()
        raise SearchUnavailable(OUTDATED)
    return conn


def _open_for_writing(path):
    """Open ``path`` to write, with a rollback journal (see the module docstring).

    A new file gets the tables, a file of an older layout its upgrades, each in
    one transaction.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA journal_mode = DELETE")
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            layout = conn.execute("PRAGMA user_version").fetchone()[0]
            if layout != LAYOUT:
                if not conn.execute("SELECT 1 FROM sqlite_schema").fetchone():
                    scripts = [SCHEMA]
                elif layout < LAYOUT:
                    scripts = [UPGRADES[step] for step in range(layout, LAYOUT)]
                else:
                    raise SearchError(f"{path} has a layout newer than this service")
                for script in scripts:
                    for statement in _statements(script):
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {LAYOUT}")
    except BaseException:
        conn.close()
        raise
    return conn


def _statements(script):
    """Split an SQL script into its statements."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            yield statement
            statement = ""


def _table(index):
    """Return the main table of ``index``; refuse names that are not indices."""
    if index not in TABLES:
        raise ValueError(f"unknown index {index!r}")
    return TABLES[index]


def _quote(term):
    return '"' + term.replace('"', '""') + '"'


def _any_of(variants):
    return "(" + " OR ".join(map(_quote, variants)) + ")"


def _all_of(groups):
    """Return the FTS5 query matching one variant of every group."""
    return " AND ".join(map(_any_of, groups))


def _terms(*texts):
    """Return the analysed terms of ``texts``."""
    return [term for text in texts if text for term in analyse(text)]


def _dump(doc):
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def _rows(conn, table, columns, nums):
    """Return ``columns`` of the rows ``nums`` of ``table``, by row number."""
    rows = conn.execute(
        f"SELECT num, {columns} FROM {table}"
        " WHERE num IN (SELECT value FROM json_each(?))",
        (json.dumps(nums),),
    ).fetchall()
    return {row["num"]: row for row in rows}


def _documents(conn, table, nums):
    """Return the documents of rows ``nums`` of ``table``, in that order."""
    rows = _rows(conn, table, "doc", nums)
    return [json.loads(rows[num]["doc"]) for num in nums]


def _films(conn, nums, fields):
    """Return the films of rows ``nums``, in that order, only ``fields`` if given.

    Summaries come from the movie table, without a document being read.
    """
    if not fields or not set(fields) <= set(FILM_SUMMARY):
        docs = _documents(conn, "movie_doc", nums)
        if fields:
            docs = [{key: doc[key] for key in fields if key in doc} for doc in docs]
        return docs
    rows = _rows(conn, "movie", "id, title, imdb_rating", nums)
    return [{key: rows[num][key] for key in fields} for num in nums]


def _film_filters(query):
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


def _film_page(conn, selection, order, window, walk=False):
    """Return the row numbers of the films in ``window`` (offset, limit), in order.

    ``selection`` is the FTS5 query (or None), the sets and the conditions.
    """
    source, where, params = _film_source(*selection, walk)
    rows = conn.execute(
        f"SELECT m.num FROM {source} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, window.limit, window.offset],
    ).fetchall()
    return [row[0] for row in rows]


def _relevance_page(variants, window, page, count):
    """Return the row numbers of a ``window`` of text matches, most relevant first.

    The matches of every term as typed come first, then those that need a
    typo's variant of one. ``page(match, window)`` returns the row numbers of
    a window of one tier's FTS5 query in its ``bm25()`` order (ties on id),
    ``count(match)`` the size of a tier. Besides putting the fewest typos first,
    as search engines do, this ranks less: bm25 costs about half a microsecond
    a row, and the variants of a common word match many more films than the
    word itself (a quarter of the catalogue for ``return``, with ``turn``).
    """
    whole = _all_of(variants.values())
    tiers = [whole]
    typed = all(term == found[0] for term, found in variants.items())
    if typed and any(len(found) > 1 for found in variants.values()):
        exact = _all_of((term,) for term in variants)
        tiers = [exact, f"({whole}) NOT ({exact})"]
    nums, skip = [], window.offset
    for tier in tiers:
        rows = page(tier, Window(offset=skip, limit=window.limit - len(nums)))
        nums += rows
        if len(nums) == window.limit:
            break
        # The tier ends in this window, or (nothing of it here) before it.
        skip = 0 if rows else skip - count(tier)
    return nums


def _best_first(conn, index, match, window):
    """Return the row numbers of a ``window`` of ``match``es, best first, ties on id.

    Ranked by relevance alone, the query reads no row of the main table; the
    join that reads each match's id to break ties costs about as much as the
    ranking (32.6 against 18.8 ms for a word in 29,574 films). Ties are broken
    here instead, among the matches read: those up to the window's end and
    ``TIE_ROOM`` more, so that a tie across the end is read whole. A tie larger
    than that falls back to the query with the join.
    """
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
        ids = {num: row["id"] for num, row in _rows(conn, table, "id", tied).items()}
        rows.sort(key=lambda row: (row[1], ids.get(row[0], "")))
    return [num for num, _ in rows[window.offset : end]]


def _count_persons(conn, match):
    query = "SELECT count(*) FROM person_fts WHERE person_fts MATCH ?"
    return conn.execute(query, (match,)).fetchone()[0]


def _count_films(conn, match, sets, conditions):
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


def _walk_in_order(conn, total, query):
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


def _film_order(sort):
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


def _write_movie(conn, doc):
    """Replace the film ``doc`` in every movie table; return its terms."""
    conn.execute("DELETE FROM movie WHERE id = ?", (doc["id"],))
    title = doc.get("title") or ""
    num = conn.execute(
        "INSERT INTO movie (id, title_sort, imdb_rating, title) VALUES (?, ?, ?, ?)",
        (doc["id"], title.lower(), doc.get("imdb_rating"), doc.get("title")),
    ).lastrowid
    conn.execute("INSERT INTO movie_doc (num, doc) VALUES (?, ?)", (num, _dump(doc)))
    conn.executemany(
        "INSERT OR IGNORE INTO movie_genre (genre_id, movie_num) VALUES (?, ?)",
        [(genre["id"], num) for genre in doc.get("genres") or ()],
    )
    persons = doc.get("persons") or {}
    conn.executemany(
        "INSERT OR IGNORE INTO movie_person (person_id, role, movie_num)"
        " VALUES (?, ?, ?)",
        [
            (person["id"], role, num)
            for key, role in PERSON_ROLES
            for person in persons.get(key) or ()
        ],
    )
    columns = (
        _terms(title),
        _terms(doc.get("description")),
        _terms(
            *(doc.get("genre") or ()),
            *(doc.get("director") or ()),
            *(doc.get("actors_names") or ()),
            *(doc.get("writers_names") or ()),
        ),
    )
    conn.execute(
        "INSERT INTO movie_fts (rowid, title, description, names) VALUES (?, ?, ?, ?)",
        (num, *(" ".join(terms) for terms in columns)),
    )
    return [term for terms in columns for term in terms]


def _write_genre(conn, doc):
    """Replace the genre ``doc``; genres are not searched, so no terms."""
    conn.execute("DELETE FROM genre WHERE id = ?", (doc["id"],))
    conn.execute(
        "INSERT INTO genre (id, name_sort, film_count, doc) VALUES (?, ?, ?, ?)",
        (doc["id"], doc["name"].lower(), doc.get("film_count") or 0, _dump(doc)),
    )
    return ()


def _write_persons(conn, docs):
    """Replace the person ``docs`` and their searchable names; return their terms.

    Persons are the largest index, so they are written a batch per statement.
    """
    docs = list({doc["id"]: doc for doc in docs}.values())
    ids = json.dumps([doc["id"] for doc in docs])
    conn.execute(
        "DELETE FROM person WHERE id IN (SELECT value FROM json_each(?))", (ids,)
    )
    conn.executemany(
        "INSERT INTO person (id, doc) VALUES (?, ?)",
        [(doc["id"], _dump(doc)) for doc in docs],
    )
    nums = dict(
        conn.execute(
            "SELECT id, num FROM person WHERE id IN (SELECT value FROM json_each(?))",
            (ids,),
        ).fetchall()
    )
    names = [(nums[doc["id"]], _terms(doc.get("full_name"))) for doc in docs]
    conn.executemany(
        "INSERT INTO person_fts (rowid, full_name) VALUES (?, ?)",
        [(num, " ".join(terms)) for num, terms in names],
    )
    return [term for _, terms in names for term in terms]


def _one_by_one(write_one):
    """Make a batch writer of a function that writes one document."""

    def write(conn, docs):
        return [term for doc in docs for term in write_one(conn, doc)]

    return write


WRITERS = {
    MOVIES: _one_by_one(_write_movie),
    GENRES: _one_by_one(_write_genre),
    PERSONS: _write_persons,
}
