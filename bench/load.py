"""Load benchmark of the API served by gunicorn with gevent workers: p50, p99, rps.

    python bench/load.py --database PATH [--elasticsearch-url URL] [--duration 20]

For each backend (the embedded index; Elasticsearch: the cluster at
``--elasticsearch-url``, already loaded from the same database, or else the
Elasticsearch test server started and loaded for the run, 5 minutes at 200,000
films) the script starts the real service, ``gunicorn -c gunicorn.conf.py wsgi:app`` on a
free 127.0.0.1 port, waits for ``/readyz`` and runs wrk with ``--latency``, 100
connections and ``bench/paths.lua``:

- ``cached-page``: one page of the legacy collection, requested one at a time
  first until every worker has it cached, then warmed with wrk;
- ``uncached-search``: ``/api/v1/films/search`` with a distinct query string on
  every request (words of the catalogue's titles x page), so each one misses the
  response cache. The warm-up uses other query strings than the measurement.

wrk holds the first request of each connection for ``--pause-ms`` (1 s), so the
server has accepted every connection before the load starts: a busy gevent
worker accepts one new connection per turn of its event loop, and connections
left waiting in the backlog would add seconds to their first request
(``--pause-ms 0`` shows that effect). Latencies are wrk's (closed loop: each
connection sends its next request when the answer arrives).

It prints requests, requests per second, p50, p90, p99 and errors (HTTP >= 400,
plus connect, read, write errors and timeouts) per scenario and backend, and how
wrk's connections spread over the workers; then where the machine's CPU went
meanwhile: the gunicorn processes, wrk, the Elasticsearch side (proxy and
osmem), and everything else on the machine (the busiest other processes named).

With ``--stores sqlite,postgresql`` each measurement is made on both stores
in one run: SQLite reads ``--database``; PostgreSQL (a throwaway server of the
run, or a database of its own on ``--database-url``'s) holds the same
catalogue, imported with ``flask db import``, and has an embedded index of its
own built from it, ``<stem>.postgresql.search.sqlite`` beside the database,
reused while it is current (see catalogue_store). The service then runs with
DATABASE_URL, SINGLE_NODE=true and the catalogue's defaults for PostgreSQL:
DATABASE_POOL_SIZE 10 connections per gunicorn worker, DATABASE_POOL_TIMEOUT
5 s, DATABASE_STATEMENT_TIMEOUT 15 s. Every table has a ``store`` column.

The helpers here (the service, the stores, wrk, CPU and memory readings) serve
the other scripts too.
"""

import argparse
import contextlib
import hashlib
import json
import os
import random
import re
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from catalogue.search.analysis import STOP_WORDS  # noqa: E402 - the path is set first
from tests.fixtures.postgresql import (  # noqa: E402
    create_database,
    drop_database,
    running_server,
)

BENCH = ROOT / "bench"
PATHS_SCRIPT = BENCH / "paths.lua"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The settings this script decides; the rest come from gunicorn.conf.py's defaults.
SERVICE_SETTINGS = (
    "ELASTICSEARCH_",
    "REDIS_",
    "DATABASE_",
    "EMBEDDED_",
    "SINGLE_NODE",
    "BIND",
    "PORT",
)
CACHED_PAGE = "/api/v1/video/collection?limit=50&page=1"
# An upper bound of the requests per second a scenario can reach on this kind of
# machine, to size a pool of distinct paths that a run does not use up.
MAX_RATE = 3000
TARGETS_MS = {"cached-page": 50, "uncached-search": 200}
STORES = ("sqlite", "postgresql")
# Signs the benchmarks' tokens; PostgreSQL's settings need one (every node's).
BENCH_JWT_SECRET = "bench-signing-key-" + "0123456789" * 5
# The code that makes the embedded index's documents: an index built by other
# code is built again.
INDEX_CODE = ("catalogue/indexing", "catalogue/search", "etl")


def main():
    parser = service_parser(__doc__)
    add_wrk_arguments(parser)
    parser.add_argument(
        "--scenarios",
        default="cached-page,uncached-search",
        help="comma-separated, from: cached-page, uncached-search",
    )
    parser.add_argument("--seed", type=int, default=42, help="of the query strings")
    parser.add_argument(
        "--repeat", type=int, default=1, help="measure each scenario this many times"
    )
    args = parser.parse_args()
    scenarios = args.scenarios.split(",")
    unknown = set(scenarios) - set(TARGETS_MS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    raise_open_files_limit()
    prepare_database(args)

    rows, cpu_rows = [], []
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    for store in stores_of(args):
        with catalogue_store(args, store) as settings:
            for backend in args.backends.split(","):
                measure(
                    args, scenarios, store, settings, backend, workdir, rows, cpu_rows
                )

    print()
    print(machine_line())
    print(run_line(args))
    print("targets: p99 < 50 ms cached page, < 200 ms uncached search; conns/worker:")
    print("how wrk's connections spread over the gunicorn workers")
    print_table((STORE_COLUMN, *RESULT_COLUMNS), rows)
    print(
        "\nCPU during each measurement, % of one core (the machine has "
        f"{os.cpu_count()} cores = {100 * os.cpu_count()}%):"
    )
    print_table((STORE_COLUMN, *CPU_COLUMNS), cpu_rows)


def measure(args, scenarios, store, settings, backend, workdir, rows, cpu_rows):
    """Measure each scenario on one store and backend; add their rows."""
    label = f"{store}, {backend}"
    with backend_service(args, backend, settings=settings) as (service, search_pids):
        rng = random.Random(args.seed)
        films = sample_films(service.url, rng)
        print(f"[{label}] {len(films)} films sampled for query words", flush=True)
        groups = {"gunicorn": service.pids, "es side": search_pids}
        for scenario in scenarios:
            for run in range(1, args.repeat + 1):
                warmup, measured = scenario_paths(scenario, films, args, rng)
                warm = write_paths(workdir / f"{scenario}-warmup.txt", warmup)
                file = write_paths(workdir / f"{scenario}.txt", measured)
                if scenario == "cached-page":
                    fill_caches(service, CACHED_PAGE)
                run_wrk(service.url, warm, args, duration=args.warmup)
                result = run_wrk(
                    service.url, file, args, service=service, cpu_groups=groups
                )
                name = scenario if args.repeat == 1 else f"{scenario} #{run}"
                row = result_row(name, backend, result, TARGETS_MS[scenario])
                rows.append((store, *row))
                cpu_rows.append((store, *cpu_row(name, backend, result.cpu)))
                print(f"[{label}] {name}: {summary(result)}", flush=True)
        rss = ", ".join(f"{rss_mib(pid):.0f}" for pid in service.worker_pids())
        print(f"[{label}] worker RSS MiB after the run: {rss}", flush=True)


# --- the service under test ---------------------------------------------------


def doc_parser(doc):
    """An argument parser whose help is a script's docstring ``doc``."""
    return argparse.ArgumentParser(
        description=doc.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(doc.splitlines()[2:]),
    )


def service_parser(doc):
    """An argument parser described by ``doc``, with the service's arguments."""
    parser = doc_parser(doc)
    add_service_arguments(parser)
    return parser


def add_database_arguments(parser):
    """Arguments that choose the catalogue: a database file, or films to build."""
    parser.add_argument(
        "--database",
        type=Path,
        default=ROOT / "var" / "bench" / "movies.sqlite",
        help="migrated catalogue database; built with --films if missing "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--films", type=int, default=200_000, help="films of a database built here"
    )


def add_elasticsearch_arguments(parser):
    """Arguments that choose the Elasticsearch cluster and its indices' prefix."""
    parser.add_argument(
        "--elasticsearch-url",
        help="a cluster loaded from --database with ELASTICSEARCH_INDEX_PREFIX="
        "--index-prefix; default: start the Elasticsearch test server and load it "
        "(about 5 minutes for 200,000 films)",
    )
    parser.add_argument("--index-prefix", default="bench_", help="of the ES indices")


def add_service_arguments(parser):
    """Arguments that choose the data, the backends and the gunicorn workers."""
    add_database_arguments(parser)
    parser.add_argument(
        "--search-index",
        type=Path,
        help="embedded index file (default: beside --database, .search.sqlite)",
    )
    parser.add_argument(
        "--backends",
        default="embedded,elasticsearch",
        help="comma-separated, from: embedded, elasticsearch (default: both)",
    )
    add_elasticsearch_arguments(parser)
    parser.add_argument(
        "--workers", type=int, help="GUNICORN_WORKERS (default: gunicorn.conf.py's)"
    )
    add_store_arguments(parser)


def add_store_arguments(parser):
    """Arguments that choose the catalogue's stores: SQLite, PostgreSQL or both."""
    parser.add_argument(
        "--stores",
        default="sqlite",
        help="comma-separated, from: sqlite, postgresql (default: %(default)s); "
        "postgresql serves --database's catalogue imported into PostgreSQL",
    )
    add_postgresql_argument(parser)


def add_postgresql_argument(parser):
    """The argument that names a PostgreSQL server instead of a throwaway one."""
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server's maintenance database (postgresql://user@host/"
        "postgres) where each run creates a database of its own; default: start a "
        "throwaway server for the run",
    )


def add_wrk_arguments(parser):
    """Arguments of each wrk run."""
    parser.add_argument("--duration", type=int, default=20, help="seconds per run")
    parser.add_argument("--warmup", type=int, default=5, help="seconds before each")
    parser.add_argument("--connections", type=int, default=100, help="wrk -c")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t")
    parser.add_argument(
        "--think-ms",
        type=int,
        default=0,
        help="pause of each connection between requests (default 0: closed loop)",
    )
    parser.add_argument(
        "--pause-ms",
        type=int,
        default=1000,
        help="hold each connection's first request this long, so that all are "
        "accepted before the load starts (0: no pause; see bench/paths.lua)",
    )
    parser.add_argument(
        "--timeout", type=int, default=10, help="wrk --timeout, seconds (an error)"
    )


def raise_open_files_limit():
    """Raise this process's soft open-files limit to the hard one; return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def search_index_path(args):
    """The embedded index file: --search-index, or beside the database."""
    return args.search_index or args.database.with_name(
        args.database.stem + ".search.sqlite"
    )


def base_env(args, settings=None):
    """This environment without the settings the benchmark decides.

    ``settings`` (those catalogue_store yields) are added last.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(SERVICE_SETTINGS)}
    env["DATABASE_PATH"] = str(args.database)
    env["EMBEDDED_SEARCH_PATH"] = str(search_index_path(args))
    if args.workers:
        env["GUNICORN_WORKERS"] = str(args.workers)
    return env | (settings or {})


def flask(env, *arguments):
    """Run ``flask --app wsgi ARGUMENTS`` in the project; exit if it fails."""
    command = [sys.executable, "-m", "flask", "--app", "wsgi", *arguments]
    print(f"$ flask {' '.join(arguments)}", flush=True)
    if subprocess.run(command, cwd=ROOT, env=env, check=False).returncode:
        sys.exit(f"flask {' '.join(arguments)} failed")


def prepare_database(args):
    """Build the database and its embedded index unless they exist."""
    if args.database.exists():
        return
    env = base_env(args)
    flask(env, "data", "generate", "--films", str(args.films), "--seed", "42")
    flask(env, "db", "upgrade")
    flask(env, "etl", "run", "--full")


@contextlib.contextmanager
def backend_service(args, backend, app="wsgi:app", ready_path="/readyz", settings=None):
    """Serve ``app`` on ``backend``; yield the Service and the ES side's pids.

    ``settings`` choose the store (see catalogue_store); SQLite without them.
    """
    env = base_env(args, settings)
    if backend == "embedded":
        with Service(app, env, ready_path) as service:
            yield service, lambda: []
        return
    if backend != "elasticsearch":
        sys.exit(f"unknown backend {backend!r}")
    with elasticsearch(args, env) as url:
        port = urlsplit(url).port
        env.update(ELASTICSEARCH_URL=url, ELASTICSEARCH_INDEX_PREFIX=args.index_prefix)

        def search_pids():
            owner = listening_pid(port)
            return [owner, *descendants(owner)] if owner else []

        with Service(app, env, ready_path) as service:
            yield service, search_pids


@contextlib.contextmanager
def elasticsearch(args, env):
    """Yield --elasticsearch-url, or a test server loaded for this run."""
    if args.elasticsearch_url:
        yield args.elasticsearch_url.rstrip("/")
        return
    server = subprocess.Popen(
        [sys.executable, str(BENCH / "es_test_server.py")],
        cwd=ROOT,
        env=osmem_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = server.stdout.readline().strip()
        if not url:
            sys.exit("bench/es_test_server.py did not start")
        print(f"Elasticsearch test server at {url}; loading it (slow)", flush=True)
        started = time.perf_counter()
        flask(
            dict(
                env, ELASTICSEARCH_URL=url, ELASTICSEARCH_INDEX_PREFIX=args.index_prefix
            ),
            "etl",
            "run",
            "--full",
        )
        print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)
        yield url
    finally:
        server.terminate()
        server.wait(30)


def osmem_env():
    """This environment, with a soft memory limit for osmem unless one is set.

    osmem is a Go program: by default its heap may grow to twice the live data
    before a collection, and 200,000 films take about 12 GB of it, so a burst of
    searches can exhaust a 24 GiB machine. GOMEMLIMIT makes it collect sooner.
    """
    env = dict(os.environ)
    if "GOMEMLIMIT" not in env:
        total_kib = int(Path("/proc/meminfo").read_text().split()[1])
        env["GOMEMLIMIT"] = f"{total_kib * 2 // 3 // 1024}MiB"
    return env


def free_port():
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """``gunicorn -c gunicorn.conf.py APP`` on a free 127.0.0.1 port, while in use.

    It runs in ``cwd``: this checkout, or a copy of it (a machine of its own).
    """

    def __init__(self, app, env, ready_path="/readyz", start_timeout=120, cwd=ROOT):
        self.app = app
        self.cwd = cwd
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(env, BIND=f"127.0.0.1:{self.port}")
        self.ready_path = ready_path
        self.start_timeout = start_timeout
        handle, log = tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")
        os.close(handle)
        self.log = Path(log)
        self.process = None

    def __enter__(self):
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"),
                *("--error-logfile", str(self.log), self.app),
            ],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.DEVNULL,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def _wait_ready(self):
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"gunicorn exited:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=5):
                    pass
                workers = len(self.worker_pids())
                print(f"{self.app} ready at {self.url}, {workers} workers", flush=True)
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.25)
        sys.exit(
            f"{self.app} not ready after {self.start_timeout} s:\n{self.log_tail()}"
        )

    def worker_pids(self):
        """The gunicorn workers' process ids."""
        return descendants(self.process.pid, depth=1) if self.process else []

    def pids(self):
        """The gunicorn master's and workers' process ids."""
        return [self.process.pid, *self.worker_pids()] if self.process else []

    def connection_spread(self):
        """How many client connections each worker holds now, as "n1/n2/..."."""
        clients = tcp_sockets(local_port=self.port, state="01")
        counts = [len(socket_inodes(pid) & clients) for pid in self.worker_pids()]
        return "/".join(map(str, sorted(counts)))

    def log_tail(self, size=3000):
        """The end of gunicorn's output."""
        return self.log.read_text(errors="replace")[-size:]

    def stop(self):
        """Stop gunicorn at once (SIGINT: no wait for idle keep-alive clients)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.unlink(missing_ok=True)


# --- the store: SQLite or PostgreSQL -------------------------------------------


def stores_of(args):
    """The stores of --stores, in order; exit on an unknown one."""
    stores = args.stores.split(",")
    unknown = set(stores) - set(STORES)
    if unknown:
        sys.exit(f"unknown stores: {', '.join(sorted(unknown))}")
    return stores


@contextlib.contextmanager
def postgresql_server(args):
    """Yield --database-url, or the URL of a throwaway server run for the block.

    The throwaway server is the tests' (tests.fixtures.postgresql) with fsync
    and full-page writes on, as a server that keeps its data runs; commits do
    not wait for their WAL to reach the disk (synchronous_commit off), as
    SQLite's WAL with synchronous=NORMAL does not.
    """
    if args.database_url:
        yield args.database_url
        return
    with running_server(fsync="on", full_page_writes="on") as url:
        print(f"PostgreSQL started at {url}", flush=True)
        yield url


def postgresql_index_path(args):
    """The PostgreSQL run's own embedded index file, beside the database."""
    return args.database.with_name(args.database.stem + ".postgresql.search.sqlite")


@contextlib.contextmanager
def catalogue_store(args, store, server_url=None, source=None, build_index=True):
    """Yield the settings that serve --database's catalogue from ``store``.

    For ``sqlite``, none: the service reads --database. For ``postgresql``, a
    new database on ``server_url`` (else on postgresql_server's), migrated
    (``flask db upgrade``), holding the catalogue of ``source`` (default:
    --database; ``flask db import`` migrates the file it reads, so a script
    that must not write --database imports a copy), and, if ``build_index``,
    an embedded index of its own built from it, beside --database. The
    settings are DATABASE_URL, SINGLE_NODE=true, JWT_SECRET_KEY (required with
    PostgreSQL) and EMBEDDED_SEARCH_PATH. The database is dropped after the
    block.
    """
    if store == "sqlite":
        yield {}
        return
    if store != "postgresql":
        sys.exit(f"unknown store {store!r}")
    with contextlib.ExitStack() as stack:
        server_url = server_url or stack.enter_context(postgresql_server(args))
        url = create_database(server_url)
        stack.callback(drop_database, server_url, url)
        index = postgresql_index_path(args)
        settings = {
            "DATABASE_URL": url,
            "SINGLE_NODE": "true",
            "JWT_SECRET_KEY": BENCH_JWT_SECRET,
            "EMBEDDED_SEARCH_PATH": str(index),
        }
        env = base_env(args, settings)
        started = time.perf_counter()
        flask(env, "db", "upgrade")
        flask(env, "db", "import", str(source or args.database))
        print(f"imported in {time.perf_counter() - started:.0f} s", flush=True)
        if build_index:
            build_postgresql_index(env, url, index)
        yield settings


def build_postgresql_index(env, url, index):
    """Build ``index`` from the catalogue at ``url`` unless it is current.

    It is current when its stamp (a JSON file beside it) names the catalogue
    the import left in PostgreSQL (the import's fingerprint of the file's
    rows), the index's data version, which every load and every write through
    into the index moves on, and the code that makes its documents. Built
    again otherwise, with a full ETL run (its runs are in PostgreSQL, new with
    each database, so a plain run would be full too).
    """
    stamp_path = index.with_name(index.name + ".stamp.json")
    with contextlib.closing(psycopg.connect(url)) as conn:
        imported = conn.execute(
            "SELECT fingerprint FROM catalogue_import ORDER BY imported_at DESC"
        ).fetchone()[0]
    wanted = {"catalogue": imported, "code": index_code_digest()}
    with contextlib.suppress(OSError, ValueError):
        stamp = json.loads(stamp_path.read_text())
        if stamp == dict(wanted, data_version=index_data_version(index)):
            print(f"{index} is current: reused", flush=True)
            return
    stamp_path.unlink(missing_ok=True)
    started = time.perf_counter()
    flask(env, "etl", "run", "--full")
    print(f"indexed in {time.perf_counter() - started:.0f} s", flush=True)
    stamp = dict(wanted, data_version=index_data_version(index))
    stamp_path.write_text(json.dumps(stamp, indent=1) + "\n")


def index_data_version(index):
    """The data version the live file of the embedded index holds, or None."""
    if not index.exists():
        return None
    uri = f"file:{index.resolve()}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'data_version'")
        found = row.fetchone()
    return found and found[0]


def index_code_digest():
    """A digest of the Python files that make the index's documents."""
    digest = hashlib.sha256()
    for folder in INDEX_CODE:
        for path in sorted((ROOT / folder).rglob("*.py")):
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


STORE_COLUMN = ("store", "<")


def copy_files(pairs):
    """Copy each (source, target) with ``cp --reflink=auto``, then write them to disk.

    The copies' pages would otherwise wait in memory, and a service's first
    checkpoints would write them all (0.4 s each, measured) while it serves.
    """
    for source, target in pairs:
        subprocess.run(["cp", "--reflink=auto", str(source), str(target)], check=True)
    started = time.perf_counter()
    os.sync()
    print(
        f"copies written to disk in {time.perf_counter() - started:.1f} s", flush=True
    )


# --- what the load asks for ---------------------------------------------------


def fill_caches(service, path, per_worker=20):
    """GET ``path`` one request at a time, each on a new connection.

    Every worker has its own in-process cache. Sent one by one, the requests
    reach each worker many times over, and never all miss at once: 100 clients
    missing together would send 100 identical queries to the search engine.
    """
    for _ in range(per_worker * len(service.worker_pids())):
        try:
            with urllib.request.urlopen(service.url + path, timeout=30) as response:
                response.read()
        except (OSError, urllib.error.URLError) as exc:
            sys.exit(f"warming {path} failed: {exc}")


def get_json(url, timeout=30):
    """GET ``url`` and decode its JSON answer."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


def sample_films(base_url, rng, pages=20, page_size=100):
    """Film summaries from random pages of ``/api/v1/films``."""
    films = []
    for page in rng.sample(range(1, 100), pages):
        films += get_json(f"{base_url}/api/v1/films?page={page}&page_size={page_size}")
    return films


def title_words(films):
    """The distinct searchable words of three letters or more in the films' titles.

    Stop words are left out: a search of only those is refused (422).
    """
    words = set()
    for film in films:
        words.update(w for w in re.findall(r"\w+", film["title"].lower()) if len(w) > 2)
    return sorted(w for w in words if not w.isdigit() and w not in STOP_WORDS)


def distinct_searches(words, count, rng, pages=5):
    """``count`` distinct film searches: one or two title words x page 1..pages."""
    if len(words) < 2:
        sys.exit("too few title words to build distinct searches")
    paths = set()
    for _ in range(count * 20):
        if len(paths) >= count:
            break
        query = " ".join(rng.sample(words, rng.choice((1, 2))))
        page = rng.randint(1, pages)
        paths.add(f"/api/v1/films/search?query={quote(query)}&page={page}")
    paths = sorted(paths)
    rng.shuffle(paths)
    return paths


def scenario_paths(scenario, films, args, rng):
    """The warm-up paths and the measured paths of a scenario."""
    if scenario == "cached-page":
        return [CACHED_PAGE], [CACHED_PAGE]
    measured = MAX_RATE * args.duration
    paths = distinct_searches(
        title_words(films), measured + MAX_RATE * args.warmup, rng
    )
    return paths[measured:], paths[:measured]


def write_paths(path, paths):
    """Write one path per line; return the file."""
    path.write_text("".join(p + "\n" for p in paths))
    return path


# --- wrk ------------------------------------------------------------------------


@dataclass
class WrkResult:
    """What one wrk run measured (latencies in microseconds)."""

    duration_us: int
    requests: int
    bytes: int
    connect: int
    read: int
    write: int
    status: int
    timeout: int
    p50_us: int
    p90_us: int
    p99_us: int
    max_us: int
    mean_us: float
    wrapped: int
    pause_us: int = 0
    cpu: dict = field(default_factory=dict)
    spread: str | None = None

    @property
    def rps(self):
        """Completed requests per second, once the first requests' pause is over."""
        return self.requests / ((self.duration_us - self.pause_us) / 1e6)

    @property
    def errors(self):
        """HTTP >= 400 answers, socket errors and timeouts."""
        return self.status + self.connect + self.read + self.write + self.timeout


def run_wrk(base_url, paths_file, args, duration=None, service=None, cpu_groups=None):
    """Run wrk over the paths of ``paths_file``; return its WrkResult.

    With ``service``, the result tells how wrk's connections spread over the
    workers once the pause is over; with ``cpu_groups`` ({name: function returning
    pids}), its ``cpu`` holds each group's share of the CPU (see CpuMeter) from then.
    """
    duration = duration or args.duration
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{duration}s",
        f"--timeout={args.timeout}s",
        "--latency",
        "-s",
        str(PATHS_SCRIPT),
        base_url + "/",
        "--",
        str(paths_file),
        str(args.threads),
        str(args.think_ms),
        str(args.pause_ms),
        str(args.connections // args.threads),
    ]
    before = children_cpu()
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as wrk:
        meter = spread = None
        if service is not None or cpu_groups is not None:
            time.sleep(args.pause_ms / 1000)
            meter = CpuMeter(cpu_groups) if cpu_groups else None
            if service is not None:
                # Once the first requests are out, and again halfway through.
                spread = service.connection_spread()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    wrk.wait(timeout=duration / 2)
                if wrk.poll() is None:
                    middle = service.connection_spread()
                    spread += "" if middle == spread else f" then {middle}"
        try:
            out, err = wrk.communicate(timeout=duration + 60)
        except subprocess.TimeoutExpired:
            wrk.kill()
            out, err = wrk.communicate()
        # wrk idles through the pause: all its CPU falls in the measured window.
        cpu = meter.read(wrk_seconds=children_cpu() - before) if meter else {}
    for line in out.splitlines():
        if line.startswith("WRK_RESULT "):
            result = WrkResult(**json.loads(line.removeprefix("WRK_RESULT ")))
            result.pause_us = args.pause_ms * 1000
            result.cpu = cpu
            result.spread = spread
            return result
    sys.exit(f"wrk failed ({wrk.returncode}):\n{out}\n{err}")


def summary(result):
    """One line about a WrkResult."""
    return (
        f"{result.requests} requests, {result.rps:.0f}/s, p50 {result.p50_us / 1000:.1f}"
        f" ms, p99 {result.p99_us / 1000:.1f} ms, {result.errors} errors"
        + (f", paths reused {result.wrapped}x" if result.wrapped else "")
    )


RESULT_COLUMNS = (
    ("scenario", "<"),
    ("backend", "<"),
    ("requests", ">"),
    ("rps", ">"),
    ("p50 ms", ">"),
    ("p90 ms", ">"),
    ("p99 ms", ">"),
    ("max ms", ">"),
    ("errors", ">"),
    ("conns/worker", ">"),
    ("target p99", ">"),
)


def result_row(scenario, backend, result, target_ms=None):
    """A row of the results table."""
    verdict = ""
    if target_ms:
        ok = result.p99_us < target_ms * 1000 and not result.errors
        verdict = f"<{target_ms} {'met' if ok else 'MISSED'}"
    return (
        scenario,
        backend,
        result.requests,
        f"{result.rps:.0f}",
        f"{result.p50_us / 1000:.1f}",
        f"{result.p90_us / 1000:.1f}",
        f"{result.p99_us / 1000:.1f}",
        f"{result.max_us / 1000:.0f}",
        errors_text(result),
        result.spread or "-",
        verdict,
    )


def errors_text(result):
    """Errors, with their kinds when there are any."""
    if not result.errors:
        return "0"
    kinds = ("status", "connect", "read", "write", "timeout")
    detail = " ".join(f"{k} {getattr(result, k)}" for k in kinds if getattr(result, k))
    return f"{result.errors} ({detail})"


def print_table(columns, rows):
    """Print rows under their column headings, each column as wide as it needs."""
    widths = [
        max(len(str(v)) for v in [name, *(row[i] for row in rows)])
        for i, (name, _) in enumerate(columns)
    ]
    cells = [
        f"{name:{align}{w}}" for (name, align), w in zip(columns, widths, strict=True)
    ]
    print("  ".join(cells).rstrip())
    for row in rows:
        cells = [
            f"{value!s:{align}{w}}"
            for value, (_, align), w in zip(row, columns, widths, strict=True)
        ]
        print("  ".join(cells).rstrip())


# --- processes: CPU and memory ------------------------------------------------


def children_cpu():
    """CPU seconds of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def descendants(pid, depth=None):
    """Process ids of ``pid``'s children (and theirs, unless depth is 1)."""
    found, level, current = [], 0, [pid]
    while current and (depth is None or level < depth):
        children = []
        for parent in current:
            for task in Path(f"/proc/{parent}/task").glob("*/children"):
                with contextlib.suppress(OSError):
                    children += [int(c) for c in task.read_text().split()]
        found += children
        current, level = children, level + 1
    return found


def tcp_sockets(local_port, state):
    """Inodes of this machine's TCP sockets on ``local_port`` in ``state``.

    States as in /proc/net/tcp: "0A" listening, "01" established.
    """
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                port = int(fields[1].rsplit(":", 1)[1], 16)
                if port == local_port and fields[3] == state:
                    inodes.add(fields[9])
    return inodes


def socket_inodes(pid):
    """Inodes of the sockets a live process holds open."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
    return inodes


def listening_pid(port):
    """The process that listens on TCP ``port`` of this machine, or None."""
    listening = tcp_sockets(local_port=port, state="0A")
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and socket_inodes(proc.name) & listening:
            return int(proc.name)
    return None


def machine_cpu():
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


def rss_mib(pid, field="VmRSS"):
    """Resident memory of a live process (VmHWM: its peak), in MiB."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


class CpuMeter:
    """CPU used by named groups of processes, and by the machine, from now on.

    What no group accounts for is "other": other processes on the machine (the
    busiest are named) and kernel work charged to no process.
    """

    def __init__(self, groups):
        self.groups = groups
        self.started = time.monotonic()
        self.machine = machine_cpu()
        self.pids = {name: set(find()) for name, find in groups.items()}
        self.before = all_processes_cpu()

    def read(self, wrk_seconds=0.0):
        """Percent of one core per group, plus wrk, other and idle, since start."""
        elapsed = time.monotonic() - self.started
        busy, total = machine_cpu()
        now = all_processes_cpu()
        spent = {
            pid: cpu - self.before.get(pid, (name, 0.0))[1]
            for pid, (name, cpu) in now.items()
        }
        used, grouped = {}, set()
        for name, find in self.groups.items():
            pids = self.pids[name] | set(find())
            grouped |= pids
            used[name] = sum(spent.get(pid, 0.0) for pid in pids)
        used["wrk"] = wrk_seconds
        used["other"] = max(0.0, busy - self.machine[0] - sum(used.values()))
        used["idle"] = max(0.0, (total - self.machine[1]) - (busy - self.machine[0]))
        usage = {name: 100 * seconds / elapsed for name, seconds in used.items()}
        others = sorted(
            (
                (seconds, now[pid][0])
                for pid, seconds in spent.items()
                if pid not in grouped
            ),
            reverse=True,
        )
        usage["busiest others"] = ", ".join(
            f"{name} {100 * seconds / elapsed:.0f}%"
            for seconds, name in others[:3]
            if 100 * seconds / elapsed >= 3
        )
        return usage


def all_processes_cpu():
    """{pid: (name, CPU seconds)} of every process on the machine."""
    found = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                head, tail = (proc / "stat").read_text().rsplit(")", 1)
                fields = tail.split()
                cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
                found[int(proc.name)] = (head.split("(", 1)[1], cpu)
    return found


CPU_COLUMNS = (
    ("scenario", "<"),
    ("backend", "<"),
    ("gunicorn", ">"),
    ("wrk", ">"),
    ("es side", ">"),
    ("other", ">"),
    ("idle", ">"),
    ("busiest others", "<"),
)


def cpu_row(scenario, backend, usage):
    """A row of the CPU table."""
    names = ("gunicorn", "wrk", "es side", "other", "idle")
    shares = (f"{usage.get(n, 0):.0f}%" for n in names)
    return (scenario, backend, *shares, usage.get("busiest others") or "-")


def run_line(args):
    """When, and with which load settings, a run was made."""
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; wrk -t{args.threads} "
        f"-c{args.connections} -d{args.duration}s --latency, first requests held "
        f"{args.pause_ms} ms, think {args.think_ms} ms; warm-up {args.warmup} s; "
        "gunicorn -c gunicorn.conf.py"
    )


def machine_line():
    """The machine: CPUs, memory, kernel, and the file-descriptor limit."""
    memory = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"machine: {os.cpu_count()} CPUs ({model}), {int(memory) / 2**20:.1f} GiB, "
        f"Linux {os.uname().release}, open files {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}"
    )


if __name__ == "__main__":
    main()
