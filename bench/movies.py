"""Movies benchmark: ``GET /movies/`` against a fake provider that answers slowly.

    python bench/movies.py [--database PATH] [--delay-ms 100] [--duration 20]

Starts the fake movie provider of the tests (``tests/fixtures/movies_provider.py``,
a real HTTP server in this process) with 1,000,000 movies, every answer held
``--delay-ms``, and the real service (``gunicorn -c gunicorn.conf.py wsgi:app``)
pointed at it, on the catalogue of ``bench/collections_bench.py`` (its users sign the
requests). wrk, ``--connections`` closed-loop connections, ``bench/paths.lua``:

- ``cached``: pages 1 to 10 over and over: after each worker's first read of a
  page, answered from the cache for ``MOVIES_PROVIDER_CACHE_TTL``;
- ``uncached``: a page never asked before on every request, so each one waits
  for the provider;
- ``breaker-open``: the provider stops answering (it holds every request), a few
  requests time out and open the breaker, then wrk measures the answers (503
  with Retry-After) while it is open; the same with the provider's port closed.

Needs wrk.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from collections_bench import BENCH_JWT_SECRET, write_tokens
from load import (
    PATHS_SCRIPT,
    ROOT,
    Service,
    WrkResult,
    base_env,
    machine_line,
    print_table,
    raise_open_files_limit,
    write_paths,
)

from tests.fixtures.movies_provider import FakeProvider, LazyMovies

# Each connection's first request waits this long (see bench/paths.lua).
PAUSE_MS = 1000
COLUMNS = (
    ("scenario", "<"),
    ("rps", ">"),
    ("p50 ms", ">"),
    ("p90 ms", ">"),
    ("p99 ms", ">"),
    ("max ms", ">"),
    ("answers", "<"),
    ("provider asked", ">"),
)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    parser.add_argument(
        "--database", type=Path, default=ROOT / "var" / "bench" / "collections.sqlite"
    )
    parser.add_argument("--delay-ms", type=int, default=100)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--scenarios", default="cached,uncached,breaker-open")
    args = parser.parse_args()
    if not args.database.exists():
        sys.exit(f"{args.database} is missing: run bench/collections_bench.py first")
    args.search_index = None
    args.tokens = 1
    raise_open_files_limit()
    workdir = Path(tempfile.mkdtemp(prefix="bench-movies-"))
    token = write_tokens(args, workdir / "token.txt").read_text().strip()
    fake = FakeProvider()
    fake.movies = LazyMovies(1_000_000)
    fake.delay = args.delay_ms / 1000
    fake.start()
    env = dict(
        base_env(args),
        JWT_SECRET_KEY=BENCH_JWT_SECRET,
        MOVIES_PROVIDER_URL=fake.url,
        MOVIES_PROVIDER_USERNAME=fake.username,
        MOVIES_PROVIDER_PASSWORD=fake.password,
        MOVIES_PROVIDER_BREAKER_PATH=str(workdir / "breaker"),
        # Long enough to stay open through a run; short timeouts to open it soon.
        MOVIES_PROVIDER_PAUSE="600",
        MOVIES_PROVIDER_READ_TIMEOUT="1",
    )
    scenarios = args.scenarios.split(",")
    print(machine_line())
    print(
        f"fake provider: {args.delay_ms} ms an answer; wrk -c{args.connections},"
        f" {args.duration} s after {args.warmup} s of warm-up",
        flush=True,
    )
    rows = []
    with Service("wsgi:app", env) as service:
        headers = {"Authorization": f"Bearer {token}"}
        pages = iter(range(1, 100_001))
        if "cached" in scenarios:
            paths = write_paths(
                workdir / "cached.txt", [f"/movies/?page={n}" for n in range(1, 11)]
            )
            run_wrk(service.url, paths, token, args, args.warmup)
            rows.append(measure("cached pages 1-10", service, paths, token, fake, args))
        if "uncached" in scenarios:
            warm = [f"/movies/?page={next(pages) + 10}" for _ in range(8_000)]
            run_wrk(
                service.url,
                write_paths(workdir / "w.txt", warm),
                token,
                args,
                args.warmup,
            )
            fresh = [f"/movies/?page={next(pages) + 10}" for _ in range(40_000)]
            paths = write_paths(workdir / "uncached.txt", fresh)
            rows.append(measure("uncached pages", service, paths, token, fake, args))
        if "breaker-open" in scenarios:
            rows += breaker_rows(service, fake, headers, token, pages, workdir, args)
    if "breaker-open" not in scenarios:
        fake.stop()
    print(f"\nGET /movies/, wrk -c{args.connections}, {args.duration} s:")
    print_table(COLUMNS, rows)


def breaker_rows(service, fake, headers, token, pages, workdir, args):
    """Open the breaker with a provider that hangs, then measure while it is open."""
    rows = []
    fake.fail_with("hang")
    # Three requests at once: each times out (1 s a try, 3 tries) and they open it.
    timings = []
    threads = [
        threading.Thread(
            target=lambda n=n: timings.append(
                timed_get(service.url + f"/movies/?page={900_000 + n}", headers)
            )
        )
        for n in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"before the breaker opened: {sorted(timings)}", flush=True)
    single = [
        timed_get(service.url + f"/movies/?page={800_000 + n}", headers)
        for n in range(20)
    ]
    times = sorted(ms for _, ms in single)
    print(
        f"one request at a time, breaker open: statuses {sorted({s for s, _ in single})},"
        f" {len(times)} requests, median {times[len(times) // 2]} ms,"
        f" max {times[-1]} ms",
        flush=True,
    )
    paths = write_paths(
        workdir / "open.txt",
        [f"/movies/?page={n}" for n in range(50_000, 100_000)],
    )
    rows.append(
        measure("breaker open, provider hangs", service, paths, token, fake, args)
    )
    fake.stop()
    rows.append(
        measure(
            "breaker open, provider port closed",
            service,
            paths,
            token,
            fake,
            args,
            asked=False,
        )
    )
    return rows


def timed_get(url, headers):
    """Milliseconds and status of one GET."""
    started = time.perf_counter()
    status = 0
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=60
        ) as response:
            status = response.status
            response.read()
    except urllib.error.HTTPError as error:
        status = error.code
        error.read()
    return (status, round((time.perf_counter() - started) * 1000, 1))


def run_wrk(url, paths, token, args, duration):
    """wrk over ``paths`` with the token; return its WrkResult and status counts."""
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{duration}s",
        "--timeout=10s",
        "--latency",
        "-H",
        f"Authorization: Bearer {token}",
        "-s",
        str(PATHS_SCRIPT),
        url + "/",
        "--",
        str(paths),
        str(args.threads),
        "0",
        str(PAUSE_MS),
        str(args.connections // args.threads),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 60
    )
    for line in done.stdout.splitlines():
        if line.startswith("WRK_RESULT "):
            result = WrkResult(**json.loads(line.removeprefix("WRK_RESULT ")))
            result.pause_us = PAUSE_MS * 1000
            return result
    sys.exit(f"wrk failed:\n{done.stdout}\n{done.stderr}")


def measure(name, service, paths, token, fake, args, asked=True):
    """One measured run: its table row."""
    before = fake.requests
    result = run_wrk(service.url, paths, token, args, args.duration)
    statuses = "all 2xx" if not result.status else f"{result.status} non-2xx"
    other = result.connect + result.read + result.write + result.timeout
    if other:
        statuses += f", {other} socket errors/timeouts"
    row = (
        name,
        f"{result.rps:,.0f}",
        f"{result.p50_us / 1000:.1f}",
        f"{result.p90_us / 1000:.1f}",
        f"{result.p99_us / 1000:.1f}",
        f"{result.max_us / 1000:.0f}",
        statuses,
        fake.requests - before if asked else "-",
    )
    print(f"[{name}] {row}", flush=True)
    return row


if __name__ == "__main__":
    main()
