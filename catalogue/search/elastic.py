"""The Elasticsearch backend: index definitions, queries, and aliased generations.

Each logical index (``{prefix}movies``, ``{prefix}genres``, ``{prefix}persons``,
and ``{prefix}meta`` with the data version) is an alias over one physical index
``{prefix}{name}_{generation}``. A full load fills a fresh generation and
:meth:`ElasticsearchIndexer.publish` moves all the aliases to it in one
``_aliases`` call, so readers never see a half-filled index.

Reads (:class:`ElasticsearchReader`) fail fast (no retries,
``ELASTICSEARCH_TIMEOUT``): a dead cluster costs a request one timeout, then
answers ``SearchUnavailable``. Writes (:class:`ElasticsearchIndexer`) retry, see
its docstring.
"""

import re
import threading
import urllib.parse
from contextlib import contextmanager, suppress

import elasticsearch
import tenacity
from elasticsearch import helpers

from catalogue.circuit import Circuit
from catalogue.search import (
    FILM_SORT_FIELDS,
    GENRE_SORT_FIELDS,
    GENRES,
    INDICES,
    MOVIES,
    PERSONS,
    Page,
    ResultWindowExceeded,
    SearchError,
    SearchIndexer,
    SearchReader,
    SearchUnavailable,
    check_window,
)
from catalogue.search.analysis import (
    CHAR_MAPPINGS,
    ENGLISH_STOP_WORDS,
    RUSSIAN_STOP_WORDS,
    title_key,
)
from catalogue.search.documents import PERSON_KEYS

# Beside the searched indices, each generation has one that holds its data
# version, so that the version goes live with the data, in the same alias swap.
META = "meta"
GENERATION_INDICES = (*INDICES, META)
DATA_VERSION_ID = "data"
NO_DATA_VERSION = "0"
ANALYZER = "catalogue"
WORDS_ANALYZER = "catalogue_words"
SORT_NORMALIZER = "sort_key"
# The generation that live indices get when they are created before any full load.
INITIAL_GENERATION = "initial"
# A bulk request of a few thousand films may take a while on a busy cluster.
WRITE_TIMEOUT = 120.0
# Bulk documents rejected with 429 are resent after 1, 2, 4, 8, 16 s.
BULK_RETRIES = 5
BULK_INITIAL_BACKOFF = 1.0
BULK_MAX_BACKOFF = 30.0
# A whole write that hit a connection error, timeout or 5xx is tried this many
# times, waiting 0.5, 1, 2, 4 s between tries: a blip is survived, a dead cluster
# is reported within seconds.
WRITE_ATTEMPTS = 5
WRITE_BACKOFF = 0.5
WRITE_MAX_BACKOFF = 8.0
# After a read timed out or found no cluster, reads answer at once for this long.
PAUSE_AFTER_UNREACHABLE = 5.0
WINDOW_TOO_LARGE = "Result window is too large"
INDEX_NOT_FOUND = "index_not_found_exception"
# A generation ends an index name: lower case, no separators Elasticsearch refuses.
GENERATION_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,99}")

ANALYSIS = {
    "char_filter": {
        # ``analyse`` folds these letters, and writes ’ as ' inside words.
        "fold_letters": {
            "type": "mapping",
            "mappings": [
                f"{source} => {target}"
                for source, target in {**CHAR_MAPPINGS, "’": "'"}.items()
            ],
        }
    },
    "filter": {
        "catalogue_stop": {
            "type": "stop",
            "stopwords": ENGLISH_STOP_WORDS + RUSSIAN_STOP_WORDS,
        },
        "english_snowball": {"type": "snowball", "language": "English"},
        "russian_snowball": {"type": "snowball", "language": "Russian"},
    },
    "analyzer": {
        ANALYZER: {
            "type": "custom",
            "char_filter": ["fold_letters"],
            "tokenizer": "standard",
            "filter": [
                "lowercase",
                "catalogue_stop",
                "english_snowball",
                "russian_snowball",
            ],
        },
        # The words as typed, unstemmed (``analysis.words``): for typo matches
        # of a title's words, since "runing" is one edit from "running" and
        # three from its term "run".
        WORDS_ANALYZER: {
            "type": "custom",
            "char_filter": ["fold_letters"],
            "tokenizer": "standard",
            "filter": ["lowercase", "catalogue_stop"],
        },
    },
    "normalizer": {SORT_NORMALIZER: {"type": "custom", "filter": ["lowercase"]}},
}

# The key of a film's title (``analysis.title_key``): a text that is a film's
# title finds it by a term. Made when a film is indexed, kept out of what reads
# return, so the documents stay as built.
TITLE_KEY = "title_key"
# The layout of the films' index, in its mapping's ``_meta``: 2 adds TITLE_KEY.
# A live index of an older layout gets the field before its first write, and
# the next ``flask etl run`` is a full one, which gives every film its key.
MOVIES_LAYOUT = 2

_KEYWORD = {"type": "keyword"}
_SEARCHABLE = {"type": "text", "analyzer": ANALYZER, "copy_to": "search_text"}
_SORTABLE_TEXT = {
    "type": "text",
    "analyzer": ANALYZER,
    "fields": {"sort": {"type": "keyword", "normalizer": SORT_NORMALIZER}},
}
_PERSON_REF = {"properties": {"id": _KEYWORD, "full_name": _KEYWORD}}

MAPPINGS = {
    MOVIES: {
        "dynamic": "strict",
        "_meta": {"layout": MOVIES_LAYOUT},
        "properties": {
            "id": _KEYWORD,
            TITLE_KEY: _KEYWORD,
            "title": {
                **_SORTABLE_TEXT,
                "fields": {
                    **_SORTABLE_TEXT["fields"],
                    "words": {"type": "text", "analyzer": WORDS_ANALYZER},
                },
                "copy_to": "search_text",
            },
            "description": _SEARCHABLE,
            "imdb_rating": {"type": "double"},
            "genre": _SEARCHABLE,
            "genres": {"properties": {"id": _KEYWORD, "name": _KEYWORD}},
            "director": _SEARCHABLE,
            "actors": {"properties": {"id": {"type": "long"}, "name": _KEYWORD}},
            "writers": {"properties": {"id": _KEYWORD, "name": _KEYWORD}},
            "actors_names": _SEARCHABLE,
            "writers_names": _SEARCHABLE,
            "persons": {
                "properties": {
                    "actors": _PERSON_REF,
                    "writers": _PERSON_REF,
                    "directors": _PERSON_REF,
                }
            },
            "search_text": {"type": "text", "analyzer": ANALYZER},
        },
    },
    GENRES: {
        "dynamic": "strict",
        "properties": {
            "id": _KEYWORD,
            "name": _SORTABLE_TEXT,
            "film_count": {"type": "integer"},
        },
    },
    PERSONS: {
        "dynamic": "strict",
        "properties": {
            "id": _KEYWORD,
            "full_name": _SORTABLE_TEXT,
            "films": {"properties": {"id": _KEYWORD, "roles": _KEYWORD}},
        },
    },
    META: {"dynamic": "strict", "properties": {"data_version": _KEYWORD}},
}

_FILM_SORT_KEYS = {"id": "id", "title": "title.sort", "imdb_rating": "imdb_rating"}
_GENRE_SORT_KEYS = {"name": "name.sort", "film_count": "film_count"}
_ROLE_FIELDS = {role: f"persons.{key}.id" for role, key in PERSON_KEYS.items()}
# How much more a match in the title counts than one elsewhere.
TITLE_BOOST = 2.0
# How much more the words as typed count: the title as a phrase, every word of it.
PHRASE_BOOST = 8.0
EXACT_BOOST = 4.0
# How much the title's words near those typed count (a typo of a title word):
# one edit away (AUTO's one edit from 3 letters, never two), then AUTO's two.
WORDS_BOOST = 3.0
ONE_EDIT = "AUTO:3,1000"
# The score of a film whose title the text is: above any other clauses can
# give, and its rating times RATING_WEIGHT on top, so that of several films
# of that title the better rated comes first: a tenth of a point (1,000) is
# more than the other clauses' scores of two films of one title differ by.
# Scores are 32-bit floats: at 1,100,000 they still tell apart 0.125.
TITLED_SCORE = 1_000_000.0
RATING_WEIGHT = 10_000.0


def index_settings(max_result_window):
    """Return the settings of every index: one shard, no replica, our analysis."""
    return {
        "number_of_shards": 1,
        "number_of_replicas": 0,
        "max_result_window": max_result_window,
        "analysis": ANALYSIS,
    }


class _Cluster:
    """The cluster, its clients and the names of our indices: what both sides share."""

    def __init__(
        self, url, prefix="", *, timeout=5.0, maxsize=100, max_result_window=10_000
    ):
        self.url = url
        self.prefix = prefix
        self.timeout = timeout
        self.maxsize = maxsize
        self.max_result_window = max_result_window
        self._clients = {}
        self._lock = threading.Lock()

    @staticmethod
    def settings(config):
        """Return what both sides take from the app's settings."""
        return {
            "url": config["ELASTICSEARCH_URL"],
            "prefix": config.get("ELASTICSEARCH_INDEX_PREFIX") or "",
            "timeout": config["ELASTICSEARCH_TIMEOUT"],
            "maxsize": config["ELASTICSEARCH_MAXSIZE"],
            "max_result_window": config["MAX_RESULT_WINDOW"],
        }

    # Clients ---------------------------------------------------------------

    @property
    def reader(self):
        """The client of the read path: a big pool, one short try per request."""
        return self._client(
            "read",
            request_timeout=self.timeout,
            connections_per_node=self.maxsize,
            max_retries=0,
            retry_on_timeout=False,
        )

    @property
    def writer(self):
        """The client of the ETL: a long timeout; retries are done by ``_retrying``."""
        return self._client(
            "write",
            request_timeout=WRITE_TIMEOUT,
            max_retries=0,
            retry_on_timeout=False,
        )

    def _client(self, role, **options):
        client = self._clients.get(role)
        if client is None:
            with self._lock:
                client = self._clients.get(role)
                if client is None:
                    client = elasticsearch.Elasticsearch(self.url, **options)
                    self._clients[role] = client
        return client

    def describe(self):
        """Name the cluster and prefix, without credentials."""
        parts = urllib.parse.urlsplit(self.url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        if parts.port:
            host = f"{host}:{parts.port}"
        path = parts.path.rstrip("/")
        return f"elasticsearch:{parts.scheme}://{host}{path}/{self.prefix}"

    # Names -------------------------------------------------------------------

    def alias(self, index):
        """Return the alias readers use for a logical index."""
        _check_index(index)
        return f"{self.prefix}{index}"

    def physical(self, index, generation):
        """Return the physical index of ``index`` in ``generation``."""
        if not GENERATION_NAME.fullmatch(generation):
            raise ValueError(f"invalid generation name {generation!r}")
        return f"{self.alias(index)}_{generation}"

    def _target(self, index, generation):
        if generation is None:
            return self.alias(index)
        return self.physical(index, generation)


class ElasticsearchReader(_Cluster, SearchReader):
    """Searches the live indices: fail fast, one short try per request.

    A cluster that hangs or refuses connections opens the reader's circuit
    (``catalogue.circuit``): for ``PAUSE_AFTER_UNREACHABLE`` seconds requests answer
    SearchUnavailable at once instead of each waiting the timeout, then one
    request at a time probes.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.circuit = Circuit(PAUSE_AFTER_UNREACHABLE)

    @classmethod
    def from_config(cls, config):
        """Build the reader from the app's settings; nothing is contacted yet."""
        return cls(**cls.settings(config))

    def search_films(self, query, fields=None):
        """Return a Page of films matching ``query`` (see the search contract)."""
        check_window(query.offset, query.limit, self.max_result_window)
        must, should = [], []
        if query.text is not None:
            # Every term within AUTO edits anywhere, or every word within AUTO
            # edits of a title word: "braave" is one edit from "brave", and
            # its term "braav" two from "brave".
            words = _near_words(query.text, "AUTO", 0.0)
            text = [_full_text("search_text", query.text), words]
            must.append({"bool": {"should": text, "minimum_should_match": 1}})
            should = _relevance(query.text)
        return self._search(
            MOVIES,
            {"bool": {"must": must, "should": should, "filter": _filters(query)}},
            _film_sort(query),
            query.offset,
            query.limit,
            fields,
        )

    def get_film(self, film_id):
        """Return the film document, or None."""
        return self._get(MOVIES, film_id)

    def list_genres(self, sort, offset=0, limit=50):
        """Return a Page of genres in ``sort`` order, ties on id."""
        if sort.field not in GENRE_SORT_FIELDS:
            raise ValueError(f"cannot sort genres by {sort.field!r}")
        check_window(offset, limit, self.max_result_window)
        order = [_order(_GENRE_SORT_KEYS[sort.field], sort.descending), _ID_ASC]
        return self._search(GENRES, {"match_all": {}}, order, offset, limit)

    def get_genre(self, genre_id):
        """Return the genre document, or None."""
        return self._get(GENRES, genre_id)

    def search_persons(self, text, offset=0, limit=50):
        """Return a Page of persons whose name matches ``text``, best first."""
        check_window(offset, limit, self.max_result_window)
        order = [{"_score": {"order": "desc"}}, _ID_ASC]
        return self._search(
            PERSONS, _full_text("full_name", text), order, offset, limit
        )

    def get_person(self, person_id):
        """Return the person document, or None."""
        return self._get(PERSONS, person_id)

    def data_version(self):
        """Return the live data version ("0" if none was ever set)."""
        document = self._get(META, DATA_VERSION_ID)
        return NO_DATA_VERSION if document is None else document["data_version"]

    @contextmanager
    def _guarded(self):
        """Ask the cluster through the circuit; SearchError as ``_translated``."""
        if not self.circuit.allow():
            raise SearchUnavailable(
                "Elasticsearch did not answer a moment ago; not asked again yet"
            )
        try:
            with _translated():
                yield
        except SearchUnavailable as exc:
            if _unreachable(exc):
                self.circuit.failed()
            else:
                self.circuit.settled()
            raise
        except BaseException:
            self.circuit.settled()
            raise
        self.circuit.succeeded()

    def ping(self):
        """Raise SearchUnavailable unless every live index exists and answers."""
        aliases = ",".join(self.alias(index) for index in GENERATION_INDICES)
        with self._guarded():
            self.reader.count(index=aliases)

    def _search(self, index, query, sort, offset, limit, fields=None):
        options = {"source_includes": list(fields)} if fields else {}
        options["source_excludes"] = [TITLE_KEY]
        with self._guarded():
            response = self.reader.search(
                index=self.alias(index),
                query=query,
                sort=sort,
                from_=offset,
                size=limit,
                track_total_hits=True,
                **options,
            )
        hits = response["hits"]
        return Page(
            total=hits["total"]["value"],
            items=[hit["_source"] for hit in hits["hits"]],
        )

    def _get(self, index, document_id):
        with self._guarded():
            try:
                response = self.reader.get(
                    index=self.alias(index),
                    id=document_id,
                    source_excludes=[TITLE_KEY],
                )
            except elasticsearch.NotFoundError as exc:
                if _error_type(exc) == INDEX_NOT_FOUND:
                    raise
                return None
        return response["_source"]


class ElasticsearchIndexer(_Cluster, SearchIndexer):
    """Writes generations of indices and moves the aliases to one of them.

    Bulk requests retry rejected (429) documents with backoff, and a whole
    write is retried on connection errors, timeouts and 5xx before giving up
    with SearchUnavailable.
    """

    def __init__(
        self,
        url,
        prefix="",
        *,
        batch_size=2_000,
        write_attempts=WRITE_ATTEMPTS,
        write_backoff=WRITE_BACKOFF,
        bulk_retries=BULK_RETRIES,
        bulk_backoff=BULK_INITIAL_BACKOFF,
        **options,
    ):
        super().__init__(url, prefix, **options)
        self.batch_size = batch_size
        self.write_attempts = write_attempts
        self.write_backoff = write_backoff
        self.bulk_retries = bulk_retries
        self.bulk_backoff = bulk_backoff
        self._live_upgraded = False

    @classmethod
    def from_config(cls, config):
        """Build the indexer from the app's settings; nothing is contacted yet."""
        return cls(
            **cls.settings(config),
            batch_size=config["ETL_BATCH_SIZE"],
            write_attempts=config["ELASTICSEARCH_WRITE_ATTEMPTS"],
            write_backoff=config["ELASTICSEARCH_WRITE_BACKOFF"],
        )

    def prepare(self, generation=None):
        """Create ``generation``'s indices, or make sure live indices exist."""
        if generation is not None:
            self._retrying(self._create_indices, generation)
        else:
            self._retrying(self._ensure_live)

    def write(self, index, documents, generation=None, version=None):
        """Index ``documents`` by id (replacing any older version); return how many.

        A ``version`` is Elasticsearch's external version (``external_gte``):
        a document held at a higher one is kept, its conflict (409) ignored.
        """
        target = self._target(index, generation)
        actions = [
            {
                "_op_type": "index",
                "_index": target,
                "_id": doc["id"],
                "_source": _indexed(index, doc),
                **_versioned(version),
            }
            for doc in documents
        ]
        if actions:
            if generation is None:
                self._upgrade_live()
            self._retrying(self._bulk, actions, ignore_status=(409,) if version else ())
        return len(actions)

    def remove(self, index, ids, generation=None, version=None):
        """Delete documents by id (missing ones are fine); return how many existed."""
        target = self._target(index, generation)
        actions = [
            {
                "_op_type": "delete",
                "_index": target,
                "_id": document_id,
                **_versioned(version),
            }
            for document_id in ids
        ]
        if not actions:
            return 0
        results = self._retrying(self._bulk, actions, ignore_status=(404, 409))
        return sum(1 for result in results if result["delete"]["status"] < 300)

    def write_changes(self, documents, removed, version, data_version):
        """Index and delete across the live indices in one bulk, then refresh.

        Every action carries ``version`` as its external version; a conflict
        (a newer version held) is no error. The data version is set last, so a
        reader that keys its cache by it already sees the documents.
        """
        actions = [
            {
                "_op_type": "index",
                "_index": self.alias(index),
                "_id": doc["id"],
                "_source": _indexed(index, doc),
                **_versioned(version),
            }
            for index, docs in documents.items()
            for doc in docs
        ] + [
            {
                "_op_type": "delete",
                "_index": self.alias(index),
                "_id": document_id,
                **_versioned(version),
            }
            for index, ids in removed.items()
            for document_id in ids
        ]
        if actions:
            self._upgrade_live()
            self._retrying(self._bulk, actions, ignore_status=(404, 409))
        self.refresh()
        self.set_data_version(data_version)

    def refresh(self, generation=None):
        """Make recent writes to live or ``generation``'s indices searchable."""
        targets = [self._target(index, generation) for index in GENERATION_INDICES]
        self._retrying(self._refresh, targets)

    def set_data_version(self, version, generation=None):
        """Record the data version in ``generation``'s indices (or the live ones)."""
        self._retrying(
            self.writer.index,
            index=self._target(META, generation),
            id=DATA_VERSION_ID,
            document={"data_version": version},
            refresh=True,
        )

    def publish(self, generation):
        """Point every alias at ``generation`` in one step, then drop older ones."""
        self._retrying(self._publish, generation)

    def discard(self, generation):
        """Drop the indices of an unpublished ``generation``."""
        if generation == self.live_generation():
            raise SearchError(f"generation {generation} is live; publish another first")
        names = [self.physical(index, generation) for index in GENERATION_INDICES]
        self._retrying(self._delete_indices, names)

    def outdated(self):
        """Whether the live films' index is of an older layout (MOVIES_LAYOUT)."""
        with _translated():
            try:
                response = self.reader.indices.get_mapping(index=self.alias(MOVIES))
            except elasticsearch.NotFoundError:
                return False
        return any(
            body["mappings"].get("_meta", {}).get("layout", 1) < MOVIES_LAYOUT
            for body in response.body.values()
        )

    def live_generation(self):
        """Return the generation the aliases point at, or None before any load."""
        alias = self.alias(MOVIES)
        with _translated():
            try:
                response = self.reader.indices.get_alias(name=alias)
            except elasticsearch.NotFoundError:
                return None
        names = sorted(response.body)
        if not names:
            return None
        return names[-1].removeprefix(f"{alias}_")

    def count(self, index, generation=None):
        """Return the number of documents in the live or ``generation``'s index."""
        with _translated():
            try:
                response = self.reader.count(index=self._target(index, generation))
            except elasticsearch.NotFoundError as exc:
                if generation is None or _error_type(exc) != INDEX_NOT_FOUND:
                    raise
                raise _never_prepared(generation) from None
        return response["count"]

    def _retrying(self, operation, *args, **kwargs):
        """Run a write-path ``operation``, retrying transient failures with backoff."""
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(_is_transient),
            wait=tenacity.wait_exponential(
                multiplier=self.write_backoff, max=WRITE_MAX_BACKOFF
            ),
            stop=tenacity.stop_after_attempt(self.write_attempts),
            reraise=True,
        )
        try:
            with _translated():
                return retrying(operation, *args, **kwargs)
        except SearchUnavailable as exc:
            attempts = retrying.statistics.get("attempt_number", 1)
            raise SearchUnavailable(f"{exc} (after {attempts} attempts)") from exc

    def _bulk(self, actions, ignore_status=()):
        try:
            return [
                info
                for _, info in helpers.streaming_bulk(
                    self.writer,
                    actions,
                    chunk_size=self.batch_size,
                    max_retries=self.bulk_retries,
                    initial_backoff=self.bulk_backoff,
                    max_backoff=BULK_MAX_BACKOFF,
                    raise_on_error=True,
                    ignore_status=ignore_status,
                )
            ]
        except helpers.BulkIndexError as exc:
            statuses = {next(iter(error.values()))["status"] for error in exc.errors}
            reason = next(iter(exc.errors[0].values())).get("error")
            message = f"{len(exc.errors)} documents rejected, e.g. {reason}"
            if all(status == 429 or status >= 500 for status in statuses):
                raise SearchUnavailable(message) from None
            raise SearchError(message) from None

    def _create_indices(self, generation):
        for index in GENERATION_INDICES:
            self._create_index(self.physical(index, generation), index)

    def _create_index(self, name, index):
        try:
            self.writer.indices.create(
                index=name,
                settings=index_settings(self.max_result_window),
                mappings=MAPPINGS[index],
            )
        except elasticsearch.BadRequestError as exc:
            # A resumed full load continues into the indices it created before.
            if _error_type(exc) != "resource_already_exists_exception":
                raise

    def _ensure_live(self):
        actions = []
        for index in GENERATION_INDICES:
            alias = self.alias(index)
            if not self.writer.indices.exists_alias(name=alias):
                name = self.physical(index, INITIAL_GENERATION)
                self._create_index(name, index)
                actions.append({"add": {"index": name, "alias": alias}})
        if actions:
            self.writer.indices.update_aliases(actions=actions)

    def _upgrade_live(self):
        """Give a live films' index of an older layout the fields writes now fill.

        Once per indexer: a field added to a mapping stays.
        """
        if not self._live_upgraded:
            self._retrying(self._add_fields)
            self._live_upgraded = True

    def _add_fields(self):
        fields = {TITLE_KEY: MAPPINGS[MOVIES]["properties"][TITLE_KEY]}
        # Nothing live yet: the index made for it will have the fields.
        with suppress(elasticsearch.NotFoundError):
            self.writer.indices.put_mapping(index=self.alias(MOVIES), properties=fields)

    def _refresh(self, targets):
        self.writer.indices.refresh(index=targets)

    def _publish(self, generation):
        fresh = [self.physical(index, generation) for index in GENERATION_INDICES]
        existing = self._generations()
        if any(name not in existing for name in fresh):
            raise _never_prepared(generation)
        self.writer.indices.refresh(index=fresh)
        actions = []
        for index, name in zip(GENERATION_INDICES, fresh, strict=True):
            alias = self.alias(index)
            holders = [n for n, a in existing.items() if alias in a and n != name]
            actions += [{"remove": {"index": n, "alias": alias}} for n in holders]
            if alias not in existing.get(name, ()):
                actions.append({"add": {"index": name, "alias": alias}})
        if actions:
            self.writer.indices.update_aliases(actions=actions)
        older = [name for name in existing if name not in fresh]
        if older:
            self._delete_indices(older)

    def _generations(self):
        """Return ``{physical index: its aliases}`` for every generation we own."""
        patterns = [f"{self.alias(index)}_*" for index in GENERATION_INDICES]
        response = self.writer.indices.get_alias(
            index=patterns, allow_no_indices=True, ignore_unavailable=True
        )
        return {name: set(body["aliases"]) for name, body in response.body.items()}

    def _delete_indices(self, names):
        self.writer.indices.delete(index=names, ignore_unavailable=True)


_ID_ASC = {"id": {"order": "asc"}}


def _versioned(version):
    """Return the bulk action fields of an external ``version``, if any."""
    if version is None:
        return {}
    return {"version": version, "version_type": "external_gte"}


def _unreachable(error):
    """Whether a SearchUnavailable came from a connection that failed or timed out."""
    return isinstance(error.__cause__, elasticsearch.TransportError)


def _relevance(text):
    """Return the clauses that rank matches: words as typed above typo matches.

    A film whose title the text is (``analysis.title_key``) comes first, the
    better rated first among several (see ``_titled``). The title as a phrase
    counts most of the rest, then every word as typed in the title,
    then the title's words near the words typed (one edit away before two),
    then every word as typed
    anywhere, then the title's typo matches of the terms: a search for a
    film's title puts that film before one whose words are near misses, and
    "runing" puts "Running" before a film of "runes" (the term of both is
    "rune") or of "June".
    """
    clauses = [] if not title_key(text) else [_titled(title_key(text))]
    return [
        *clauses,
        {"match_phrase": {"title": {"query": text, "boost": PHRASE_BOOST}}},
        {"match": {"title": {"query": text, "operator": "and", "boost": EXACT_BOOST}}},
        _near_words(text, ONE_EDIT, WORDS_BOOST),
        _near_words(text, "AUTO", WORDS_BOOST / 2),
        {"match": {"search_text": {"query": text, "operator": "and", "boost": 1.0}}},
        {
            "match": {
                "title": {"query": text, "fuzziness": "AUTO", "boost": TITLE_BOOST}
            }
        },
    ]


def _titled(key):
    """Score the films of the title ``key`` TITLED_SCORE plus their rating's share."""
    rating = {"field": "imdb_rating", "factor": RATING_WEIGHT, "missing": 0}
    return {
        "function_score": {
            "query": {"term": {TITLE_KEY: key}},
            "functions": [{"weight": TITLED_SCORE}, {"field_value_factor": rating}],
            "score_mode": "sum",
            "boost_mode": "replace",
        }
    }


def _indexed(index, doc):
    """Return what is indexed of ``doc``: a film with the key of its title."""
    if index != MOVIES:
        return doc
    return {**doc, TITLE_KEY: title_key(doc.get("title") or "")}


def _near_words(text, fuzziness, boost):
    """Match the title's words (unstemmed) within ``fuzziness`` of every word typed."""
    return {
        "match": {
            "title.words": {
                "query": text,
                "operator": "and",
                "fuzziness": fuzziness,
                "boost": boost,
            }
        }
    }


def _check_index(index):
    if index not in GENERATION_INDICES:
        raise ValueError(f"unknown index {index!r}")


def _order(field, descending):
    return {field: {"order": "desc" if descending else "asc"}}


def _full_text(field, text):
    """Every analysed term of ``text`` must match, each within AUTO edits."""
    return {
        "match": {field: {"query": text or "", "operator": "and", "fuzziness": "AUTO"}}
    }


def _filters(query):
    filters = [{"term": {"genres.id": genre_id}} for genre_id in query.genre_ids]
    if query.any_genre_ids:
        filters.append({"terms": {"genres.id": list(query.any_genre_ids)}})
    if query.ids is not None:
        filters.append({"ids": {"values": list(query.ids)}})
    if query.exclude_ids:
        filters.append({"bool": {"must_not": {"ids": {"values": query.exclude_ids}}}})
    if query.person_id is not None:
        if query.role is not None:
            if query.role not in _ROLE_FIELDS:
                raise ValueError(f"unknown role {query.role!r}")
            filters.append({"term": {_ROLE_FIELDS[query.role]: query.person_id}})
        else:
            filters.append(
                {
                    "bool": {
                        "should": [
                            {"term": {field: query.person_id}}
                            for field in _ROLE_FIELDS.values()
                        ],
                        "minimum_should_match": 1,
                    }
                }
            )
    rating = {}
    if query.rating_min is not None:
        rating["gte"] = query.rating_min
    if query.rating_max is not None:
        rating["lte"] = query.rating_max
    if rating:
        filters.append({"range": {"imdb_rating": rating}})
    return filters


def _film_sort(query):
    if not query.sort:
        if query.text is not None:
            return [{"_score": {"order": "desc"}}, _ID_ASC]
        return [_ID_ASC]
    order = []
    for key in query.sort:
        if key.field not in FILM_SORT_FIELDS:
            raise ValueError(f"cannot sort films by {key.field!r}")
        clause = _order(_FILM_SORT_KEYS[key.field], key.descending)
        if key.field == "imdb_rating":
            clause[key.field]["missing"] = "_last"
        order.append(clause)
    if all(key.field != "id" for key in query.sort):
        order.append(_ID_ASC)
    return order


def _never_prepared(generation):
    return SearchError(f"generation {generation!r} was never prepared")


def _error_type(exc):
    """Return the ``error.type`` of an Elasticsearch error response, if any."""
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    return error.get("type") if isinstance(error, dict) else None


def _is_transient(exc):
    """Tell whether a write is worth trying again: connection errors, timeouts, 5xx."""
    if isinstance(exc, elasticsearch.ApiError):
        return exc.status_code >= 500
    return isinstance(exc, elasticsearch.TransportError)


@contextmanager
def _translated():
    """Turn client exceptions into the SearchError family."""
    try:
        yield
    except elasticsearch.ApiError as exc:
        status = exc.status_code
        if status == 429 or status >= 500:
            raise SearchUnavailable(f"Elasticsearch answered {status}: {exc}") from exc
        if status == 400 and WINDOW_TOO_LARGE in str(exc.body):
            raise ResultWindowExceeded(WINDOW_TOO_LARGE) from exc
        if status == 404 and _error_type(exc) == INDEX_NOT_FOUND:
            raise SearchUnavailable(
                "the search index does not exist yet: run flask etl run"
            ) from exc
        raise SearchError(
            f"Elasticsearch refused the request ({status}): {exc}"
        ) from exc
    except elasticsearch.TransportError as exc:
        raise SearchUnavailable(
            f"Elasticsearch unreachable: {type(exc).__name__}: {exc}"
        ) from exc
