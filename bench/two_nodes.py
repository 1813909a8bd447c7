"""Two API nodes on one PostgreSQL, Redis and Elasticsearch, against one node.

    python bench/two_nodes.py --database PATH [--duration 20] [--repeat 2]

Copies ``--database`` (built with ``--films`` if missing) and adds to the copy
``--users`` accounts with ``--collections`` collections, as
bench/collections_bench.py does; imports the copy's catalogue into a new
PostgreSQL database (a throwaway server, or one on ``--database-url``) and
copies the accounts and collections there; starts a Redis of its own and the
Elasticsearch test server (bench/es_test_server.py, loaded from PostgreSQL
with ``flask etl run --full``: about 5 minutes at 200,000 films), or uses
``--elasticsearch-url``, a cluster already loaded from the same catalogue with
ELASTICSEARCH_INDEX_PREFIX=``--index-prefix``. No node keeps a local file:
the embedded index, cache and queue cannot be shared by two machines.

Two nodes then serve it, each a gunicorn master (``gunicorn -c
gunicorn.conf.py wsgi:app``, GUNICORN_WORKERS from ``--workers`` or
gunicorn.conf.py's default) started from its own copy of the checkout, as
tests/test_several_machines.py starts them, on ports of their own, with the
service's defaults for the shared parts: DATABASE_POOL_SIZE 10 connections
per worker, DATABASE_POOL_TIMEOUT 5 s, REDIS_MAX_CONNECTIONS 200,
ELASTICSEARCH_MAXSIZE 100.

Each scenario is measured on one node (node A, ``--connections`` wrk
connections), then on both at once: two wrk processes started together, one
per node, each with half the connections and half the threads (wrk cannot
alternate hosts within one run). The two nodes' row adds up their requests,
rps and errors; its latencies are the slower node's (two wrk histograms do not
merge). The scenarios:

- ``cached-page``: the cached catalogue page (bench/paths.lua), every worker
  of each node warmed first;
- ``collections``: ``GET /collection/``, each request with the token of
  another of ``--tokens`` users (bench/collections.lua).

The clients share the machine's cores with both nodes, PostgreSQL, Redis and
the Elasticsearch test server. Needs wrk and redis-server.
"""

import argparse
import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis
from collections_bench import (
    add_dataset_arguments,
    copy_collections,
    seed,
    write_tokens,
    wrk_command,
)
from collections_bench import run as run_collections_wrk
from load import (
    CACHED_PAGE,
    STORE_COLUMN,
    Service,
    add_database_arguments,
    add_elasticsearch_arguments,
    add_postgresql_argument,
    add_wrk_arguments,
    base_env,
    catalogue_store,
    copy_files,
    doc_parser,
    elasticsearch,
    fill_caches,
    free_port,
    machine_line,
    prepare_database,
    print_table,
    raise_open_files_limit,
    run_line,
    run_wrk,
    write_paths,
)

from tests.test_several_machines import checkout

SCENARIOS = ("cached-page", "collections")
TARGETS_MS = {"cached-page": 50, "collections": 50}
NODES = ("node-a", "node-b")


def main():
    parser = doc_parser(__doc__)
    add_database_arguments(parser)
    add_elasticsearch_arguments(parser)
    parser.add_argument("--workers", type=int, help="GUNICORN_WORKERS of each node")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, from: {', '.join(SCENARIOS)}",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="measure each scenario this many times"
    )
    add_postgresql_argument(parser)
    add_wrk_arguments(parser)
    add_dataset_arguments(parser)
    args = parser.parse_args()
    args.search_index = None
    scenarios = args.scenarios.split(",")
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    raise_open_files_limit()
    prepare_database(args)
    workdir = Path(tempfile.mkdtemp(prefix="bench-two-nodes-"))
    try:
        rows = deploy_and_measure(args, scenarios, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(machine_line())
    print(run_line(args))
    print(
        "two nodes: one wrk per node at once, each with half the connections;"
        " their sum adds requests, rps and errors, its latencies are the slower"
        " node's"
    )
    print_table(COLUMNS, rows)


def deploy_and_measure(args, scenarios, workdir):
    """Seed a copy, deploy the shared parts and both nodes; return the rows."""
    copy = workdir / "catalogue.sqlite"
    copy_files(((args.database, copy),))
    dataset = argparse.Namespace(**dict(vars(args), database=copy))
    seed(dataset)
    tokens = write_tokens(dataset, workdir / "tokens.txt")
    with contextlib.ExitStack() as stack:
        settings = stack.enter_context(
            catalogue_store(args, "postgresql", source=copy, build_index=False)
        )
        copy_collections(copy, settings["DATABASE_URL"])
        shared = {
            "DATABASE_URL": settings["DATABASE_URL"],
            "JWT_SECRET_KEY": settings["JWT_SECRET_KEY"],
            "JWT_ACCESS_TOKEN_MINUTES": "240",
            "REDIS_URL": stack.enter_context(redis_server(workdir)),
        }
        shared["ELASTICSEARCH_URL"] = stack.enter_context(
            elasticsearch(args, base_env(dataset, shared))
        )
        shared["ELASTICSEARCH_INDEX_PREFIX"] = args.index_prefix
        nodes = [start_node(args, shared, workdir / name, stack) for name in NODES]
        return measure(args, scenarios, nodes, tokens, workdir)


def start_node(args, shared, directory, stack):
    """Serve a copy of the checkout in ``directory``, on the shared parts only."""
    checkout(directory)
    local = argparse.Namespace(
        # Paths in the node's checkout that nothing creates.
        database=directory / "var" / "none.sqlite",
        search_index=directory / "var" / "none.search.sqlite",
        workers=args.workers,
    )
    env = base_env(local, shared)
    return stack.enter_context(Service("wsgi:app", env, cwd=directory))


@contextlib.contextmanager
def redis_server(workdir):
    """Run redis-server on a free port, nothing persisted; yield its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed")
    port = free_port()
    server = subprocess.Popen(
        [
            *(binary, "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(workdir)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url, socket_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit("redis-server did not start")
                time.sleep(0.05)
        client.close()
        print(f"Redis at {url}", flush=True)
        yield url
    finally:
        server.terminate()
        server.wait(10)


def measure(args, scenarios, nodes, tokens, workdir):
    """Each scenario on node A alone, then on both nodes at once; return rows."""
    page = write_paths(workdir / "cached.txt", [CACHED_PAGE])
    rows = []
    for scenario in scenarios:
        if scenario == "cached-page":
            for node in nodes:
                fill_caches(node, CACHED_PAGE)
        for run in range(1, args.repeat + 1):
            name = scenario if args.repeat == 1 else f"{scenario} #{run}"
            for layout in (nodes[:1], nodes):
                results = at_once(args, scenario, layout, page, tokens)
                rows += layout_rows(name, scenario, layout, results, args)
                figures = ", ".join(
                    f"{r.rps:,.0f}/s p99 {r.p99_us / 1000:.1f} ms" for r in results
                )
                print(f"{name}, {len(layout)} node(s): {figures}", flush=True)
    return rows


def at_once(args, scenario, layout, page, tokens):
    """Warm up, then measure ``scenario`` on every node of ``layout`` at once.

    One wrk per node, the connections and threads shared out among them.
    """
    share = argparse.Namespace(
        **dict(
            vars(args),
            connections=args.connections // len(layout),
            threads=max(1, args.threads // len(layout)),
        )
    )

    def one(node, duration):
        if scenario == "cached-page":
            return run_wrk(node.url, page, share, duration=duration)
        command = wrk_command(
            node.url,
            tokens,
            "list",
            share.connections,
            duration,
            share,
            think_ms=args.think_ms,
        )
        return run_collections_wrk(command, duration + 60)

    with ThreadPoolExecutor(len(layout)) as pool:
        list(pool.map(lambda node: one(node, args.warmup), layout))
        return list(pool.map(lambda node: one(node, args.duration), layout))


COLUMNS = (
    STORE_COLUMN,
    ("scenario", "<"),
    ("nodes", "<"),
    ("node", "<"),
    ("conns", ">"),
    ("requests", ">"),
    ("rps", ">"),
    ("p50 ms", ">"),
    ("p90 ms", ">"),
    ("p99 ms", ">"),
    ("max ms", ">"),
    ("errors", ">"),
    ("target p99", "<"),
)


def layout_rows(name, scenario, layout, results, args):
    """A row per node of ``layout``; with two, one more adding them up."""
    label = "one" if len(layout) == 1 else "two"
    target = TARGETS_MS[scenario]
    share = args.connections // len(layout)
    rows = [
        cells(name, label, node, share, [result], target)
        for node, result in zip(NODES, results, strict=False)
    ]
    if len(layout) > 1:
        rows.append(cells(name, label, "both", args.connections, results, target))
    return rows


def cells(name, label, node, connections, results, target_ms):
    """The cells of one row: one node's result, or the sum of several."""
    slowest = max(results, key=lambda r: r.p99_us)
    errors = sum(r.errors for r in results)
    met = slowest.p99_us < target_ms * 1000 and not errors
    return (
        "postgresql",
        name,
        label,
        node,
        connections,
        sum(r.requests for r in results),
        f"{sum(r.rps for r in results):,.0f}",
        f"{slowest.p50_us / 1000:.1f}",
        f"{slowest.p90_us / 1000:.1f}",
        f"{slowest.p99_us / 1000:.1f}",
        f"{max(r.max_us for r in results) / 1000:.0f}",
        errors,
        f"<{target_ms} {'met' if met else 'MISSED'}",
    )


if __name__ == "__main__":
    main()
