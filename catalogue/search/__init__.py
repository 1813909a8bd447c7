r"""One search interface, two backends: Elasticsearch and an embedded SQLite FTS5 index.

The rest of the service talks to :func:`get_search` (the reader the API uses),
:func:`get_indexer` (what the ETL and other writers use) and the types defined
here, never to a backend directly. Which backend runs is a matter of configuration:
``ELASTICSEARCH_URL`` set means Elasticsearch, unset means the embedded index.

Documents are plain dicts whose shape ``catalogue.search.documents`` writes and builds.

Search semantics both backends must share exactly (a contract test runs against both)
- Full text for films (`FilmQuery.text`): over title, description, genre names, director
  names, actors_names, writers_names. Analysis = `catalogue.search.analysis.analyse` (tokens
  by `\w+` with inner apostrophes, lowercase, ё→е, the explicit English+Russian stop
  lists in that module, then Snowball English then Snowball Russian stemming). EVERY
  analysed query term must match (AND), each in any of those fields; a term matches an
  indexed term that is equal or within `max_edits(term)` edits (Elasticsearch fuzziness
  AUTO: 0 for length<=2, 1 for 3–5, 2 for >5; transpositions count as one edit, i.e.
  OSA/Damerau distance). If the query has no terms left (all stop words / punctuation)
  nothing matches (total 0). Ranking is relevance (backend-specific scoring, title
  matches weighted higher, ties broken by id asc) unless `sort` is given: the films
  whose title the text is (`analysis.title_key`: case, punctuation and stop words
  aside) first, the better rated first, films without a rating last; then the title
  as typed, then titles whose words are one edit, then two, from a word typed
  that no film has (the embedded backend in strict tiers, Elasticsearch by boosts),
  then the terms as typed anywhere, then the other typo matches.
- Filters: `genre_ids` (all must be present in `genres[].id`), `any_genre_ids` (at least
  one), `ids` (only these film ids; an
  empty tuple matches nothing), `exclude_ids` (film ids to leave out),
  `person_id` with optional `role`
  (`actor`/`writer`/`director` -> `persons.actors[].id` etc.; without role: any of the
  three), `rating_min`/`rating_max` inclusive on imdb_rating (films with null rating
  never pass a rating filter).
- Sort: `query.sort` is a tuple of `Sort(field, descending)` with field in
  FILM_SORT_FIELDS (`id`, `title`, `imdb_rating`). `title` sorts case-insensitively: by
  `title.lower()` compared by code points (ES: keyword sub-field with a `lowercase`
  normalizer; SQLite: a stored lower-cased column with BINARY collation). `imdb_rating`:
  nulls LAST in both directions. After the given keys, ties ALWAYS break on `id`
  ascending. No text and no sort -> `id` ascending. Text without sort -> relevance, then
  id asc.
- Paging: `offset`, `limit`; `offset + limit` beyond `config["MAX_RESULT_WINDOW"]`
  (10,000, also the ES `index.max_result_window`) raises `ResultWindowExceeded` from
  both. `Page.total` is the exact total of matches (ES: `track_total_hits=True`).
- `fields`: when given (e.g. `FILM_SUMMARY`), items hold only those keys (the ones
  the document has).
- Genres: `list_genres(sort: Sort, offset, limit)` with sort field `name`
  (case-insensitive as above) or `film_count`, ties on id asc; total = number of genres.
- Persons: `search_persons(text, offset, limit)`: same analysis + fuzziness over
  `full_name`, every term must match; relevance order, ties on id asc.
- get_* return the stored document or None.
- Unreachable backend / timeout / 5xx -> raise `SearchUnavailable` (never a raw client
  exception). Embedded: a missing index file (ETL never ran) -> `SearchUnavailable` with
  a message saying to run `flask etl run`.
"""

import abc
from dataclasses import dataclass, field

from flask import current_app

MOVIES = "movies"
GENRES = "genres"
PERSONS = "persons"
INDICES = (MOVIES, GENRES, PERSONS)

ROLES = ("actor", "writer", "director")
# Sortable fields of films and genres; anything else is refused before a query.
FILM_SORT_FIELDS = ("id", "title", "imdb_rating")
GENRE_SORT_FIELDS = ("name", "film_count")
# The fields of a film in a list: what both APIs show of each film they list.
FILM_SUMMARY = ("id", "title", "imdb_rating")
# Longest search text accepted: every word costs a fuzzy expansion, so the API
# refuses longer text instead of letting one request run long.
MAX_QUERY_LENGTH = 200


class SearchError(Exception):
    """Base class of the errors a search backend raises."""


class SearchUnavailable(SearchError):
    """The search backend cannot be reached or did not answer in time."""


class SearchIndexDamaged(SearchUnavailable):
    """The index is damaged: no retry helps until it is rebuilt."""


class ResultWindowExceeded(SearchError):
    """The requested page lies beyond what the backend can page through.

    ``limit`` is the size of the page asked for, when it is known.
    """

    def __init__(self, message, limit=None):
        super().__init__(message)
        self.limit = limit


def check_window(offset, limit, max_result_window):
    """Raise ResultWindowExceeded if a page ends beyond ``max_result_window``."""
    if offset + limit > max_result_window:
        raise ResultWindowExceeded(
            f"offset + limit must not exceed {max_result_window}", limit=limit
        )


@dataclass(frozen=True)
class Sort:
    """One sort key: a whitelisted field and its direction."""

    field: str
    descending: bool = False


@dataclass(frozen=True)
class FilmQuery:
    """What to find among films; every part is optional.

    ``text`` is a full-text search (relevance order unless ``sort`` is given);
    ``genre_ids`` must all match, ``any_genre_ids`` at least one;
    ``ids`` keeps only the films with these ids (a user's collection, say),
    ``exclude_ids`` leaves these out; ``person_id`` with an optional ``role``
    limits to that person's films.
    Without text or sort, films come in id order. Ties always break on id.
    """

    text: str | None = None
    genre_ids: tuple = ()
    any_genre_ids: tuple = ()
    ids: tuple | None = None
    exclude_ids: tuple = ()
    person_id: str | None = None
    role: str | None = None
    rating_min: float | None = None
    rating_max: float | None = None
    sort: tuple = ()
    offset: int = 0
    limit: int = 50


@dataclass
class Page:
    """A page of documents and the total number of matches."""

    total: int
    items: list = field(default_factory=list)


class SearchReader(abc.ABC):
    """What the API reads: the live indices, through one backend."""

    @abc.abstractmethod
    def search_films(self, query, fields=None):
        """Return a Page of film documents, only ``fields`` of each if given."""

    @abc.abstractmethod
    def get_film(self, film_id):
        """Return one film document, or None."""

    @abc.abstractmethod
    def list_genres(self, sort, offset=0, limit=50):
        """Return a Page of genre documents in ``sort`` order (ties on id)."""

    @abc.abstractmethod
    def get_genre(self, genre_id):
        """Return one genre document, or None."""

    @abc.abstractmethod
    def search_persons(self, text, offset=0, limit=50):
        """Return a Page of person documents matching ``text``, best first."""

    @abc.abstractmethod
    def get_person(self, person_id):
        """Return one person document, or None."""

    @abc.abstractmethod
    def data_version(self):
        """Return the live indices' data version ("0" if none was ever set).

        Cached answers are keyed by it: the indexer sets a new one whenever the
        data changed, and every answer cached before becomes unreachable.
        """

    @abc.abstractmethod
    def ping(self):
        """Raise SearchUnavailable unless the backend answers."""

    def release(self):
        """Free what was held for the current request (nothing by default)."""

    @abc.abstractmethod
    def describe(self):
        """Name the target (backend and location, never credentials)."""


class SearchIndexer(abc.ABC):
    """What the ETL (and every other writer) manages: indices and their generations.

    Every method takes a ``generation``: ``None`` is the live indices; a name is
    that generation's fresh indices, which :meth:`publish` makes live in one
    atomic step, their data version with them.
    """

    @abc.abstractmethod
    def describe(self):
        """Name the target (backend and location, never credentials)."""

    @abc.abstractmethod
    def prepare(self, generation=None):
        """Create the indices of ``generation`` (or the live ones) if missing."""

    @abc.abstractmethod
    def write(self, index, documents, generation=None, version=None):
        """Insert or replace documents by id; return how many were written.

        With a ``version`` (a whole number), a document the index holds at a
        higher version is kept instead: of two writers racing, the newer
        state wins whichever writes last.
        """

    @abc.abstractmethod
    def remove(self, index, ids, generation=None, version=None):
        """Delete documents by id (missing ones are fine); return how many.

        With a ``version``, a document the index holds at a higher version stays.
        """

    def refresh(self, generation=None):
        """Make recent writes visible to readers (nothing to do by default)."""

    def release(self):
        """Free what is kept between writes and no longer of use (nothing by default)."""

    def write_changes(self, documents, removed, version, data_version):
        """Write and remove documents of several indices of the live generation.

        ``documents`` is ``{index: documents}``, ``removed`` ``{index: ids}``,
        each versioned by ``version``; once readers see them, the data version
        is ``data_version``. What one API write changed goes through here.
        """
        for index, docs in documents.items():
            if docs:
                self.write(index, docs, version=version)
        for index, ids in removed.items():
            if ids:
                self.remove(index, ids, version=version)
        self.refresh()
        self.set_data_version(data_version)

    @abc.abstractmethod
    def set_data_version(self, version, generation=None):
        """Record the data version readers key cached answers by."""

    @abc.abstractmethod
    def publish(self, generation):
        """Atomically make ``generation`` live and drop older generations."""

    @abc.abstractmethod
    def discard(self, generation):
        """Drop the indices of an unpublished ``generation``."""

    def merge(self):
        """Fold together what writes to the live indices left apart; return the steps.

        Each step is short; a backend that merges by itself does nothing
        (the default).
        """
        return 0

    def outdated(self):
        """Whether the live indices need a full load to reach this release's layout.

        None do by default: a layout that can be upgraded in place is upgraded
        by the next write.
        """
        return False

    @abc.abstractmethod
    def live_generation(self):
        """Return the generation that is live, or None before the first load."""

    @abc.abstractmethod
    def count(self, index, generation=None):
        """Return the number of documents in an index."""


def create_reader(config):
    """Build the reader of the backend the configuration asks for."""
    if config.get("ELASTICSEARCH_URL"):
        from catalogue.search.elastic import ElasticsearchReader

        return ElasticsearchReader.from_config(config)
    from catalogue.search.embedded import EmbeddedReader

    return EmbeddedReader.from_config(config)


def create_indexer(config, checkpointer=None):
    """Build the indexer of the backend the configuration asks for.

    An embedded index written with a ``checkpointer`` leaves it its checkpoints.
    """
    if config.get("ELASTICSEARCH_URL"):
        from catalogue.search.elastic import ElasticsearchIndexer

        return ElasticsearchIndexer.from_config(config)
    from catalogue.search.embedded import EmbeddedIndexer

    return EmbeddedIndexer.from_config(config, checkpointer)


def get_search():
    """Return the app's search reader, created once per process."""
    reader = current_app.extensions.get("search")
    if reader is None:
        reader = current_app.extensions["search"] = create_reader(current_app.config)
    return reader


def get_indexer():
    """Return the app's search indexer, created once per process."""
    indexer = current_app.extensions.get("search-indexer")
    if indexer is None:
        indexer = create_indexer(current_app.config)
        current_app.extensions["search-indexer"] = indexer
    return indexer


def close_search(exc=None):
    """Release what the reader holds for this request."""
    reader = current_app.extensions.get("search")
    if reader is not None:
        reader.release()


def init_app(app):
    """Release per-request search resources when the app context ends."""
    app.teardown_appcontext(close_search)
