"""Admin writes benchmark: 20 admins writing while 100 clients read a cached page.

    python bench/admin_writes.py --database PATH [--admins 20] [--duration 30]

Copies ``--database`` and its embedded index to a temporary directory
(``cp --reflink=auto``; the originals are never written) and writes the
copies to disk (``sync``) before the service starts, upgrades the copy
(``flask db upgrade``), makes an admin (``flask users create --admin``) and
serves the copy with ``gunicorn -c gunicorn.conf.py wsgi:app``. Then, for
``--duration`` seconds:

- ``--admins`` admins, each a process with a keep-alive connection and a token
  of its own, write back to back (or pausing ``--admin-think-ms``): create a
  film (half the writes), change one (a third: the title, rating and actors
  of a film it made or of an imported one of its own share, so that no other
  admin renames it meanwhile) or delete one it made. Each write's latency and
  status are counted. Paced admins start at a random moment of their first
  pause, as people do, not all in the same millisecond
  (``--admins-in-step`` keeps them in step: 20 writes at once every pause).
- every film a write creates or renames gets a title word no other film
  has; after each write its admin searches ``/api/v1/films/search`` for it
  until the film is there (or, after a delete, asks for its card until it is
  gone), and counts the delay from the moment the write was sent until then.
  The writes per second include that checking.
- wrk holds ``--connections`` connections on the cached collection page.

It prints the writes per second, their p50/p99 and errors, the X-Indexing
answers, the search delays and the cached page's rps and p99. Needs wrk.

With ``--stores sqlite,postgresql`` the run is made on each store in turn
and a last table puts them side by side (``store`` column). For PostgreSQL,
the upgraded copy's catalogue is imported into a new database (see
bench/load.py's catalogue_store) and the service writes through into a copy
of PostgreSQL's own embedded index, with the service's defaults:
DATABASE_POOL_SIZE 10 connections per gunicorn worker, DATABASE_POOL_TIMEOUT
5 s, DATABASE_WRITE_TIMEOUT 5 s.
"""

import contextlib
import http.client
import json
import multiprocessing
import random
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import (
    BENCH_JWT_SECRET,
    CACHED_PAGE,
    STORE_COLUMN,
    Service,
    add_wrk_arguments,
    catalogue_store,
    copy_files,
    fill_caches,
    machine_line,
    print_table,
    raise_open_files_limit,
    search_index_path,
    service_parser,
    stores_of,
)
from stall import Tally, wrk_on_cached_page

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery staple"
# Shares of the writes: the rest are deletes.
CREATE_SHARE, UPDATE_SHARE = 0.5, 0.35
# Longest a checker waits for search to show a write, in seconds.
SEARCH_DEADLINE = 10.0
TARGETS = {"write p99 ms": 200, "searchable p99 ms": 2000, "page p99 ms": 50}


def main():
    parser = service_parser(__doc__)
    add_wrk_arguments(parser)
    parser.set_defaults(duration=30, backends="embedded")
    parser.add_argument("--admins", type=int, default=20, help="writing admins")
    parser.add_argument("--seed", type=int, default=15, help="of the write mix")
    parser.add_argument(
        "--admin-think-ms",
        type=int,
        default=0,
        help="each admin's pause between writes (default 0: back to back)",
    )
    parser.add_argument(
        "--admins-in-step",
        action="store_true",
        help="paced admins all start at once instead of at random moments",
    )
    args = parser.parse_args()
    stores = stores_of(args)
    raise_open_files_limit()
    print(machine_line(), flush=True)
    rows = []
    for store in stores:
        with (
            tempfile.TemporaryDirectory(prefix="bench-admin-") as workdir,
            contextlib.ExitStack() as stack,
        ):
            env = copy_catalogue(args, Path(workdir))
            flask(env, "db", "upgrade")
            if store != "sqlite":
                env = stack.enter_context(served_from(args, store, env, Path(workdir)))
            flask(
                env, "users", "create", "--admin", "bench_admin", stdin=PASSWORD + "\n"
            )
            with Service("wsgi:app", env) as service:
                print(f"[{store}]", flush=True)
                rows.append((store, *run(args, service)))
    print(
        f"\n{args.admins} admins (pause {args.admin_think_ms} ms), wrk"
        f" -c{args.connections} on the cached page, {args.duration} s, per store:"
    )
    print_table((STORE_COLUMN, *SUMMARY_COLUMNS), rows)


def copy_catalogue(args, workdir):
    """Copy the database and its embedded index; return the service's environment."""
    database = workdir / "movies.sqlite"
    index = workdir / "movies.search.sqlite"
    source_index = search_index_path(args).resolve()
    copy_files(((args.database, database), (source_index, index)))
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_PATH": str(database),
        "EMBEDDED_SEARCH_PATH": str(index),
        "JWT_SECRET_KEY": BENCH_JWT_SECRET,
        "LOG_LEVEL": "WARNING",
        "FLASK_APP": "wsgi",
    }
    if args.workers:
        env["GUNICORN_WORKERS"] = str(args.workers)
    return env


@contextlib.contextmanager
def served_from(args, store, env, workdir):
    """Yield ``env`` to serve ``store``: the copy's catalogue imported, a copy of its index.

    The index is the store's own, kept beside --database (catalogue_store);
    the service writes into a copy of it, written to disk first as the others.
    """
    copy = Path(env["DATABASE_PATH"])
    with catalogue_store(args, store, source=copy) as settings:
        index = workdir / "movies.postgresql.search.sqlite"
        copy_files(((Path(settings["EMBEDDED_SEARCH_PATH"]).resolve(), index),))
        yield env | settings | {"EMBEDDED_SEARCH_PATH": str(index)}


def flask(env, *arguments, stdin=None):
    """Run ``flask ARGUMENTS`` in the project; exit if it fails."""
    print(f"$ flask {' '.join(arguments)}", flush=True)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "flask", *arguments],
        cwd=ROOT,
        env=env,
        input=stdin,
        text=True,
        capture_output=True,
        check=False,
    )
    if result.returncode:
        sys.exit(f"flask {' '.join(arguments)} failed:\n{result.stdout}{result.stderr}")
    print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)


class Client:
    """One keep-alive connection to the service, JSON in and out."""

    def __init__(self, base_url, token=None):
        self.host = urlsplit(base_url).netloc
        self.token = token
        self.conn = None

    def send(self, method, path, body=None):
        """Send one request; return ``(status, headers, JSON or None)``."""
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = json.dumps(body) if body is not None else None
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, timeout=30)
            try:
                self.conn.request(method, path, body=payload, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            return (
                response.status,
                dict(response.getheaders()),
                json.loads(data) if data else None,
            )


def log_in(base_url):
    """Log the admin in; return an access token."""
    status, _, body = Client(base_url).send(
        "POST", "/login/", {"username": "bench_admin", "password": PASSWORD}
    )
    if status != 200:
        sys.exit(f"the admin's log-in failed: {status} {body}")
    return body["access_token"]


def imported_films(base_url, rng, pages=5):
    """Return ids of imported films to change."""
    client = Client(base_url)
    ids = []
    for page in rng.sample(range(1, 100), pages):
        _, _, films = client.send("GET", f"/api/v1/films?page={page}&page_size=100")
        ids += [film["id"] for film in films]
    return ids


def genre_ids(base_url):
    """Return every genre's id."""
    _, _, genres = Client(base_url).send("GET", "/api/v1/genres?page_size=100")
    return [genre["id"] for genre in genres]


def marker(rng):
    """A title word no film has: 12 random letters."""
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(12))


class Admin(multiprocessing.Process):
    """An admin writing back to back until ``stop``, in a process of its own.

    A process each, not a thread: 20 admin threads in one Python process
    waited for its GIL to read their answers, which added up to 90 ms to the
    p99 of what they measured (the service's own time stayed below it).
    """

    def __init__(self, number, base_url, token, shared, stop, seed, think, start):
        super().__init__(name=f"admin-{number}", daemon=True)
        self.number = number
        self.think = think
        self.start_after = start
        self.client = Client(base_url, token)
        self.reader = Client(base_url)
        self.shared = shared
        self.stop = stop
        self.delays = Tally()
        self.late = 0
        self.rng = random.Random(seed)
        self.made = []
        self.writes = Tally()
        self.indexing = {}
        self.results = multiprocessing.SimpleQueue()

    def run(self):
        if self.stop.wait(self.start_after):
            return self.send_figures()
        while not self.stop.wait(self.think):
            roll = self.rng.random()
            if roll < CREATE_SHARE or not self.made:
                self.create()
            elif roll < CREATE_SHARE + UPDATE_SHARE:
                self.update()
            else:
                self.delete()
        self.send_figures()

    def send_figures(self):
        """Send the figures to the benchmark's process."""
        self.results.put(
            {
                "writes": (
                    self.writes.statuses,
                    self.writes.latencies_ms,
                    self.writes.failures,
                ),
                "indexing": self.indexing,
                "delays": self.delays.latencies_ms,
                "late": self.late,
            }
        )

    def collect(self):
        """Take the figures the admin's process sent when it stopped."""
        figures = self.results.get()
        statuses, latencies_ms, failures = figures["writes"]
        self.writes.statuses, self.writes.latencies_ms = statuses, latencies_ms
        self.writes.failures = failures
        self.indexing = figures["indexing"]
        self.delays.latencies_ms = figures["delays"]
        self.late = figures["late"]

    def write(self, method, path, body=None):
        """Send one write and count it; return its answer and when it was sent."""
        sent = time.perf_counter()
        try:
            status, headers, answer = self.client.send(method, path, body)
        except (OSError, http.client.HTTPException):
            with self.writes.lock:
                self.writes.failures += 1
            return None, None, sent
        self.writes.add(status, (time.perf_counter() - sent) * 1000)
        state = headers.get("X-Indexing", "-")
        self.indexing[state] = self.indexing.get(state, 0) + 1
        return status, answer, sent

    def people(self, count):
        """Names of people: most new, some sharing a name with others."""
        return [f"Bench Person {self.rng.randrange(100_000)}" for _ in range(count)]

    def create(self):
        word = marker(self.rng)
        body = {
            "title": f"Bench {word}",
            "description": "Written by the admin writes benchmark.",
            "imdb_rating": round(self.rng.uniform(1, 9.9), 1),
            "genres": self.rng.sample(self.shared["genres"], 2),
            "directors": self.people(1),
            "actors": self.people(3),
            "writers": self.people(1),
        }
        status, answer, sent = self.write("POST", "/api/v1/films", body)
        if status == 201:
            self.made.append(answer["id"])
            self.check(answer["id"], word, True, sent)

    def update(self):
        if self.rng.random() < 0.5:
            film_id = self.rng.choice(self.made)
        else:
            film_id = self.rng.choice(self.shared["imported"][self.number])
        word = marker(self.rng)
        body = {
            "title": f"Bench {word}",
            "imdb_rating": round(self.rng.uniform(1, 9.9), 1),
            "actors": self.people(2),
        }
        status, _, sent = self.write("PATCH", f"/api/v1/films/{film_id}", body)
        if status == 200:
            self.check(film_id, word, True, sent)

    def delete(self):
        film_id = self.made.pop(self.rng.randrange(len(self.made)))
        status, _, sent = self.write("DELETE", f"/api/v1/films/{film_id}")
        if status == 204:
            self.check(film_id, None, False, sent)

    def seen(self, film_id, word, present):
        """Whether search shows the film (``present``) or the card is gone."""
        if present:
            path = f"/api/v1/films/search?query={quote(word)}&page_size=10"
            _, _, films = self.reader.send("GET", path)
            return film_id in [film["id"] for film in films or ()]
        status, _, _ = self.reader.send("GET", f"/api/v1/films/{film_id}")
        return status == 404

    def check(self, film_id, word, present, sent):
        """Search until the write shows; count the delay since it was sent."""
        while not self.seen(film_id, word, present):
            if time.perf_counter() - sent > SEARCH_DEADLINE:
                self.late += 1
                return
            time.sleep(0.02)
        self.delays.add(200, (time.perf_counter() - sent) * 1000)


def run(args, service):
    """Write, check and read for the duration; print the figures, return a summary."""
    rng = random.Random(args.seed)
    imported = imported_films(service.url, rng)
    shared = {
        "imported": [imported[n :: args.admins] for n in range(args.admins)],
        "genres": genre_ids(service.url),
    }
    tokens = [log_in(service.url) for _ in range(args.admins)]
    fill_caches(service, CACHED_PAGE)
    stop = multiprocessing.Event()
    admins = [
        Admin(
            n,
            service.url,
            token,
            shared,
            stop,
            args.seed * 1000 + n,
            args.admin_think_ms / 1000,
            0 if args.admins_in_step else rng.uniform(0, args.admin_think_ms / 1000),
        )
        for n, token in enumerate(tokens)
    ]
    with wrk_on_cached_page(service.url, args) as page:
        started = time.perf_counter()
        for admin in admins:
            admin.start()
        stop.wait(args.duration)
        stop.set()
        for admin in admins:
            admin.collect()
            admin.join()
        seconds = time.perf_counter() - started
    delays = Tally()
    for admin in admins:
        delays.latencies_ms += admin.delays.latencies_ms
    return report(args, admins, delays, page.result, seconds)


SUMMARY_COLUMNS = (
    ("writes/s", ">"),
    ("write p50 ms", ">"),
    ("write p99 ms", ">"),
    ("errors", ">"),
    ("searchable p99 ms", ">"),
    ("late", ">"),
    ("page rps", ">"),
    ("page p99 ms", ">"),
    ("targets met", "<"),
)


def report(args, admins, delays, page, seconds):
    """Print the table of the run; return its row of SUMMARY_COLUMNS."""
    writes = Tally()
    indexing = {}
    for admin in admins:
        for status, count in admin.writes.statuses.items():
            writes.statuses[status] = writes.statuses.get(status, 0) + count
        writes.latencies_ms += admin.writes.latencies_ms
        writes.failures += admin.writes.failures
        for state, count in admin.indexing.items():
            indexing[state] = indexing.get(state, 0) + count
    errors = writes.count(lambda s: s >= 400) + writes.failures
    late = sum(admin.late for admin in admins)
    figures = {
        "write p99 ms": writes.percentile(0.99),
        "searchable p99 ms": delays.percentile(0.99),
        "page p99 ms": page.p99_us / 1000,
    }
    print(
        f"\n{args.admins} admins (pause {args.admin_think_ms} ms"
        f"{', in step' if args.admins_in_step and args.admin_think_ms else ''})"
        f" for {seconds:.1f} s;"
        f" wrk -c{args.connections} (think {args.think_ms} ms) on {CACHED_PAGE}:"
    )
    print_table(
        (("figure", "<"), ("value", ">"), ("target", "<")),
        [
            ("writes", f"{writes.count():,}", ""),
            ("writes per second", f"{writes.count() / seconds:,.1f}", ""),
            ("statuses", json.dumps(writes.statuses, sort_keys=True), ""),
            ("write errors", errors, "0: " + ("met" if not errors else "MISSED")),
            ("X-Indexing", json.dumps(indexing, sort_keys=True), ""),
            ("write p50 ms", f"{writes.percentile(0.5):.1f}", ""),
            *[
                (
                    name,
                    f"{value:.1f}",
                    f"< {TARGETS[name]}: "
                    + ("met" if value < TARGETS[name] else "MISSED"),
                )
                for name, value in figures.items()
            ],
            ("searchable p50 ms", f"{delays.percentile(0.5):.1f}", ""),
            ("writes checked", f"{len(delays.latencies_ms):,}", ""),
            ("not searchable in 10 s", late, ""),
            ("page rps", f"{page.rps:,.0f}", ""),
            ("page p50 ms", f"{page.p50_us / 1000:.1f}", ""),
            ("page errors", page.errors, ""),
        ],
    )
    met = [name for name, value in figures.items() if value < TARGETS[name]]
    return (
        f"{writes.count() / seconds:,.1f}",
        f"{writes.percentile(0.5):.1f}",
        f"{figures['write p99 ms']:.1f}",
        errors,
        f"{figures['searchable p99 ms']:.1f}",
        late,
        f"{page.rps:,.0f}",
        f"{figures['page p99 ms']:.1f}",
        f"{len(met)} of {len(figures)}",
    )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
