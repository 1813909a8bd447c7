"""Collections benchmark: reads and writes of ``/collection/`` on a large dataset.

    python bench/collections_bench.py [--database PATH] [--parts list,writes]

Builds (once) a catalogue of ``--films`` films, migrated and indexed, then adds
``--users`` accounts holding ``--collections`` collections and ``--links``
collection-movie links over ``--movies`` provider movies, written straight into
SQLite (not through the API: that would take an hour). It serves the real
service (``gunicorn -c gunicorn.conf.py wsgi:app``) and measures, with wrk and
``bench/collections.lua`` (each request a token of another of ``--tokens`` users):

- ``list``: ``GET /collection/`` (the caller's collections and favourite genres),
  ``--connections`` closed-loop connections for ``--duration`` seconds;
- ``writes``: ``POST /collection/`` with ``--movies-per-collection`` movies from
  ``--writers`` closed-loop connections for ``--write-duration`` seconds, while
  ``--connections`` other connections read a cached catalogue page
  (``bench/paths.lua``) for as long.

With ``--stores sqlite,postgresql`` both parts run on each store (see
bench/load.py's catalogue_store): the catalogue is imported into PostgreSQL,
and the accounts, collections and links are copied there from the SQLite file
before either store is measured, so both start from the same data. PostgreSQL
runs with the service's defaults: DATABASE_POOL_SIZE 10 connections per
gunicorn worker, DATABASE_POOL_TIMEOUT 5 s. Each table has a ``store`` column.

Needs wrk.
"""

import contextlib
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from argparse import Namespace
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))

from load import (
    BENCH,
    BENCH_JWT_SECRET,
    CACHED_PAGE,
    ROOT,
    STORE_COLUMN,
    Service,
    WrkResult,
    add_store_arguments,
    base_env,
    catalogue_store,
    doc_parser,
    fill_caches,
    machine_line,
    prepare_database,
    print_table,
    raise_open_files_limit,
    run_wrk,
    stores_of,
    write_paths,
)

SCRIPT = BENCH / "collections.lua"
PARTS = ("list", "writes")
# What seed() writes, in the order of their foreign keys.
COLLECTION_TABLES = ("account", "movie_collection", "collection_movie")
# Each connection's first request waits this long (see bench/paths.lua).
PAUSE_MS = 1000
GENRES = ("Drama", "Comedy", "Action", "Thriller", "Horror, Drama", "")


def main():
    parser = doc_parser(__doc__)
    parser.add_argument(
        "--database", type=Path, default=ROOT / "var" / "bench" / "collections.sqlite"
    )
    parser.add_argument("--films", type=int, default=20_000)
    add_dataset_arguments(parser)
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--write-duration", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--writers", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--think-ms",
        type=int,
        default=0,
        help="each list or page client's pause between requests (default 0:"
        " closed loop)",
    )
    parser.add_argument(
        "--writer-think-ms",
        type=int,
        default=0,
        help="each writer's pause between requests (default 0: closed loop)",
    )
    parser.add_argument("--workers", type=int)
    add_store_arguments(parser)
    args = parser.parse_args()
    args.search_index = None
    stores = stores_of(args)
    raise_open_files_limit()
    prepare_database(args)
    seed(args)
    workdir = Path(tempfile.mkdtemp(prefix="bench-collections-"))
    tokens = write_tokens(args, workdir / "tokens.txt")
    parts = args.parts.split(",")
    lists, writes = [], []
    with contextlib.ExitStack() as stack:
        # Every store gets its copy before the first writes part adds to SQLite.
        settings = {}
        for store in stores:
            settings[store] = stack.enter_context(catalogue_store(args, store))
            if "DATABASE_URL" in settings[store]:
                copy_collections(args.database, settings[store]["DATABASE_URL"])
        print(machine_line())
        print(dataset_line(args.database), flush=True)
        for store in stores:
            env = dict(
                base_env(args, settings[store]),
                JWT_SECRET_KEY=BENCH_JWT_SECRET,
                JWT_ACCESS_TOKEN_MINUTES="240",
            )
            with Service("wsgi:app", env) as service:
                if "list" in parts:
                    lists.append((store, *list_part(args, service, tokens)))
                if "writes" in parts:
                    measured = writes_part(args, service, tokens, workdir)
                    writes += [(store, *cells) for cells in measured]
    print()
    print(machine_line())
    print(dataset_line(args.database), "(SQLite, after its runs)")
    if lists:
        print(
            f"\nGET /collection/, wrk -c{args.connections}, think {args.think_ms} ms,"
            f" {args.duration} s:"
        )
        print_table((STORE_COLUMN, *COLUMNS), lists)
    if writes:
        print(
            f"\nPOST /collection/ ({args.movies_per_collection} movies) from"
            f" {args.writers} writers (think {args.writer_think_ms} ms) while"
            f" {args.connections} clients (think {args.think_ms} ms) read a cached"
            f" catalogue page, {args.write_duration} s:"
        )
        print_table((STORE_COLUMN, *COLUMNS), writes)


def add_dataset_arguments(parser):
    """Arguments of the accounts and collections seed() writes, and of the tokens."""
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--collections", type=int, default=50_000)
    parser.add_argument("--links", type=int, default=500_000)
    parser.add_argument("--movies", type=int, default=20_000, help="provider movies")
    parser.add_argument("--tokens", type=int, default=2_000, help="users asking")
    parser.add_argument("--movies-per-collection", type=int, default=20)


def seed(args):
    """Write the accounts, movies, collections and links, unless already there."""
    conn = sqlite3.connect(args.database)
    have = conn.execute("SELECT count(*) FROM movie_collection").fetchone()[0]
    if have >= args.collections:
        conn.close()
        return
    print(
        f"seeding {args.users:,} users, {args.collections:,} collections,"
        f" {args.links:,} links",
        flush=True,
    )
    rng = random.Random(14)
    started = time.monotonic()
    with conn:
        first_account = conn.execute(
            "SELECT coalesce(max(id), 0) + 1 FROM account"
        ).fetchone()[0]
        conn.executemany(
            "INSERT INTO account (id, public_id, username, username_key,"
            " username_skeleton, password_hash) VALUES (?, ?, ?, ?, ?, 'not-a-hash')",
            (
                (
                    first_account + n,
                    str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    f"bench{n}",
                    f"bench{n}",
                    f"bench{n}",
                )
                for n in range(args.users)
            ),
        )
        conn.execute(
            "UPDATE account_id_sequence SET next_id = ?",
            (first_account + args.users,),
        )
        per_collection = args.links // args.collections
        for number in range(args.collections):
            owner = first_account + number % args.users
            collection_id = conn.execute(
                "INSERT INTO movie_collection (uuid, owner_id, title, description)"
                " VALUES (?, ?, ?, ?)",
                (
                    str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    owner,
                    f"Collection {number}",
                    "Seeded",
                ),
            ).lastrowid
            movies = rng.sample(range(1, args.movies + 1), per_collection)
            conn.executemany(
                "INSERT INTO collection_movie (collection_id, position, movie_uuid,"
                " title, description, genres) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    (
                        collection_id,
                        p,
                        movie_uuid(m),
                        f"Provider movie {m}",
                        f"The plot of movie {m}.",
                        GENRES[m % len(GENRES)],
                    )
                    for p, m in enumerate(movies)
                ),
            )
    conn.execute("ANALYZE")
    conn.close()
    print(f"seeded in {time.monotonic() - started:.1f} s", flush=True)


def copy_collections(database, url):
    """Copy seed()'s tables from the SQLite ``database`` into PostgreSQL at ``url``.

    With COPY and the tables' own triggers off; the sequences and the
    collections' revision are moved on once after it.
    """
    print("copying the accounts and collections into PostgreSQL", flush=True)
    started = time.monotonic()
    source = sqlite3.connect(database)
    with contextlib.closing(source), psycopg.connect(url) as target:
        for table in COLLECTION_TABLES:
            have = {row[1] for row in source.execute(f"PRAGMA table_info({table})")}
            columns = [
                row[0]
                for row in target.execute(
                    "SELECT column_name FROM information_schema.columns"
                    " WHERE table_name = %s ORDER BY ordinal_position",
                    (table,),
                )
                if row[0] in have
            ]
            listed = ", ".join(columns)
            target.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            with target.cursor().copy(f"COPY {table} ({listed}) FROM STDIN") as copy:
                for row in source.execute(f"SELECT {listed} FROM {table}"):
                    copy.write_row(row)
            target.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        target.execute(
            "UPDATE account_id_sequence SET next_id ="
            " (SELECT coalesce(max(id), 0) + 1 FROM account)"
        )
        target.execute(
            "SELECT setval(pg_get_serial_sequence('movie_collection', 'id'),"
            " (SELECT coalesce(max(id), 0) + 1 FROM movie_collection), false)"
        )
        target.execute("UPDATE collection_revision SET revision = revision + 1")
    with psycopg.connect(url, autocommit=True) as target:
        for table in COLLECTION_TABLES:
            target.execute(f"ANALYZE {table}")
    print(f"copied in {time.monotonic() - started:.1f} s", flush=True)


def movie_uuid(n):
    """The uuid of provider movie ``n``, as bench/collections.lua writes it."""
    return f"{n:08x}-0000-4000-8000-{n:012x}"


def write_tokens(args, path):
    """Access tokens of ``--tokens`` random users, one a line."""
    from flask_jwt_extended import create_access_token

    from app import create_app

    app = create_app(
        {
            "DATABASE_PATH": str(args.database),
            "JWT_SECRET_KEY": BENCH_JWT_SECRET,
            "JWT_ACCESS_TOKEN_MINUTES": 240,
        }
    )
    with sqlite3.connect(args.database) as conn:
        ids = [row[0] for row in conn.execute("SELECT public_id FROM account")]
    chosen = random.Random(7).sample(ids, min(args.tokens, len(ids)))
    with app.app_context():
        path.write_text("".join(create_access_token(i) + "\n" for i in chosen))
    return path


def dataset_line(database):
    """How many users, collections and links the database holds now."""
    with contextlib.closing(sqlite3.connect(database)) as conn:
        counts = [
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("account", "movie_collection", "collection_movie")
        ]
        counts.append(
            conn.execute(
                "SELECT count(DISTINCT movie_uuid) FROM collection_movie"
            ).fetchone()[0]
        )
    return (
        "dataset: {:,} users, {:,} collections, {:,} collection-movie links,"
        " {:,} provider movies".format(*counts)
    )


def wrk_command(url, tokens, mode, connections, duration, args, think_ms=0):
    """The wrk command of ``bench/collections.lua`` in ``mode``."""
    return [
        "wrk",
        f"-t{args.threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout=10s",
        "--latency",
        "-s",
        str(SCRIPT),
        url + "/",
        "--",
        str(tokens),
        mode,
        str(args.movies_per_collection),
        str(args.movies),
        str(PAUSE_MS),
        str(connections // args.threads),
        str(think_ms),
    ]


def result_of(output):
    """The WrkResult of wrk's output."""
    for line in output.splitlines():
        if line.startswith("WRK_RESULT "):
            result = WrkResult(**json.loads(line.removeprefix("WRK_RESULT ")))
            result.pause_us = PAUSE_MS * 1000
            return result
    sys.exit(f"wrk printed no result:\n{output}")


def run(command, timeout):
    """Run a wrk command; return its WrkResult."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    return result_of(done.stdout + done.stderr)


def row(name, connections, result, target_ms):
    """A row of the result table."""
    met = result.p99_us < target_ms * 1000 and not result.errors
    return (
        name,
        connections,
        f"{result.rps:,.0f}",
        f"{result.p50_us / 1000:.1f}",
        f"{result.p90_us / 1000:.1f}",
        f"{result.p99_us / 1000:.1f}",
        f"{result.max_us / 1000:.0f}",
        result.errors,
        f"< {target_ms}: {'met' if met else 'MISSED'}",
    )


COLUMNS = (
    ("scenario", "<"),
    ("conns", ">"),
    ("rps", ">"),
    ("p50 ms", ">"),
    ("p90 ms", ">"),
    ("p99 ms", ">"),
    ("max ms", ">"),
    ("errors", ">"),
    ("p99 target", "<"),
)


def list_part(args, service, tokens):
    """GET /collection/ at --connections closed-loop clients; return its row."""
    run(
        wrk_command(service.url, tokens, "list", args.connections, args.warmup, args),
        args.warmup + 60,
    )
    result = run(
        wrk_command(
            service.url,
            tokens,
            "list",
            args.connections,
            args.duration,
            args,
            think_ms=args.think_ms,
        ),
        args.duration + 60,
    )
    return row("list collections", args.connections, result, 50)


def writes_part(args, service, tokens, workdir):
    """POST /collection/ from --writers clients while others read a cached page.

    Returns the rows of the writes and of the page.
    """
    paths = write_paths(workdir / "cached.txt", [CACHED_PAGE])
    fill_caches(service, CACHED_PAGE)
    page_args = Namespace(
        threads=args.threads,
        connections=args.connections,
        timeout=10,
        think_ms=args.think_ms,
        pause_ms=PAUSE_MS,
        duration=args.write_duration,
    )
    run_wrk(service.url, paths, page_args, duration=args.warmup)
    writers = subprocess.Popen(
        wrk_command(
            service.url,
            tokens,
            "create",
            args.writers,
            args.write_duration,
            args,
            think_ms=args.writer_think_ms,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    page = run_wrk(service.url, paths, page_args)
    output, _ = writers.communicate(timeout=args.write_duration + 60)
    writes = result_of(output)
    return [
        row("create collections", args.writers, writes, 200),
        row("cached catalogue page", args.connections, page, 50),
    ]


if __name__ == "__main__":
    main()
