"""Where a request's time goes: CPU per request in process, and a profile of one kind.

    python bench/request_cpu.py --database PATH [--requests 2000] [--profile SCENARIO]

Builds the service as ``wsgi.py`` does, on ``--database`` and its embedded index
(in-process cache, no Redis: one process, as one gevent worker is), and sends
requests through Flask's test client, with no server and no network, so what
is measured is the service's own work per request:

- ``minimal``: ``GET /`` of ``bench/minimal_app.py``, Flask alone: the floor;
- ``cached-page``: the legacy collection page, cached after its first request;
- ``uncached-search``: ``/api/v1/films/search`` with a distinct query on every
  request (as ``bench/load.py`` builds them), each a miss of the response cache;
- ``anonymous-film`` and ``authenticated-film``: one film's card
  (``/api/v1/films/<id>``, not cached per user) without a token and with a
  valid access token of a user registered for the run: their difference is
  what a token costs a request;
- ``collections``: ``GET /collection/`` of that user (three collections).

Each scenario is timed with ``time.process_time`` over ``--requests`` requests
after ``--warmup`` of its own, ``--rounds`` times alternating; the table gives
the median round's CPU microseconds per request and its ratio to the minimal
app. ``--profile SCENARIO`` runs one more round of that scenario under
cProfile and prints its ``--top`` functions by own time (or ``--sort
cumulative``: with what they call), with the share of the round each takes. Run it on an otherwise idle machine: CPU time is the
process's, but a busy machine still slows its caches.
"""

import cProfile
import os
import pstats
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from load import (
    CACHED_PAGE,
    SERVICE_SETTINGS,
    distinct_searches,
    doc_parser,
    print_table,
    title_words,
)

PASSWORD = "correct horse battery"
SCENARIOS = (
    "minimal",
    "cached-page",
    "uncached-search",
    "anonymous-film",
    "authenticated-film",
    "collections",
)


def parse():
    parser = doc_parser(__doc__)
    parser.add_argument(
        "--database", type=Path, required=True, help="migrated, indexed"
    )
    parser.add_argument("--search-index", type=Path, help="default: beside --database")
    parser.add_argument("--requests", type=int, default=2000, help="per round")
    parser.add_argument("--warmup", type=int, default=200, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--profile", choices=SCENARIOS, help="profile one scenario")
    parser.add_argument("--top", type=int, default=30, help="functions profiled")
    parser.add_argument("--sort", choices=("own", "cumulative"), default="own")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args()


def configure(args):
    """Point the service's settings at the database and its index."""
    for name in [n for n in os.environ if n.startswith(SERVICE_SETTINGS)]:
        del os.environ[name]
    index = args.search_index or args.database.with_name(
        args.database.stem + ".search.sqlite"
    )
    os.environ.update(
        DATABASE_PATH=str(args.database),
        EMBEDDED_SEARCH_PATH=str(index),
        LOG_LEVEL="WARNING",
    )


class Client:
    """The service's test client, answering 2xx or stopping the run."""

    def __init__(self, app):
        self.client = app.test_client()

    def get(self, path, headers=None):
        response = self.client.get(path, headers=headers)
        if response.status_code >= 300:
            sys.exit(f"GET {path}: {response.status_code} {response.get_data()[:200]}")
        return response

    def post(self, path, body, headers=None):
        response = self.client.post(path, json=body, headers=headers)
        if response.status_code >= 300:
            sys.exit(f"POST {path}: {response.status_code} {response.get_data()[:200]}")
        return response.get_json()


def sign_in(client, username):
    """Register ``username`` with three collections; return its bearer header."""
    client.post("/register/", {"username": username, "password": PASSWORD})
    tokens = client.post("/login/", {"username": username, "password": PASSWORD})
    bearer = {"Authorization": "Bearer " + tokens["access_token"]}
    for number in range(3):
        client.post(
            "/collection/",
            {"title": f"Evenings {number}", "description": "", "movies": []},
            headers=bearer,
        )
    return bearer


def requests_of(args, service, minimal):
    """Each scenario's requests: a function sending the i-th one."""
    rng = random.Random(args.seed)
    films = service.get("/api/v1/films?page=1&page_size=100").get_json()
    films += service.get("/api/v1/films?page=7&page_size=100").get_json()
    count = (args.requests + args.warmup) * (args.rounds + 1)
    searches = distinct_searches(title_words(films), count, rng)
    if len(searches) < count:
        sys.exit(f"only {len(searches)} distinct searches: lower --requests")
    film_paths = [f"/api/v1/films/{film['id']}" for film in films]
    bearer = sign_in(service, f"profile-{uuid.uuid4().hex[:12]}")
    used = iter(searches)
    return {
        "minimal": lambda i: minimal.get("/"),
        "cached-page": lambda i: service.get(CACHED_PAGE),
        "uncached-search": lambda i: service.get(next(used)),
        "anonymous-film": lambda i: service.get(film_paths[i % len(film_paths)]),
        "authenticated-film": lambda i: service.get(
            film_paths[i % len(film_paths)], headers=bearer
        ),
        "collections": lambda i: service.get("/collection/", headers=bearer),
    }


def cpu_per_request(send, requests, warmup):
    """CPU seconds per request of ``send`` over ``requests``, after ``warmup``."""
    for i in range(warmup):
        send(i)
    started = time.process_time()
    for i in range(requests):
        send(i)
    return (time.process_time() - started) / requests


def profile(send, args):
    """Print the ``--top`` functions of one round of ``send`` by ``--sort``."""
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(args.requests):
        send(i)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    print(f"\ncProfile of {args.requests} requests of {args.profile}: {total:.2f} s")
    print(f"{'own %':>6} {'cum %':>6} {'calls/req':>9}  function")
    column = 2 if args.sort == "own" else 3
    rows = sorted(stats.stats.items(), key=lambda item: -item[1][column])[: args.top]
    for (file, line, name), (_, calls, own, cumulative, _) in rows:
        where = f"{Path(file).name}:{line}" if line else file
        print(
            f"{100 * own / total:6.1f} {100 * cumulative / total:6.1f}"
            f" {calls / args.requests:9.1f}  {name} ({where})"
        )


def main():
    args = parse()
    scenarios = args.scenarios.split(",")
    configure(args)
    # Imported once the settings are in place: wsgi makes the app as it loads.
    from minimal_app import app as minimal_app

    from wsgi import app

    sends = requests_of(args, Client(app), Client(minimal_app))
    rounds = {name: [] for name in scenarios}
    for _ in range(args.rounds):
        for name in scenarios:
            rounds[name].append(
                cpu_per_request(sends[name], args.requests, args.warmup)
            )
    floor = statistics.median(rounds["minimal"]) if "minimal" in rounds else None
    rows = []
    for name in scenarios:
        median = statistics.median(rounds[name])
        each = ", ".join(f"{1e6 * r:,.0f}" for r in rounds[name])
        ratio = f"{median / floor:.1f}" if floor else "-"
        rows.append([name, f"{1e6 * median:,.0f}", each, ratio])
    print(f"{args.requests} requests a round, {args.rounds} rounds, {args.database}")
    columns = [("scenario", "<"), ("CPU µs/request", ">"), ("rounds", ">")]
    print_table([*columns, ("x minimal", ">")], rows)
    if args.profile:
        profile(sends[args.profile], args)


if __name__ == "__main__":
    main()
