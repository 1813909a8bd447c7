"""Stall benchmark: do reads stall while the catalogue is being written?

    python bench/stall.py --database PATH [--think-ms 100] [--phases idle,etl,...]

A SQLite lock wait never yields to gevent: one request waiting on a lock freezes
every request of its worker. This script serves the real service (``gunicorn -c
gunicorn.conf.py wsgi:app``, as ``bench/load.py`` does) on a 200,000-film
catalogue and measures reads during each phase:

- ``idle``: nothing writes (``--duration`` seconds);
- ``etl``: an incremental ``flask etl run`` after a third of the films changed
  (``UPDATE film SET imdb_rating = imdb_rating WHERE rowid % 3 = 0``), measured
  from its start to its end;
- ``etl+writes``: the same, while another process commits short write
  transactions to the catalogue database back to back (``BEGIN IMMEDIATE``, one
  row, ``COMMIT``), as a request that writes would;
- ``writes``: those transactions alone, for ``--duration`` seconds.

Throughout, wrk holds ``--connections`` (100) connections on a cached page, each
waiting ``--think-ms`` between requests, and ``--search-rate`` uncached
searches a second go out (``/api/v1/video/collection?search=WORD&nc=N``, a new N
each time), as in the defect report. It prints the cached page's p50, p99 and max and its errors, and the
searches' count, p99, max, 503s and other 5xx.

The writes are pluggable: ``--write-request 'POST /path @body.json'`` (with
``--write-header 'Authorization: Bearer ...'``, repeatable) sends that request
back to back instead of the SQL transactions, so that an issue that adds a
write endpoint measures its own writes the same way; each answer's status is
counted.

The script needs only HTTP and the ``flask`` commands, so the same file can
measure an older checkout (copy it there) against the same data.
"""

import contextlib
import http.client
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import (
    CACHED_PAGE,
    PATHS_SCRIPT,
    ROOT,
    Service,
    WrkResult,
    base_env,
    errors_text,
    fill_caches,
    machine_line,
    prepare_database,
    print_table,
    raise_open_files_limit,
    sample_films,
    service_parser,
    title_words,
)

PHASES = ("idle", "etl", "etl+writes", "writes")
DIRTY_FILMS = "UPDATE film SET imdb_rating = imdb_rating WHERE rowid % 3 = 0"
TARGET_CACHED_P99_MS = 50
TARGET_MAX_MS = 1000


def main():
    parser = service_parser(__doc__)
    parser.set_defaults(backends="embedded")
    parser.add_argument(
        "--phases", default=",".join(PHASES), help="from: " + ", ".join(PHASES)
    )
    parser.add_argument(
        "--duration", type=int, default=20, help="seconds of idle and writes"
    )
    parser.add_argument(
        "--connections", type=int, default=100, help="wrk -c, cached page"
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk -t")
    parser.add_argument(
        "--think-ms", type=int, default=100, help="each cached-page client's pause"
    )
    parser.add_argument(
        "--search-rate", type=float, default=10, help="uncached searches a second"
    )
    parser.add_argument(
        "--write-request",
        help="'METHOD /path [@body-file]' sent back to back instead of SQL writes",
    )
    parser.add_argument(
        "--write-header", action="append", default=[], help="'Name: value' of it"
    )
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    phases = args.phases.split(",")
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    raise_open_files_limit()
    prepare_database(args)

    env = base_env(args)
    rows = []
    with Service("wsgi:app", env) as service:
        rng = random.Random(args.seed)
        words = title_words(sample_films(service.url, rng))
        for phase in phases:
            fill_caches(service, CACHED_PAGE)
            rows.append(measure(phase, service, env, words, args, rng))
            print(f"[{phase}] {rows[-1].line()}", flush=True)
    print()
    print(machine_line())
    print(
        f"{args.connections} cached-page clients, think {args.think_ms} ms;"
        f" {args.search_rate:g} uncached searches/s; targets: cached p99 <"
        f" {TARGET_CACHED_P99_MS} ms, no request over {TARGET_MAX_MS} ms,"
        " no 503 nor other 5xx"
    )
    print_table(Measurement.COLUMNS, [row.cells() for row in rows])


@dataclass
class Tally:
    """Statuses and latencies of the requests of one client kind."""

    statuses: dict = field(default_factory=dict)
    latencies_ms: list = field(default_factory=list)
    failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status, latency_ms):
        """Count one answer."""
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.latencies_ms.append(latency_ms)

    def count(self, predicate=lambda status: True):
        """How many answers had a status that passes ``predicate``."""
        return sum(n for status, n in self.statuses.items() if predicate(status))

    def percentile(self, share):
        """The latency below which ``share`` of the answers came, in ms."""
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Measurement:
    """What one phase measured."""

    phase: str
    seconds: float
    cached: WrkResult
    searches: Tally
    writes: Tally | None
    etl_error: str | None = None

    COLUMNS = (
        ("phase", "<"),
        ("s", ">"),
        ("cached rps", ">"),
        ("p50 ms", ">"),
        ("p99 ms", ">"),
        ("max ms", ">"),
        ("errors", ">"),
        ("searches", ">"),
        ("s p99 ms", ">"),
        ("s max ms", ">"),
        ("503", ">"),
        ("other 5xx", ">"),
        ("writes", ">"),
        ("verdict", "<"),
        ("etl failed", "<"),
    )

    def met(self):
        """Whether the phase met every target."""
        return (
            self.cached.p99_us < TARGET_CACHED_P99_MS * 1000
            and self.cached.max_us < TARGET_MAX_MS * 1000
            and not self.cached.errors
            and max(self.searches.latencies_ms, default=0) < TARGET_MAX_MS
            and not self.searches.count(lambda status: status >= 500)
            and not self.searches.failures
            and not self.etl_error
        )

    def writes_text(self):
        """The writes done, and the failed ones, if any."""
        if self.writes is None:
            return "-"
        failed = self.writes.count(lambda status: status >= 400) + self.writes.failures
        done = self.writes.count() - self.writes.count(lambda status: status >= 400)
        return f"{done}" + (f" ({failed} failed)" if failed else "")

    def cells(self):
        """A row of the table."""
        return (
            self.phase,
            f"{self.seconds:.1f}",
            f"{self.cached.requests / self.seconds:.0f}",
            f"{self.cached.p50_us / 1000:.1f}",
            f"{self.cached.p99_us / 1000:.1f}",
            f"{self.cached.max_us / 1000:.0f}",
            errors_text(self.cached),
            self.searches.count(),
            f"{self.searches.percentile(0.99):.1f}",
            f"{max(self.searches.latencies_ms, default=0):.0f}",
            self.searches.count(lambda status: status == 503),
            self.searches.count(lambda status: status >= 500 and status != 503)
            + self.searches.failures,
            self.writes_text(),
            "met" if self.met() else "MISSED",
            self.etl_error or "",
        )

    def line(self):
        """One line about the phase."""
        return ", ".join(
            f"{name} {value}"
            for (name, _), value in zip(self.COLUMNS[1:], self.cells()[1:], strict=True)
        )


def measure(phase, service, env, words, args, rng):
    """Run one phase; return its Measurement."""
    stop = threading.Event()
    searches = Tally()
    # Two paced senders, so that one slow answer does not hold the rate back.
    threads = [
        threading.Thread(
            target=search_loop,
            args=(service.url, words, rng.random(), args.search_rate / 2, stop),
            kwargs={"tally": searches},
            daemon=True,
        )
        for _ in range(2)
    ]
    writes = None
    if phase in ("etl+writes", "writes"):
        writes = Tally()
        if args.write_request:
            target = request_loop
            arguments = (service.url, args.write_request, args.write_header, stop)
        else:
            target, arguments = sql_write_loop, (args.database, stop)
        threads.append(
            threading.Thread(
                target=target, args=arguments, kwargs={"tally": writes}, daemon=True
            )
        )
    if phase.startswith("etl"):
        with contextlib.closing(sqlite3.connect(args.database)) as conn, conn:
            changed = conn.execute(DIRTY_FILMS).rowcount
        print(f"[{phase}] {changed} films changed", flush=True)
    try:
        with wrk_on_cached_page(service.url, args) as cached:
            started = time.monotonic()
            for thread in threads:
                thread.start()
            etl_error = None
            if phase.startswith("etl"):
                etl_error = run_etl(env)
            else:
                time.sleep(args.duration)
            seconds = time.monotonic() - started
    finally:
        stop.set()
        for thread in threads:
            if thread.is_alive():
                thread.join()
    return Measurement(phase, seconds, cached.result, searches, writes, etl_error)


def run_etl(env):
    """Run ``flask etl run``; return None, or the last line of its error."""
    etl = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "etl", "run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if not etl.returncode:
        return None
    print(f"flask etl run failed:\n{etl.stderr[-2000:]}", flush=True)
    return (etl.stderr.strip().splitlines() or ["?"])[-1]


class CachedPageLoad:
    """wrk on the cached page, until stopped; its WrkResult once stopped."""

    result = None


@contextlib.contextmanager
def wrk_on_cached_page(base_url, args):
    """Hold wrk's connections on the cached page while the block runs."""
    handle, name = tempfile.mkstemp(prefix="bench-stall-", suffix=".txt")
    with os.fdopen(handle, "w") as paths:
        paths.write(CACHED_PAGE + "\n")
    load = CachedPageLoad()
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        "-d3600s",
        "--timeout=10s",
        "--latency",
        "-s",
        str(PATHS_SCRIPT),
        base_url + "/",
        "--",
        name,
        str(args.threads),
        str(args.think_ms),
        "1000",
        str(args.connections // args.threads),
    ]
    wrk = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        time.sleep(1.5)  # every connection accepted before the measurement starts
        yield load
    finally:
        wrk.send_signal(signal.SIGINT)
        out, err = wrk.communicate(timeout=60)
        Path(name).unlink(missing_ok=True)
    for line in out.splitlines():
        if line.startswith("WRK_RESULT "):
            load.result = WrkResult(**json.loads(line.removeprefix("WRK_RESULT ")))
            return
    sys.exit(f"wrk failed ({wrk.returncode}):\n{out}\n{err}")


def search_loop(base_url, words, seed, rate, stop, tally):
    """Send ``rate`` uncached searches a second until ``stop``."""
    rng = random.Random(seed)
    conn = http.client.HTTPConnection(urlsplit(base_url).netloc, timeout=30)
    due = time.monotonic()
    while not stop.wait(max(0.0, due - time.monotonic())):
        due += 1 / rate
        path = (
            f"/api/v1/video/collection?search={quote(rng.choice(words))}"
            f"&nc={rng.randrange(10**9)}"
        )
        timed_request(conn, "GET", path, None, {}, tally)
    conn.close()


def request_loop(base_url, spec, header_lines, stop, tally):
    """Send the write request ``spec`` back to back until ``stop``."""
    method, path, *rest = spec.split()
    body = Path(rest[0].removeprefix("@")).read_bytes() if rest else None
    headers = dict(line.split(":", 1) for line in header_lines)
    headers = {name.strip(): value.strip() for name, value in headers.items()}
    if body is not None:
        headers.setdefault("Content-Type", "application/json")
    conn = http.client.HTTPConnection(urlsplit(base_url).netloc, timeout=30)
    run = uuid.uuid4().hex[:8]
    counter = 0
    while not stop.is_set():
        counter += 1
        # {n} in the path or the body makes each request distinct, across runs too.
        n = f"{run}{counter}"
        timed_request(
            conn,
            method,
            path.replace("{n}", n),
            body.replace(b"{n}", n.encode()) if body else None,
            headers,
            tally,
        )
    conn.close()


def timed_request(conn, method, path, body, headers, tally):
    """Send one request on ``conn`` and count its answer."""
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        tally.add(response.status, (time.perf_counter() - started) * 1000)
    except OSError:
        with tally.lock:
            tally.failures += 1
        conn.close()


def sql_write_loop(database, stop, tally):
    """Commit short write transactions to the catalogue back to back until ``stop``.

    Another process's, as an admin script or a second service would; each waits
    up to 5 s for the write lock.
    """
    script = f"""
import sqlite3, sys, time
conn = sqlite3.connect({str(database)!r}, isolation_level=None, timeout=5)
conn.execute("CREATE TABLE IF NOT EXISTS bench_write (n INTEGER PRIMARY KEY, at REAL)")
done = failed = 0
try:
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO bench_write (at) VALUES (?)", (time.time(),))
            conn.execute("COMMIT")
            done += 1
        except sqlite3.OperationalError:
            failed += 1
except KeyboardInterrupt:
    pass
print(done, failed)
"""
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    )
    try:
        stop.wait()
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    done, failed = (int(n) for n in re.findall(r"\d+", out)[:2])
    tally.statuses = {200: done}
    tally.failures = failed
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as conn:
        conn.execute("DROP TABLE bench_write")


if __name__ == "__main__":
    main()
