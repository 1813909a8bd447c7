"""Accounts benchmark: what the request counter and log-ins cost the cached page.

    python bench/accounts.py --database PATH [--repeat 2] [--parts counter,logins]

Serves the real service (``gunicorn -c gunicorn.conf.py wsgi:app``, as
``bench/load.py`` does) on a migrated and indexed catalogue, and measures:

- ``counter``: a cached collection page with 100 closed-loop wrk connections,
  with every request counted and with ``REQUEST_COUNTING=false``, one after the
  other, ``--repeat`` times each: on the embedded default (the count in a file)
  and with Redis (cache and count in a redis-server started for the run). It
  prints requests per second of each and the ratio, counted over not counted.
- ``logins``: the same page, 100 wrk connections each waiting ``--think-ms``
  between requests, while ``--login-rate`` log-ins a second (Argon2id at the
  default cost) go to ``POST /login/``; and the page alone, for comparison.

Needs wrk and, for the Redis runs, redis-server.
"""

import contextlib
import http.client
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import (
    CACHED_PAGE,
    Service,
    add_wrk_arguments,
    base_env,
    fill_caches,
    free_port,
    machine_line,
    prepare_database,
    print_table,
    raise_open_files_limit,
    run_wrk,
    service_parser,
    write_paths,
)
from stall import Tally, timed_request

PARTS = ("counter", "logins")
PASSWORD = "correct horse battery"
# Signs the run's tokens; Redis makes the service require one.
BENCH_JWT_SECRET = "bench-signing-key-" + "0123456789" * 5


def main():
    parser = service_parser(__doc__)
    parser.set_defaults(backends="embedded")
    add_wrk_arguments(parser)
    parser.add_argument("--parts", default=",".join(PARTS), help=", ".join(PARTS))
    parser.add_argument("--repeat", type=int, default=2, help="runs of each setting")
    parser.add_argument("--login-rate", type=float, default=20, help="log-ins a second")
    parser.add_argument(
        "--login-think-ms",
        type=int,
        default=100,
        help="each cached-page client's pause in the logins part",
    )
    args = parser.parse_args()
    raise_open_files_limit()
    prepare_database(args)
    env = dict(
        base_env(args),
        JWT_SECRET_KEY=BENCH_JWT_SECRET,
        REGISTRATIONS_PER_ADDRESS="1000 per minute",
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-accounts-"))
    paths = write_paths(workdir / "cached.txt", [CACHED_PAGE])
    parts = args.parts.split(",")
    print(machine_line())
    if "counter" in parts:
        counter_part(args, env, paths)
    if "logins" in parts:
        logins_part(args, env, paths)


def counter_part(args, env, paths):
    """Cached-page rps counted and not counted, embedded and with Redis."""
    rows = []
    for store in ("embedded", "redis"):
        with redis_for(store, env) as store_env:
            runs = {"on": [], "off": []}
            for _ in range(args.repeat):
                for counting in ("on", "off"):
                    run_env = dict(store_env, REQUEST_COUNTING=str(counting == "on"))
                    with Service("wsgi:app", run_env) as service:
                        fill_caches(service, CACHED_PAGE)
                        run_wrk(service.url, paths, args, duration=args.warmup)
                        result = run_wrk(service.url, paths, args)
                    runs[counting].append(result)
                    print(
                        f"[counter {store}] counting {counting}: {result.rps:.0f} rps,"
                        f" p99 {result.p99_us / 1000:.1f} ms, {result.errors} errors",
                        flush=True,
                    )
            on = sum(r.rps for r in runs["on"]) / len(runs["on"])
            off = sum(r.rps for r in runs["off"]) / len(runs["off"])
            rows.append(
                (
                    store,
                    ", ".join(f"{r.rps:,.0f}" for r in runs["on"]),
                    ", ".join(f"{r.rps:,.0f}" for r in runs["off"]),
                    f"{on / off:.1%}",
                    "met" if on / off >= 0.9 else "MISSED",
                )
            )
    print(f"\ncached page, wrk -c{args.connections} closed loop, {args.duration} s:")
    print_table(
        (
            ("store", "<"),
            ("counted rps", ">"),
            ("not counted rps", ">"),
            ("ratio", ">"),
            (">= 90%", "<"),
        ),
        rows,
    )


def logins_part(args, env, paths):
    """The cached page's latency alone and while log-ins run."""
    args.think_ms = args.login_think_ms
    rows = []
    with Service("wsgi:app", env) as service:
        register(service.url)
        for _ in range(args.repeat):
            for with_logins in (False, True):
                fill_caches(service, CACHED_PAGE)
                logins = Tally()
                stop = threading.Event()
                sender = threading.Thread(
                    target=login_loop,
                    args=(service.url, args.login_rate, stop, logins),
                    daemon=True,
                )
                if with_logins:
                    sender.start()
                try:
                    result = run_wrk(service.url, paths, args)
                finally:
                    stop.set()
                    if with_logins:
                        sender.join()
                seconds = args.duration + args.pause_ms / 1000
                rows.append(
                    (
                        f"{args.login_rate:g}/s" if with_logins else "none",
                        f"{result.rps:,.0f}",
                        f"{result.p50_us / 1000:.1f}",
                        f"{result.p99_us / 1000:.1f}",
                        f"{result.max_us / 1000:.0f}",
                        result.errors,
                        logins.count(lambda s: s == 200) if with_logins else "-",
                        f"{logins.count() / seconds:.1f}" if with_logins else "-",
                        f"{logins.percentile(0.99):.0f}" if with_logins else "-",
                        logins.count(lambda s: s != 200) + logins.failures
                        if with_logins
                        else "-",
                        "met"
                        if result.p99_us < 50_000 and not result.errors
                        else "MISSED",
                    )
                )
                print(f"[logins] {rows[-1]}", flush=True)
    print(
        f"\ncached page, wrk -c{args.connections}, think {args.think_ms} ms,"
        f" {args.duration} s; log-ins at the default Argon2id cost:"
    )
    print_table(
        (
            ("log-ins", "<"),
            ("page rps", ">"),
            ("p50 ms", ">"),
            ("p99 ms", ">"),
            ("max ms", ">"),
            ("errors", ">"),
            ("log-ins ok", ">"),
            ("log-ins/s", ">"),
            ("log-in p99 ms", ">"),
            ("log-ins failed", ">"),
            ("p99 < 50", "<"),
        ),
        rows,
    )


def register(base_url):
    """Register the account the log-ins use."""
    conn = http.client.HTTPConnection(urlsplit(base_url).netloc, timeout=30)
    with contextlib.closing(conn):
        conn.request(
            "POST",
            "/register/",
            body=json.dumps({"username": "bench", "password": PASSWORD}),
            headers={"Content-Type": "application/json"},
        )
        response = conn.getresponse()
        response.read()
    if response.status not in (201, 409):
        sys.exit(f"registering the benchmark's account failed: {response.status}")


def login_loop(base_url, rate, stop, tally):
    """Log in ``rate`` times a second until ``stop``, each on a connection of its own.

    Each log-in is sent from a thread of its own, so that a slow one does not
    hold the rate back.
    """
    body = json.dumps({"username": "bench", "password": PASSWORD}).encode()
    headers = {"Content-Type": "application/json"}
    host = urlsplit(base_url).netloc
    senders = []

    def send():
        conn = http.client.HTTPConnection(host, timeout=30)
        with contextlib.closing(conn):
            timed_request(conn, "POST", "/login/", body, headers, tally)

    due = time.monotonic()
    while not stop.wait(max(0.0, due - time.monotonic())):
        due += 1 / rate
        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        senders.append(sender)
    for sender in senders:
        sender.join()


def wait_for_redis(url, attempts=100):
    """Wait until the Redis at ``url`` answers."""
    client = redis.Redis.from_url(url, socket_timeout=1)
    for _ in range(attempts):
        try:
            client.ping()
            return
        except redis.ConnectionError:
            time.sleep(0.1)
    sys.exit(f"redis-server at {url} did not start")


@contextlib.contextmanager
def redis_for(store, env):
    """Yield ``env``, with a redis-server of its own for the cache and count."""
    if store == "embedded":
        yield env
        return
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed: apt-get install redis-server")
    port = free_port()
    options = ("--port", str(port), "--bind", "127.0.0.1", "--save", "")
    server = subprocess.Popen(
        [binary, *options, "--appendonly", "no"], stdout=subprocess.DEVNULL
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for_redis(url)
        yield dict(env, REDIS_URL=url)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
