"""The embedded search backend: SQLite FTS5 in files of its own.

For machines without Elasticsearch. The index lives behind
``EMBEDDED_SEARCH_PATH``, beside the catalogue database, and follows the
contract in ``catalogue.search``. The parts, a module each:

- ``layout``: the tables of a file, its numbered layout and its upgrades;
- ``files``: the generations, a file each, and the live link to one of them;
- ``connections``: the read connections of a process, one per request;
- ``caches``: what a process keeps per revision of the live file (vocabulary,
  genre bitsets, the film count);
- ``planning``: filters, sorts and text as SQL;
- ``ranking``: relevance in tiers, ties on id;
- ``writers``: documents into the tables.

Every file is in WAL mode: readers never wait on a writer, and a writer waits
for another only through ``catalogue.db.transaction``, cooperatively.
"""

import json
import time
from contextlib import closing, contextmanager
from functools import partial

from catalogue.db.sqlite import IdleConnections, transaction
from catalogue.search import (
    GENRES,
    MOVIES,
    PERSONS,
    Page,
    SearchError,
    SearchIndexer,
    SearchReader,
    SearchUnavailable,
    check_window,
)
from catalogue.search.analysis import analyse, title_key, words
from catalogue.search.embedded import growth, planning, ranking, versions
from catalogue.search.embedded.caches import RevisionCaches
from catalogue.search.embedded.connections import (
    ReadConnections,
    unavailable_on_failure,
)
from catalogue.search.embedded.files import IndexFiles
from catalogue.search.embedded.layout import (
    DOCUMENTS,
    LAYOUT,
    VOCABULARIES,
    meta,
    new_revision,
    open_for_reading,
    open_for_writing,
    set_meta,
    table,
)
from catalogue.search.embedded.planning import GENRE_ORDER, Window
from catalogue.search.embedded.writers import write_documents

__all__ = ["LAYOUT", "EmbeddedIndexer", "EmbeddedReader"]
PING = """
SELECT (SELECT count(*) FROM meta),
       (SELECT max(num) FROM movie),
       (SELECT length(doc) FROM movie_doc ORDER BY num DESC LIMIT 1),
       (SELECT count(*) FROM genre),
       (SELECT length(doc) FROM person ORDER BY num DESC LIMIT 1)
"""
# What the data version reads before any was set.
NO_DATA_VERSION = "0"
# Connections to the live file an indexer keeps between its writes: a create took
# 5.0-5.4 and 6.1-6.3 ms with them, 6.2-7.3 and 7.4-7.9 ms opening one each time
# (in process, two rounds of three alternating runs).
IDLE_WRITERS = 4
# Seconds between two checks that the live file those connections hold is live.
WRITERS_CHECK_SECONDS = 1.0
# The full-text tables, and the pages of segments one step of a merge writes at
# most: one step, its own transaction, holds the file's write lock for a few
# milliseconds.
FULL_TEXT = ("movie_fts", "person_fts")
MERGE_PAGES = 200


class EmbeddedReader(SearchReader):
    """Searches the live file; see the module docstring for its parts."""

    def __init__(self, path, max_result_window):
        self.files = IndexFiles(path)
        self.max_result_window = max_result_window
        self.connections = ReadConnections(self.files)
        self.caches = RevisionCaches()

    @classmethod
    def from_config(cls, config):
        """Build the reader from the app's settings."""
        return cls(config["EMBEDDED_SEARCH_PATH"], config["MAX_RESULT_WINDOW"])

    def search_films(self, query, fields=None):
        """Return a Page of film documents, only ``fields`` of each if given."""
        check_window(query.offset, query.limit, self.max_result_window)
        sets, conditions = planning.film_filters(query)
        order = planning.film_order(query.sort)
        with self.connections.reading() as conn:
            variants = match = None
            if query.text is not None:
                variants = self._expand(conn, MOVIES, query.text)
                corrections = self._corrections(conn, query.text)
                match = ranking.text_match(variants, corrections, column="title")
                if match is None:
                    return Page(total=0)
            total = self._count_films(conn, query, match, sets, conditions)
            if query.offset >= total:
                return Page(total=total)
            if match is not None and not order:
                key = title_key(query.text)
                titled = planning.titled(conn, key, sets, conditions) if key else []
                filtered = bool(sets or conditions)
                rest = planning.leaving_out(conditions, titled)

                def page(tier, window):
                    if not filtered:
                        return ranking.best_first(conn, MOVIES, tier, window, titled)
                    selection = (tier, sets, rest)
                    rank = f"{ranking.MOVIE_RANK}, m.id"
                    return planning.film_page(conn, selection, rank, window)

                def count(tier):
                    if not filtered:
                        whole = planning.count_films(conn, tier, (), ())
                        return whole - planning.count_among(conn, tier, titled)
                    return planning.count_films(conn, tier, sets, rest)

                tiers = ranking.tiers(variants, corrections, column="title")
                nums = ranking.relevance_page(tiers, query, page, count, titled)
            else:
                walk = (
                    not match
                    and bool(sets)
                    and planning.walk_in_order(conn, total, query)
                )
                selection = (match, sets, conditions)
                nums = planning.film_page(conn, selection, order or "m.id", query, walk)
            items = planning.films(conn, nums, fields)
        return Page(total=total, items=items)

    def get_film(self, film_id):
        """Return one film document, or None."""
        return self._get(MOVIES, film_id)

    def list_genres(self, sort, offset=0, limit=50):
        """Return a Page of genre documents in ``sort`` order (ties on id)."""
        check_window(offset, limit, self.max_result_window)
        order = GENRE_ORDER.get((sort.field, sort.descending))
        if order is None:
            raise ValueError(f"cannot sort genres by {sort.field!r}")
        with self.connections.reading() as conn:
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
        check_window(offset, limit, self.max_result_window)
        with self.connections.reading() as conn:
            variants = self._expand(conn, PERSONS, text)
            if not variants or not all(variants.values()):
                return Page(total=0)
            total = ranking.count_persons(conn, planning.all_of(variants.values()))
            if offset >= total:
                return Page(total=total)
            page = partial(ranking.best_first, conn, PERSONS)
            count = partial(ranking.count_persons, conn)
            tiers = ranking.tiers(variants)
            nums = ranking.relevance_page(tiers, Window(offset, limit), page, count)
            items = planning.documents(conn, "person", nums)
        return Page(total=total, items=items)

    def get_person(self, person_id):
        """Return one person document, or None."""
        return self._get(PERSONS, person_id)

    def data_version(self):
        """Return the live file's data version ("0" if none was ever set)."""
        with self.connections.reading() as conn:
            return meta(conn, "data_version") or NO_DATA_VERSION

    def ping(self):
        """Raise SearchUnavailable unless every table searches read answers.

        One row of each, and a full-text match: cheap, and it reads the pages
        at the root of each table, where a damaged file shows first.
        """
        with self.connections.reading() as conn:
            conn.execute(PING).fetchone()
            for index, (fts, _) in ranking.RANKINGS.items():
                row = conn.execute(
                    f"SELECT term FROM {VOCABULARIES[index]} LIMIT 1"
                ).fetchone()
                if row is not None:
                    conn.execute(
                        f"SELECT rowid FROM {fts} WHERE {fts} MATCH ? LIMIT 1",
                        (planning.all_of([[row[0]]]),),
                    ).fetchone()

    def release(self):
        """Give this request's read connection back to the idle ones, if opened."""
        self.connections.release()

    def describe(self):
        """Name the backend and its file."""
        return f"embedded:{self.files.path}"

    def _get(self, index, doc_id):
        with self.connections.reading() as conn:
            row = conn.execute(DOCUMENTS[index], (doc_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def _expand(self, conn, index, text):
        """Map each term of ``text`` to its indexed variants, closest first.

        A term may have none.
        """
        vocabulary = self.caches.vocabulary(conn, index)
        return {term: vocabulary.expand(term) for term in analyse(text)}

    def _corrections(self, conn, text):
        """Return, for one edit and for two, the terms of the words near each word.

        Only a text with a word that no film has is corrected; its other words
        stand as typed. Nothing when a word has no film word near it.
        """
        film_words = self.caches.words(conn)
        typed = words(text)
        if all(word in film_words for word in typed):
            return []
        corrections = []
        for edits in (1, 2):
            groups = []
            for word in typed:
                found = [word] if word in film_words else film_words.near(word, edits)
                if not found:
                    break
                groups.append(sorted({film_words.term(near) for near in found}))
            else:
                corrections.append(groups)
        return corrections

    def _count_films(self, conn, query, match, sets, conditions):
        """Count the films of a query, from what is cached where it can be."""
        if match is None and not sets and not conditions:
            return self.caches.film_count(conn)
        if _filters_only_genres(query):
            return self.caches.genre_films(conn).count(conn, query)
        return planning.count_films(conn, match, sets, conditions)


class EmbeddedIndexer(SearchIndexer):
    """Writes the generations of the index and makes one of them live."""

    def __init__(self, path, checkpointer=None):
        self.files = IndexFiles(path)
        self.checkpointer = checkpointer
        self._live_writers = None
        self._next_check = 0.0

    @classmethod
    def from_config(cls, config, checkpointer=None):
        """Build the indexer from the app's settings.

        With a ``checkpointer`` (``catalogue.db.Checkpointer``), writes to the live
        file leave their checkpoints to it.
        """
        return cls(config["EMBEDDED_SEARCH_PATH"], checkpointer)

    def describe(self):
        """Name the backend and its file."""
        return f"embedded:{self.files.path}"

    def prepare(self, generation=None):
        """Create the file of ``generation`` (or the live one) if missing."""
        with self._writing(generation, changes_data=False) as conn:
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', ?)",
                (generation,),
            )

    def write(self, index, documents, generation=None, version=None):
        """Insert or replace documents by id, in one transaction; return how many.

        With a ``version``, a document held at a higher one is kept.
        """
        documents = list(documents)
        with self._writing(generation) as conn:
            if version is not None:
                ids = versions.claim(conn, index, [d["id"] for d in documents], version)
                documents = [doc for doc in documents if doc["id"] in ids]
            write_documents(conn, index, documents)
        return len(documents)

    def remove(self, index, ids, generation=None, version=None):
        """Delete documents by id (missing ones are fine); return how many.

        With a ``version``, a document held at a higher one stays.
        """
        ids = list(ids)
        with self._writing(generation) as conn:
            if version is not None:
                ids = sorted(versions.claim(conn, index, ids, version))
            return conn.execute(
                f"DELETE FROM {table(index)}"
                " WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(ids),),
            ).rowcount

    def write_changes(self, documents, removed, version, data_version):
        """Write, remove and set the data version in one transaction of the live file.

        One commit and one new revision for all of it: readers rebuild their
        caches once per API write, and no checkpoint is forced (a write is
        searchable once it commits; SQLite checkpoints the WAL as it grows).
        """
        with self._writing(None) as conn:
            growth.keep_log(conn)
            for index, docs in documents.items():
                ids = versions.claim(conn, index, [doc["id"] for doc in docs], version)
                write_documents(conn, index, [doc for doc in docs if doc["id"] in ids])
            for index, gone in removed.items():
                ids = versions.claim(conn, index, gone, version)
                conn.execute(
                    f"DELETE FROM {table(index)}"
                    " WHERE id IN (SELECT value FROM json_each(?))",
                    (json.dumps(sorted(ids)),),
                )
            set_meta(conn, "data_version", data_version)

    def refresh(self, generation=None):
        """Fold the WAL into the file: a write is searchable once it commits."""
        path = self.files.writable(generation)
        with closing(open_for_writing(path, read=generation is None)) as conn:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def merge(self, pages=MERGE_PAGES):
        """Merge the segments of the live file's full-text tables into one each.

        Every write adds a segment, and a search reads each segment's posting
        lists: after incremental loads, twice the segments halve the searches
        a second until the next full load (which optimizes). Done in steps of
        at most ``pages`` pages, a transaction each, until a step finds
        nothing left to merge (FTS5 then changes fewer than two rows). The
        data does not change, and readers keep their caches. Return the steps
        that merged.
        """
        try:
            self.files.live_file()
        except SearchUnavailable:
            return 0
        steps = 0
        for fts in FULL_TEXT:
            while True:
                with self._writing(None, changes_data=False) as conn:
                    before = conn.total_changes
                    conn.execute(
                        f"INSERT INTO {fts} ({fts}, rank) VALUES ('merge', ?)",
                        (-pages,),
                    )
                    merged = conn.total_changes - before >= 2
                if not merged:
                    break
                steps += 1
        return steps

    def set_data_version(self, version, generation=None):
        """Record the data version in the file of ``generation`` (or the live one)."""
        with self._writing(generation, changes_data=False) as conn:
            set_meta(conn, "data_version", version)

    def publish(self, generation):
        """Compact ``generation``, point the live link at it, drop the others."""
        if generation is None:
            raise ValueError("only a named generation can be published")
        if not self.files.generation_path(generation).exists():
            raise SearchError(f"generation {generation!r} was never prepared")
        with self._writing(generation) as conn:
            set_meta(conn, "generation", generation)
            conn.execute("INSERT INTO movie_fts (movie_fts) VALUES ('optimize')")
            conn.execute("INSERT INTO person_fts (person_fts) VALUES ('optimize')")
            conn.execute("ANALYZE")
        path = self.files.generation_path(generation)
        with closing(open_for_writing(path)) as conn:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        self.files.publish(generation)

    def discard(self, generation):
        """Delete the file of an unpublished ``generation``."""
        if generation is None or generation == self.live_generation():
            raise SearchError(f"generation {generation} is live; publish another first")
        self.files.discard(generation)

    def live_generation(self):
        """Return the generation of the live file, or None before the first load.

        Of a file of any layout: the ETL asks before the write that upgrades it.
        """
        try:
            path = self.files.live_file()
        except SearchError:
            return None
        with (
            unavailable_on_failure(),
            closing(open_for_reading(path, any_layout=True)) as conn,
        ):
            return meta(conn, "generation")

    def count(self, index, generation=None):
        """Return the number of documents in an index of ``generation``."""
        if generation is None:
            path = self.files.live_file()
        else:
            path = self.files.generation_path(generation)
            if not path.exists():
                raise SearchError(f"generation {generation!r} was never prepared")
        with unavailable_on_failure(), closing(open_for_reading(path)) as conn:
            return conn.execute(f"SELECT count(*) FROM {table(index)}").fetchone()[0]

    @contextmanager
    def _writing(self, generation, changes_data=True):
        """Yield a connection in a write transaction on ``generation``'s file.

        A transaction that ``changes_data`` gives the file a new revision.
        """
        path = self.files.writable(generation)
        if generation is None:
            writers = self._writers_of(path)
            conn = writers.take()
        else:
            writers, conn = None, open_for_writing(path, read=False)
        try:
            with transaction(conn):
                yield conn
                if changes_data:
                    new_revision(conn)
        except BaseException:
            conn.close()
            raise
        if writers is None:
            conn.close()
        else:
            writers.give_back(conn)

    def release(self):
        """Close the connections kept to a live file that another has replaced.

        A full load publishes a new file and deletes the old one, whose disk
        space stays taken while a connection holds it: checked at the end of
        a request, at most once every WRITERS_CHECK_SECONDS, so it is freed
        without waiting for this process's next write.
        """
        writers, now = self._live_writers, time.monotonic()
        if writers is None or now < self._next_check:
            return
        self._next_check = now + WRITERS_CHECK_SECONDS
        try:
            live = self.files.live_file()
        except SearchUnavailable:
            live = None
        if live != writers.path:
            self._live_writers = None
            writers.close()

    def _writers_of(self, path):
        """Return the connections kept to the live file ``path``.

        Those kept to a file no longer live (a full load published another)
        are closed.
        """
        writers = self._live_writers
        if writers is None or writers.path != path:
            if writers is not None:
                writers.close()
            writers = self._live_writers = IdleConnections(
                path,
                size=IDLE_WRITERS,
                checkpointer=self.checkpointer,
                opener=open_for_writing,
            )
        return writers


def _filters_only_genres(query):
    """Whether a query filters by genres and by nothing but genres and ids."""
    return bool(query.genre_ids or query.any_genre_ids) and (
        query.text is None
        and query.person_id is None
        and query.rating_min is None
        and query.rating_max is None
    )
