"""What only the Elasticsearch backend has: aliases, its analyzer, its failure modes.

The behaviour both backends share is in ``test_contract.py``; these tests talk to
the cluster of ``elasticsearch_url`` (osmem unless ``--elasticsearch-url`` is
given) and put :class:`CompatProxy` in front of it to inject failures.
"""

import itertools
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from catalogue.config import from_environment
from catalogue.search import (
    GENRES,
    MOVIES,
    PERSONS,
    FilmQuery,
    ResultWindowExceeded,
    SearchError,
    SearchUnavailable,
    Sort,
)
from catalogue.search.analysis import analyse
from catalogue.search.elastic import (
    ANALYSIS,
    ANALYZER,
    GENERATION_INDICES,
    INITIAL_GENERATION,
    MAPPINGS,
    PAUSE_AFTER_UNREACHABLE,
    TITLE_KEY,
    ElasticsearchIndexer,
    ElasticsearchReader,
    index_settings,
)
from tests.documents import film
from tests.fixtures.elasticsearch import CLOSE, CompatProxy, drop_indices
from tests.waiting import wait_until

CLOSED_PORT_URL = "http://127.0.0.1:9"
REJECTED = (
    429,
    {
        "error": {
            "type": "es_rejected_execution_exception",
            "reason": "rejected execution of bulk (queue capacity 200)",
        },
        "status": 429,
    },
)
UNAVAILABLE = (
    503,
    {"error": {"type": "cluster_block_exception", "reason": "busy"}, "status": 503},
)


def movies(count, start=0):
    """``count`` movie documents with ids ``tt0000000``, ``tt0000001``, ..."""
    return [film(f"tt{n:07d}", f"Film {n}") for n in range(start, start + count)]


class Faults:
    """An intercept for CompatProxy: canned answers to requests whose path matches.

    ``answers`` is consumed one per matching request; when it runs out, requests
    are forwarded. ``seen`` counts the matching requests.
    """

    def __init__(self, path_part, answers=()):
        self.path_part = path_part
        self.answers = iter(answers)
        self.seen = 0
        self._lock = threading.Lock()

    def __call__(self, method, path):
        if self.path_part not in path:
            return None
        with self._lock:
            self.seen += 1
            return next(self.answers, None)


@pytest.fixture
def prefix(elasticsearch_url):
    """An index prefix of this test's own; its indices are dropped afterwards."""
    name = f"t{uuid.uuid4().hex[:12]}_"
    yield name
    drop_indices(elasticsearch_url, name)


@pytest.fixture
def make_reader(elasticsearch_url, prefix):
    """Build readers on this test's prefix."""

    def make(url=elasticsearch_url, **options):
        return ElasticsearchReader(url, prefix, **options)

    return make


@pytest.fixture
def make_indexer(elasticsearch_url, prefix):
    """Build indexers on this test's prefix, with short backoffs for the tests."""

    def make(url=elasticsearch_url, **options):
        options = {"write_backoff": 0.01, "bulk_backoff": 0.01, **options}
        return ElasticsearchIndexer(url, prefix, **options)

    return make


@pytest.fixture
def indexer(make_indexer):
    """An indexer whose live indices exist, empty (Elasticsearch only, here)."""
    indexer = make_indexer()
    indexer.prepare()
    return indexer


@pytest.fixture
def reader(make_reader, indexer):
    """A reader of the live indices ``indexer`` made."""
    return make_reader()


@pytest.fixture
def proxy_to(elasticsearch_url):
    """Start a CompatProxy in front of the cluster with a given intercept."""
    proxies = []

    def start(intercept):
        try:
            proxy = CompatProxy(elasticsearch_url, intercept=intercept)
        except ValueError as exc:
            pytest.skip(f"failure injection needs an http:// cluster: {exc}")
        proxies.append(proxy.start())
        return proxy.url

    yield start
    for proxy in proxies:
        proxy.close()


def _aliases(cluster):
    """Return ``{alias: [physical indices]}`` for the aliases of a generation."""
    names = [cluster.alias(index) for index in GENERATION_INDICES]
    body = cluster.reader.indices.get_alias(name=names).body
    found = {name: [] for name in names}
    for physical, entry in body.items():
        for alias in entry["aliases"]:
            found[alias].append(physical)
    return found


def _physical_indices(cluster):
    """Return the names of every index on the cluster's prefix, sorted."""
    body = cluster.reader.indices.get(index=f"{cluster.prefix}*").body
    return sorted(body)


# Configuration -------------------------------------------------------------


def test_from_config_takes_the_settings_and_opens_nothing():
    config = {
        **from_environment(),
        "ELASTICSEARCH_URL": CLOSED_PORT_URL,
        "ELASTICSEARCH_INDEX_PREFIX": "cat_",
        "ELASTICSEARCH_TIMEOUT": 1.5,
        "ELASTICSEARCH_MAXSIZE": 250,
        "ELASTICSEARCH_WRITE_ATTEMPTS": 7,
        "ELASTICSEARCH_WRITE_BACKOFF": 0.25,
        "ETL_BATCH_SIZE": 500,
    }

    reader = ElasticsearchReader.from_config(config)
    indexer = ElasticsearchIndexer.from_config(config)

    for cluster in (reader, indexer):
        assert cluster.describe() == "elasticsearch:http://127.0.0.1:9/cat_"
        assert (cluster.timeout, cluster.max_result_window) == (1.5, 10_000)
    (node,) = reader.reader.transport.node_pool.all()
    assert (node.config.port, node.config.connections_per_node) == (9, 250)
    settings = (indexer.write_attempts, indexer.write_backoff, indexer.batch_size)
    assert settings == (7, 0.25, 500)
    (node,) = indexer.writer.transport.node_pool.all()
    assert node.config.port == 9


@pytest.mark.parametrize("cluster_class", [ElasticsearchReader, ElasticsearchIndexer])
def test_describe_leaves_credentials_out(cluster_class):
    cluster = cluster_class("https://elastic:s3cret@search.internal:9243", "p_")

    assert cluster.describe() == "elasticsearch:https://search.internal:9243/p_"


# Index definitions ---------------------------------------------------------


ENGLISH_WORDS = [
    "running",
    "Runs",
    "flies",
    "generously",
    "Studies",
    "Schindler's",
    "Schindler’s",
    "the",
    "Wars",
    "Hope",
    "O'Bannon",
]
RUSSIAN_WORDS = [
    "звёздные",
    "Звездные",
    "ЁЛКА",
    "войны",
    "Москвы",
    "прекрасная",
    "приключения",
    "и",
    "это",
    "её",  # a stop word once ё is folded
    "ещё",
]
TEXTS = [*ENGLISH_WORDS, *RUSSIAN_WORDS, "Star Wars: новая надежда"]


@pytest.mark.parametrize("text", TEXTS)
def test_analyzer_gives_the_terms_of_analyse(reader, text):
    tokens = reader.reader.indices.analyze(
        index=reader.alias(MOVIES), analyzer=ANALYZER, text=text
    )["tokens"]

    assert [token["token"] for token in tokens] == analyse(text)


@pytest.mark.parametrize("text", TEXTS)
def test_indexed_terms_are_the_terms_of_analyse(reader, indexer, text):
    indexer.write(MOVIES, [film("tt1", text)])
    indexer.refresh()

    def found(term):
        query = {"term": {"title": term}}
        return reader.reader.count(index=reader.alias(MOVIES), query=query)["count"]

    terms = analyse(text)
    assert [found(term) for term in terms] == [1] * len(terms)
    if not terms:
        assert found(text.lower()) == 0


def test_analyzer_avoids_possessive_english():
    filters = ANALYSIS["filter"].values()

    assert all(f.get("language") != "possessive_english" for f in filters)


@pytest.mark.parametrize("index", GENERATION_INDICES)
def test_mapping_is_strict(reader, index):
    mapping = reader.reader.indices.get_mapping(index=reader.alias(index)).body

    (definition,) = mapping.values()
    assert definition["mappings"]["dynamic"] == "strict"


def test_unknown_field_is_rejected_not_indexed(indexer):
    with pytest.raises(SearchError) as caught:
        indexer.write(MOVIES, [{**film("tt1", "A film"), "rating": 9.9}])

    assert not isinstance(caught.value, SearchUnavailable)
    assert "strict_dynamic_mapping_exception" in str(caught.value)
    indexer.refresh()
    assert indexer.count(MOVIES) == 0


def test_indices_allow_the_configured_result_window(make_indexer):
    indexer = make_indexer(max_result_window=1234)
    indexer.prepare("g1")
    names = [indexer.physical(index, "g1") for index in GENERATION_INDICES]

    settings = indexer.writer.indices.get_settings(index=names).body

    windows = {
        name: int(definition["settings"]["index"]["max_result_window"])
        for name, definition in settings.items()
    }
    assert windows == dict.fromkeys(names, 1234)


def make_layout_1(indexer):
    """Make live indices as releases before the films' layout 2 made them."""
    old = {**MAPPINGS[MOVIES], "properties": dict(MAPPINGS[MOVIES]["properties"])}
    del old["_meta"], old["properties"][TITLE_KEY]
    for index in GENERATION_INDICES:
        name = indexer.physical(index, INITIAL_GENERATION)
        indexer.writer.indices.create(
            index=name,
            settings=index_settings(10_000),
            mappings=old if index == MOVIES else MAPPINGS[index],
        )
        indexer.writer.indices.put_alias(index=name, name=indexer.alias(index))


def test_live_indices_of_layout_1_take_writes_and_want_a_full_load(
    make_reader, make_indexer
):
    indexer = make_indexer()
    make_layout_1(indexer)
    assert indexer.outdated()

    indexer.write(MOVIES, [film("tt0000001", "The Next Star", 5.0)])
    indexer.write_changes({MOVIES: [film("tt0000002", "Next Star", 6.0)]}, {}, 1, "v")
    indexer.refresh()

    reader = make_reader()
    assert reader.get_film("tt0000001") == film("tt0000001", "The Next Star", 5.0)
    page = reader.search_films(FilmQuery(text="next star"))
    assert page.items == [
        film("tt0000002", "Next Star", 6.0),
        film("tt0000001", "The Next Star", 5.0),
    ]
    assert indexer.outdated()
    indexer.prepare("gen1")
    indexer.publish("gen1")
    assert not indexer.outdated()


# Generations and aliases ---------------------------------------------------


def test_prepare_live_creates_an_initial_generation_once(make_indexer):
    indexer = make_indexer()
    assert indexer.live_generation() is None

    indexer.prepare()
    indexer.write(MOVIES, movies(3))
    indexer.prepare()
    indexer.refresh()

    assert indexer.live_generation() == "initial"
    assert indexer.count(MOVIES) == 3
    assert _aliases(indexer) == {
        indexer.alias(index): [indexer.physical(index, "initial")]
        for index in GENERATION_INDICES
    }


def test_a_generation_is_invisible_until_published(reader, indexer):
    indexer.write(MOVIES, movies(2))
    indexer.refresh()
    indexer.prepare("g1")
    indexer.write(MOVIES, movies(5), "g1")
    indexer.refresh("g1")

    assert indexer.count(MOVIES) == 2
    assert reader.search_films(FilmQuery()).total == 2
    assert indexer.count(MOVIES, "g1") == 5


def test_prepare_again_resumes_into_the_same_indices(make_indexer):
    indexer = make_indexer()
    indexer.prepare("g1")
    indexer.write(MOVIES, movies(3), "g1")

    indexer.prepare("g1")
    indexer.write(MOVIES, movies(2, start=3), "g1")
    indexer.publish("g1")

    assert indexer.count(MOVIES) == 5


def test_publish_swaps_all_aliases_atomically(make_reader, make_indexer, proxy_to):
    alias_updates = Faults("/_aliases")
    indexer = make_indexer(proxy_to(alias_updates))
    reader = make_reader()
    indexer.prepare("g1")
    indexer.write(MOVIES, movies(40), "g1")
    indexer.publish("g1")
    indexer.prepare("g2")
    indexer.write(MOVIES, movies(70), "g2")
    updates_before = alias_updates.seen
    seen, broken = [], []
    done = threading.Event()

    def watch():
        while not done.is_set():
            aliases = _aliases(reader)
            generations = {
                physical.rsplit("_", 1)[1]
                for physicals in aliases.values()
                for physical in physicals
            }
            total = reader.search_films(FilmQuery(limit=0)).total
            seen.append(generations)
            if any(len(p) != 1 for p in aliases.values()) or len(generations) != 1:
                broken.append(aliases)
            if total not in (40, 70):
                broken.append(total)

    watcher = threading.Thread(target=watch)
    watcher.start()
    wait_until(lambda: {"g1"} in seen)
    indexer.publish("g2")
    wait_until(lambda: {"g2"} in seen)
    done.set()
    watcher.join()

    assert broken == []
    assert {"g1"} in seen and {"g2"} in seen
    assert alias_updates.seen - updates_before == 1
    assert indexer.live_generation() == "g2"
    assert indexer.count(MOVIES) == 70
    assert _physical_indices(indexer) == sorted(
        indexer.physical(index, "g2") for index in GENERATION_INDICES
    )


def test_publish_drops_the_initial_and_stale_generations(indexer):
    indexer.prepare("abandoned")
    indexer.prepare("g2")

    indexer.publish("g2")

    assert _physical_indices(indexer) == sorted(
        indexer.physical(index, "g2") for index in GENERATION_INDICES
    )


def test_publish_twice_is_harmless(make_reader, make_indexer):
    indexer = make_indexer()
    indexer.prepare("g1")
    indexer.write(GENRES, [{"id": "g", "name": "Drama", "film_count": 1}], "g1")

    indexer.publish("g1")
    indexer.publish("g1")

    assert indexer.live_generation() == "g1"
    assert make_reader().get_genre("g")["name"] == "Drama"
    assert _aliases(indexer) == {
        indexer.alias(index): [indexer.physical(index, "g1")]
        for index in GENERATION_INDICES
    }


def test_publish_an_unprepared_generation_is_an_error(indexer):
    with pytest.raises(SearchError, match="never prepared") as caught:
        indexer.publish("nope")

    assert not isinstance(caught.value, SearchUnavailable)
    assert indexer.live_generation() == "initial"


def test_discard_drops_an_unpublished_generation(indexer):
    indexer.prepare("g1")

    indexer.discard("g1")

    assert _physical_indices(indexer) == sorted(
        indexer.physical(index, "initial") for index in GENERATION_INDICES
    )
    with pytest.raises(SearchError, match="never prepared"):
        indexer.count(MOVIES, "g1")


def test_discard_refuses_the_live_generation(indexer):
    with pytest.raises(SearchError, match="live"):
        indexer.discard("initial")


def test_generation_names_must_suit_index_names(indexer):
    with pytest.raises(ValueError, match="generation"):
        indexer.prepare("Upper/Case")


def test_remove_counts_the_documents_that_existed(reader, indexer):
    indexer.write(PERSONS, [{"id": "p1", "full_name": "Mark Hamill", "films": []}])

    removed = indexer.remove(PERSONS, ["p1", "missing"])
    indexer.refresh()

    assert removed == 1
    assert reader.get_person("p1") is None


# Data version --------------------------------------------------------------


def test_live_indices_made_by_prepare_have_no_data_version(make_reader, make_indexer):
    make_indexer().prepare()

    assert make_reader().data_version() == "0"


def test_a_data_version_goes_live_with_its_generation(reader, indexer):
    indexer.write(MOVIES, movies(2))
    indexer.set_data_version("v1")
    indexer.refresh()
    indexer.prepare("g1")
    indexer.write(MOVIES, movies(5), "g1")
    indexer.set_data_version("v2", "g1")
    indexer.refresh("g1")

    assert reader.data_version() == "v1"
    assert reader.search_films(FilmQuery(limit=0)).total == 2

    indexer.publish("g1")

    assert reader.data_version() == "v2"
    assert reader.search_films(FilmQuery(limit=0)).total == 5


# Failures ------------------------------------------------------------------


def test_reads_before_the_first_load_say_what_to_do(make_reader):
    reader = make_reader()

    with pytest.raises(SearchUnavailable, match="flask etl run"):
        reader.get_film("tt1")
    with pytest.raises(SearchUnavailable, match="flask etl run"):
        reader.search_films(FilmQuery(text="star"))
    with pytest.raises(SearchUnavailable, match="flask etl run"):
        reader.data_version()


@pytest.mark.parametrize(
    ("side", "read"),
    [
        ("reader", lambda r: r.search_films(FilmQuery(text="star"))),
        ("reader", lambda r: r.get_film("tt1")),
        ("reader", lambda r: r.list_genres(Sort("name"))),
        ("reader", lambda r: r.search_persons("hamill")),
        ("reader", lambda r: r.data_version()),
        ("reader", lambda r: r.ping()),
        ("indexer", lambda i: i.count(MOVIES)),
        ("indexer", lambda i: i.live_generation()),
    ],
    ids=[
        "search_films",
        "get_film",
        "list_genres",
        "search_persons",
        "data_version",
        "ping",
        "count",
        "live_generation",
    ],
)
def test_unreachable_cluster_fails_reads_at_the_first_try(
    make_reader, make_indexer, proxy_to, side, read
):
    make = {"reader": make_reader, "indexer": make_indexer}[side]
    drops = Faults("", itertools.repeat(CLOSE))
    cluster = make(proxy_to(drops))

    with pytest.raises(SearchUnavailable, match="unreachable"):
        read(cluster)

    assert drops.seen == 1


def test_unreachable_cluster_fails_writes_after_bounded_retries(make_indexer, proxy_to):
    drops = Faults("_bulk", itertools.repeat(CLOSE))
    indexer = make_indexer(proxy_to(drops), write_attempts=3, write_backoff=0.01)
    indexer.prepare("g1")

    with pytest.raises(SearchUnavailable, match="after 3 attempts"):
        indexer.write(MOVIES, movies(2), "g1")

    assert drops.seen == 3


def test_slow_cluster_times_out_without_retrying(make_reader, make_indexer, proxy_to):
    def stall(method, path):
        if "_search" in path:
            time.sleep(1.5)

    searches = Faults("_search")
    make_indexer().prepare()
    reader = make_reader(
        proxy_to(lambda m, p: searches(m, p) or stall(m, p)), timeout=0.2
    )

    with pytest.raises(SearchUnavailable, match="ConnectionTimeout"):
        reader.search_films(FilmQuery())

    assert searches.seen == 1


class Clock:
    """A monotonic clock that moves only when told to."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_after_a_timeout_reads_answer_at_once_then_one_probes(
    make_reader, make_indexer, proxy_to
):
    hung = threading.Event()

    def stall(method, path):
        if "_search" in path and hung.is_set():
            time.sleep(1.0)

    searches = Faults("_search")
    make_indexer().prepare()
    reader = make_reader(
        proxy_to(lambda m, p: searches(m, p) or stall(m, p)), timeout=0.2
    )
    clock = reader.circuit.clock = Clock()
    hung.set()

    with pytest.raises(SearchUnavailable, match="ConnectionTimeout"):
        reader.search_films(FilmQuery())
    # The circuit is open: no request reaches the cluster, none waits.
    for _ in range(3):
        with pytest.raises(SearchUnavailable, match="not asked again"):
            reader.search_films(FilmQuery())
    assert searches.seen == 1

    clock.now += PAUSE_AFTER_UNREACHABLE
    hung.clear()
    assert reader.search_films(FilmQuery()).total == 0  # the probe: it is back
    assert reader.search_films(FilmQuery()).total == 0
    assert searches.seen == 3


@pytest.mark.parametrize("answer", [UNAVAILABLE, REJECTED], ids=["503", "429"])
def test_overloaded_cluster_fails_reads_without_retrying(make_reader, proxy_to, answer):
    searches = Faults("_search", itertools.repeat(answer))
    reader = make_reader(proxy_to(searches))

    with pytest.raises(SearchUnavailable, match=str(answer[0])):
        reader.search_films(FilmQuery(text="star"))

    assert searches.seen == 1


def test_result_window_is_checked_before_asking(make_reader):
    reader = make_reader(CLOSED_PORT_URL, max_result_window=100)

    with pytest.raises(ResultWindowExceeded):
        reader.search_films(FilmQuery(offset=95, limit=10))
    with pytest.raises(ResultWindowExceeded):
        reader.list_genres(Sort("name"), offset=100, limit=1)
    with pytest.raises(ResultWindowExceeded):
        reader.search_persons("hamill", offset=0, limit=101)


def test_result_window_refused_by_the_cluster(make_reader, make_indexer):
    small = make_indexer(max_result_window=100)
    small.prepare()
    small.write(MOVIES, movies(3))
    small.refresh()
    large = make_reader(max_result_window=10_000)

    assert large.search_films(FilmQuery(offset=0, limit=100)).total == 3
    with pytest.raises(ResultWindowExceeded):
        large.search_films(FilmQuery(offset=95, limit=10))


def test_bulk_rejections_are_retried(make_indexer, proxy_to):
    bulks = Faults("_bulk", [REJECTED, REJECTED])
    indexer = make_indexer(proxy_to(bulks))
    indexer.prepare("g1")

    written = indexer.write(MOVIES, movies(10), "g1")

    assert written == 10
    assert bulks.seen == 3
    indexer.refresh("g1")
    assert indexer.count(MOVIES, "g1") == 10


def test_bulk_rejections_give_up_after_the_bulk_retries(make_indexer, proxy_to):
    bulks = Faults("_bulk", itertools.repeat(REJECTED))
    indexer = make_indexer(proxy_to(bulks), bulk_retries=2)
    indexer.prepare("g1")

    with pytest.raises(SearchUnavailable, match="429"):
        indexer.write(MOVIES, movies(10), "g1")

    assert bulks.seen == 3


def test_write_survives_a_briefly_failing_cluster(make_indexer, proxy_to):
    bulks = Faults("_bulk", [UNAVAILABLE, CLOSE])
    indexer = make_indexer(proxy_to(bulks))
    indexer.prepare("g1")

    assert indexer.write(MOVIES, movies(10), "g1") == 10
    assert bulks.seen == 3
    indexer.refresh("g1")
    assert indexer.count(MOVIES, "g1") == 10


def test_write_gives_up_on_a_failing_cluster(make_indexer, proxy_to):
    bulks = Faults("_bulk", itertools.repeat(UNAVAILABLE))
    indexer = make_indexer(proxy_to(bulks), write_attempts=4)
    indexer.prepare("g1")

    with pytest.raises(SearchUnavailable, match="after 4 attempts"):
        indexer.write(MOVIES, movies(10), "g1")

    assert bulks.seen == 4


def test_bulk_splits_writes_into_batches(make_indexer, proxy_to):
    bulks = Faults("_bulk")
    indexer = make_indexer(proxy_to(bulks), batch_size=4)
    indexer.prepare("g1")

    indexer.write(MOVIES, movies(10), "g1")

    assert bulks.seen == 3


# Concurrency ---------------------------------------------------------------


def test_concurrent_reads_share_the_pool(reader, indexer):
    indexer.write(MOVIES, movies(30))
    indexer.refresh()

    def read(n):
        return reader.search_films(FilmQuery(offset=n % 30, limit=1)).items[0]["id"]

    with ThreadPoolExecutor(max_workers=32) as pool:
        ids = list(pool.map(read, range(320)))

    assert ids == [f"tt{n % 30:07d}" for n in range(320)]
