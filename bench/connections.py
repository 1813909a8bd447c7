"""10,000 concurrent keep-alive connections held while 100 active clients load the API.

    python bench/connections.py --database PATH [--backends embedded] [--idle 10000]

Two apps are served the same way, ``gunicorn -c gunicorn.conf.py`` on a free
127.0.0.1 port: the catalogue (``wsgi:app``) on each backend asked for, then, as
the framework's own ceiling, ``bench/minimal_app.py`` (one route, a small JSON).
Each app is measured twice, each time on a freshly started server warmed the
same way, with the same paths:

- ``alone``: the active load only: wrk, 100 connections, ``bench/paths.lua``;
- ``held``: first this process opens the idle connections (asyncio, one socket
  each; ``GET /healthz``, ``GET /`` on the minimal app) and reads each answer;
  then the same active load runs while they stay open, and at the end every
  idle connection sends a second request on the same connection, which must be
  answered too.

The catalogue's active load mixes lists (collection and film pages, genres),
searches (films, collection, persons), film cards (new and legacy, similar films)
and persons (cards, their films), with ids and words read from the API first.
Lists repeat (cached after their first answer), most searches are distinct.

Reported: the active load's requests, requests per second, p50/p90/p99 and
errors; the idle connections opened, answered, answered again and failed; each
worker's memory (RSS) and open sockets when warm, with the idle connections open
and after the load, and its peak RSS; where the CPU went. Everything runs on the
same machine: the idle clients, wrk and gunicorn share its cores, and the CPU
table says how. Load settings (``--duration``, ``--pause-ms``, ``--workers``...)
are those of ``bench/load.py``; the idle connections must outlive the run, so it
must stay well within gunicorn's keep-alive of 75 s.
"""

import asyncio
import collections
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from load import (
    RESULT_COLUMNS,
    add_wrk_arguments,
    backend_service,
    cpu_row,
    get_json,
    machine_line,
    prepare_database,
    print_table,
    raise_open_files_limit,
    result_row,
    rss_mib,
    run_line,
    run_wrk,
    sample_films,
    service_parser,
    summary,
    title_words,
    write_paths,
)

TARGET_P99_MS = 200
MINIMAL_APP = "bench.minimal_app:app"
# Requests per second no run here reaches: sizes the pool of paths so that wrk
# does not use it up.
MAX_RATE = 3000
# How the active load's requests divide between the kinds of request.
MIX = {"lists": 30, "searches": 30, "cards": 25, "persons": 15}


def main():
    parser = service_parser(__doc__)
    add_wrk_arguments(parser)
    parser.set_defaults(backends="embedded")
    parser.add_argument("--idle", type=int, default=10_000, help="idle connections")
    parser.add_argument(
        "--open-concurrency",
        type=int,
        default=1000,
        help="idle connections being opened at once (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=42, help="of the mixed paths")
    parser.add_argument(
        "--phases",
        default="alone,held",
        help="comma-separated, from: alone, held (default: both)",
    )
    parser.add_argument(
        "--skip-minimal", action="store_true", help="do not measure the minimal app"
    )
    args = parser.parse_args()
    phases = args.phases.split(",")
    if set(phases) - {"alone", "held"}:
        parser.error("--phases takes alone, held or both")
    if args.duration > 45:
        print(
            "warning: the idle connections may outlive gunicorn's keep-alive (75 s)"
            " before their second request",
            file=sys.stderr,
        )
    limit = raise_open_files_limit()
    if limit < args.idle + 1000:
        sys.exit(f"open-files limit {limit} is too low for {args.idle} connections")
    prepare_database(args)

    workdir = Path(tempfile.mkdtemp(prefix="bench-connections-"))
    report = Report()
    for backend in args.backends.split(","):
        load = catalogue_load(args, backend, workdir)
        for phase in phases:
            measure(args, backend, "wsgi:app", "/healthz", load, phase, report)
    if not args.skip_minimal:
        files = [write_paths(workdir / "minimal.txt", ["/"])] * 2
        for phase in phases:
            measure(args, "-", MINIMAL_APP, "/", files, phase, report)
    report.print(args)


# --- the active load --------------------------------------------------------------


def catalogue_load(args, backend, workdir):
    """Write the warm-up and measured paths of the mixed load; return the files."""
    with backend_service(args, backend) as (service, _):
        rng = random.Random(args.seed)
        catalogue = sample_catalogue(service.url, rng)
    print(
        f"[{backend}] sampled {len(catalogue['films'])} films, "
        f"{len(catalogue['persons'])} persons, {len(catalogue['genres'])} genres",
        flush=True,
    )
    warmup = mixed_paths(catalogue, MAX_RATE * args.warmup, rng)
    measured = mixed_paths(catalogue, MAX_RATE * args.duration, rng)
    share = len(set(measured)) / len(measured)
    print(f"[{backend}] measured paths: {share:.0%} distinct", flush=True)
    return (
        write_paths(workdir / f"{backend}-warmup.txt", warmup),
        write_paths(workdir / f"{backend}-mixed.txt", measured),
    )


def sample_catalogue(base_url, rng, cards=200):
    """Films, persons (id, name) and genre ids read from the API."""
    films = sample_films(base_url, rng)
    persons = {}
    for film in rng.sample(films, min(cards, len(films))):
        detail = get_json(f"{base_url}/api/v1/films/{quote(film['id'])}")
        for role in ("actors", "writers", "directors"):
            for person in detail.get(role, []):
                persons[person["id"]] = person["full_name"]
    genres = get_json(f"{base_url}/api/v1/genres?page_size=100")
    return {
        "films": films,
        "words": title_words(films),
        "persons": sorted(persons.items()),
        "genres": [genre["id"] for genre in genres],
    }


def mixed_paths(catalogue, count, rng):
    """``count`` paths drawn from the request kinds of MIX, in their proportions."""
    films = [quote(film["id"]) for film in catalogue["films"]]
    persons = [quote(person_id) for person_id, _ in catalogue["persons"]]
    names = sorted({name.split()[-1] for _, name in catalogue["persons"]})
    words = catalogue["words"]
    genres = catalogue["genres"]
    sorts = ("id", "title", "imdb_rating")
    kinds = {
        "lists": (
            lambda: (
                f"/api/v1/video/collection?limit=50&page={rng.randint(1, 20)}"
                f"&sort={rng.choice(sorts)}&sort_order={rng.choice(('asc', 'desc'))}"
            ),
            lambda: (
                f"/api/v1/films?genre={rng.choice(genres)}&page={rng.randint(1, 10)}"
            ),
            lambda: "/api/v1/genres",
        ),
        "searches": (
            lambda: (
                f"/api/v1/films/search?query={quote(rng.choice(words))}"
                f"&page={rng.randint(1, 3)}"
            ),
            lambda: f"/api/v1/video/collection?search={quote(rng.choice(words))}",
            lambda: f"/api/v1/persons/search?query={quote(rng.choice(names))}",
        ),
        "cards": (
            lambda: f"/api/v1/films/{rng.choice(films)}",
            lambda: f"/api/v1/video/get/{rng.choice(films)}",
            lambda: f"/api/v1/films/{rng.choice(films)}/similar",
        ),
        "persons": (
            lambda: f"/api/v1/persons/{rng.choice(persons)}",
            lambda: f"/api/v1/persons/{rng.choice(persons)}/films",
        ),
    }
    names_of_kinds = rng.choices(list(MIX), weights=list(MIX.values()), k=count)
    return [rng.choice(kinds[kind])() for kind in names_of_kinds]


# --- one measurement ------------------------------------------------------------


def measure(args, backend, app, idle_path, files, phase, report):
    """Serve ``app``, warm it, and measure its active load in ``phase``."""
    warmup_file, measured_file = files
    label = "catalogue" if app == "wsgi:app" else "minimal flask"
    ready_path = "/readyz" if app == "wsgi:app" else "/"
    # The minimal app reads no setting: any backend's environment serves it.
    served_on = backend if app == "wsgi:app" else "embedded"
    with backend_service(args, served_on, app=app, ready_path=ready_path) as (
        service,
        search_pids,
    ):
        run_wrk(service.url, warmup_file, args, duration=args.warmup)
        memory = MemorySampler(service.worker_pids)
        memory.sample("warm")
        idle = None
        if phase == "held":
            idle = IdleClients(
                service.port, idle_path, args.idle, args.open_concurrency
            )
            idle.open()
            print(f"[{label} {backend}] idle: {idle.describe_open()}", flush=True)
            memory.sample("idle open")
        groups = {"gunicorn": service.pids, "es side": search_pids}
        result = run_wrk(
            service.url, measured_file, args, service=service, cpu_groups=groups
        )
        memory.sample("after load")
        if idle is not None:
            idle.ask_again()
            print(f"[{label} {backend}] idle: {idle.describe_again()}", flush=True)
            memory.sample("after idle")
            idle.close()
        memory.keep_peak()
    print(f"[{label} {backend} {phase}] {summary(result)}", flush=True)
    report.add(label, backend, phase, result, memory, idle)


class IdleClients:
    """Keep-alive connections that each send one request, wait, and send another.

    They live in an event loop of their own, which runs only while they open and
    while they ask again: in between they sit idle in the kernel, costing this
    process no CPU while wrk runs.
    """

    def __init__(self, port, path, count, concurrency, timeout=60):
        self.loop = asyncio.new_event_loop()
        self.port = port
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "User-Agent: bench-idle-client\r\n\r\n"
        ).encode()
        self.count = count
        self.concurrency = concurrency
        self.timeout = timeout
        self.held = []
        self.first_failures = collections.Counter()
        self.again_failures = collections.Counter()
        self.connected = 0
        self.answered = 0
        self.answered_again = 0
        self.open_seconds = 0.0
        self.again_seconds = 0.0
        self.opened_at = 0.0
        self.held_seconds = 0.0
        self.again_latencies = []

    def open(self):
        """Open every connection, send the first request, keep the answered ones."""
        started = self.opened_at = time.monotonic()
        self.loop.run_until_complete(self._open_all())
        self.open_seconds = time.monotonic() - started

    async def _open_all(self):
        gate = asyncio.Semaphore(self.concurrency)
        await asyncio.gather(*(self._open_one(gate) for _ in range(self.count)))

    async def _open_one(self, gate):
        async with gate:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", self.port), self.timeout
                )
            except (OSError, TimeoutError) as exc:
                self.first_failures[f"connect: {type(exc).__name__}"] += 1
                return
            self.connected += 1
            try:
                await asyncio.wait_for(self._exchange(reader, writer), self.timeout)
            except (
                OSError,
                TimeoutError,
                asyncio.IncompleteReadError,
                ValueError,
            ) as exc:
                self.first_failures[f"answer: {type(exc).__name__}: {exc}"[:80]] += 1
                writer.close()
                return
            self.answered += 1
            self.held.append((reader, writer))

    def ask_again(self):
        """Send the second request on every held connection and read its answer."""
        started = time.monotonic()
        self.held_seconds = started - self.opened_at
        self.loop.run_until_complete(self._ask_all())
        self.again_seconds = time.monotonic() - started

    async def _ask_all(self):
        await asyncio.gather(*(self._again(r, w) for r, w in self.held))

    async def _again(self, reader, writer):
        started = time.monotonic()
        try:
            await asyncio.wait_for(self._exchange(reader, writer), self.timeout)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            self.again_failures[f"{type(exc).__name__}: {exc}"[:80]] += 1
            return
        self.answered_again += 1
        self.again_latencies.append(time.monotonic() - started)

    async def _exchange(self, reader, writer):
        """Send the request, read the whole answer; raise unless it is a 200."""
        writer.write(self.request)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        length = 0
        for line in lines:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
            if name.strip().lower() == "connection" and "close" in value.lower():
                raise ValueError("the server closes the connection")
        await reader.readexactly(length)
        if status != 200:
            raise ValueError(f"HTTP {status}")

    def close(self):
        """Close every held connection, then the event loop."""
        for _, writer in self.held:
            writer.close()
        self.held = []
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()

    @property
    def failed(self):
        """Connections that did not answer both requests."""
        return self.count - self.answered_again

    def describe_open(self):
        """One line about the opening."""
        failures = dict(self.first_failures.most_common(3))
        return (
            f"{self.connected}/{self.count} connected, {self.answered} answered in "
            f"{self.open_seconds:.1f} s"
            + (f", failures {failures}" if failures else "")
        )

    def describe_again(self):
        """One line about the second requests."""
        failures = dict(self.again_failures.most_common(3))
        return (
            f"{self.answered_again}/{len(self.held)} answered again after "
            f"{self.held_seconds:.0f} s held, all in {self.again_seconds:.1f} s"
            + (f", failures {failures}" if failures else "")
        )


class MemorySampler:
    """Each worker's RSS and open sockets at named moments, and its peak RSS.

    The peak is the kernel's high-water mark of each worker (VmHWM): no moment
    of the run escapes it, and nothing needs to sample meanwhile.
    """

    def __init__(self, worker_pids):
        self.worker_pids = worker_pids
        self.samples = {}
        self.peak = {}

    def sample(self, moment):
        """Record the workers' RSS and sockets now, under a name."""
        self.samples[moment] = {
            pid: (rss_mib(pid), sockets(pid)) for pid in self.worker_pids()
        }

    def keep_peak(self):
        """Record each worker's peak RSS, and the most sockets it had at a moment."""
        for pid in self.worker_pids():
            most = max(
                (s[pid][1] for s in self.samples.values() if pid in s), default=0
            )
            self.peak[pid] = (rss_mib(pid, "VmHWM"), most)


def sockets(pid):
    """Open sockets of a live process."""
    count = 0
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                count += fd.readlink().name.startswith("socket:")
    except OSError:
        return 0
    return count


# --- the report -------------------------------------------------------------------


class Report:
    """The tables of a run."""

    def __init__(self):
        self.results = []
        self.idle = []
        self.memory = []
        self.cpu = []

    def add(self, label, backend, phase, result, memory, idle):
        """Add one measurement."""
        held = f"{idle.answered}" if idle else "0"
        row = result_row(label, backend, result, target_ms=TARGET_P99_MS)
        self.results.append((*row[:2], phase, held, *row[2:]))
        cpu = cpu_row(label, backend, result.cpu)
        self.cpu.append((*cpu[:2], phase, *cpu[2:]))
        if idle:
            latencies = sorted(idle.again_latencies) or [0.0]
            self.idle.append(
                (
                    label,
                    backend,
                    idle.count,
                    idle.connected,
                    idle.answered,
                    idle.answered_again,
                    idle.failed,
                    f"{idle.open_seconds:.1f}",
                    f"{idle.held_seconds:.0f}",
                    f"{idle.again_seconds:.1f}",
                    f"{statistics.median(latencies) * 1000:.0f}",
                )
            )
        for moment in ("warm", "idle open", "after load"):
            if moment in memory.samples:
                self.memory.append(
                    memory_row(label, backend, phase, moment, memory.samples[moment])
                )
        self.memory.append(memory_row(label, backend, phase, "peak", memory.peak))

    def print(self, args):
        """Print every table."""
        print()
        print(machine_line())
        print(f"{run_line(args)}; {args.idle} idle keep-alive connections")
        print("\nActive load (target: p99 < 200 ms, zero errors):")
        columns = list(RESULT_COLUMNS)
        columns[2:2] = [("phase", "<"), ("idle held", ">")]
        columns[0] = ("app", "<")
        print_table(columns, self.results)
        if self.idle:
            print("\nIdle keep-alive connections (every one must answer twice):")
            print_table(IDLE_COLUMNS, self.idle)
        print(
            "\nWorker memory, RSS MiB per worker (total), and sockets per worker"
            " (peak: the workers' high-water mark of RSS, VmHWM):"
        )
        print_table(MEMORY_COLUMNS, self.memory)
        print(
            "\nCPU during the active load, % of one core (the machine has "
            f"{os.cpu_count()} cores = {100 * os.cpu_count()}%):"
        )
        cpu_columns = [
            ("app", "<"),
            ("backend", "<"),
            ("phase", "<"),
            ("gunicorn", ">"),
            ("wrk", ">"),
            ("es side", ">"),
            ("other", ">"),
            ("idle", ">"),
            ("busiest others", "<"),
        ]
        print_table(cpu_columns, self.cpu)


IDLE_COLUMNS = (
    ("app", "<"),
    ("backend", "<"),
    ("opened", ">"),
    ("connected", ">"),
    ("answered", ">"),
    ("answered again", ">"),
    ("failed", ">"),
    ("open s", ">"),
    ("held s", ">"),
    ("2nd round s", ">"),
    ("2nd p50 ms", ">"),
)
MEMORY_COLUMNS = (
    ("app", "<"),
    ("backend", "<"),
    ("phase", "<"),
    ("moment", "<"),
    ("RSS MiB", "<"),
    ("sockets", "<"),
)


def memory_row(label, backend, phase, moment, reading):
    """A row of the memory table from {pid: (RSS MiB, sockets)}."""
    rss = [value[0] for value in reading.values()]
    rss_text = " + ".join(f"{v:.0f}" for v in rss) + f" = {sum(rss):.0f}"
    sockets_text = " + ".join(str(value[1]) for value in reading.values())
    return (label, backend, phase, moment, rss_text, sockets_text)


if __name__ == "__main__":
    main()
