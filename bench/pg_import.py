"""Import benchmark: a legacy file of 200,000 films into PostgreSQL with flask db import.

    python bench/pg_import.py [--legacy PATH] [--films 200000] [--repeat 2]

``--legacy`` is a legacy database as the generator writes it (not migrated);
without it one is generated at ``var/bench/legacy-200000.sqlite`` (kept for
the next run). Each round copies it, starts from an empty PostgreSQL database
(a throwaway server of this run, as the tests start theirs), runs ``flask db
upgrade`` and times ``flask db import`` as an operator runs it: the cleaning of
the copy by SQLite's migrations, then the copy into PostgreSQL, each phase
timed by the command's own output lines. A second import of the same file
(which must change nothing) is timed too.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from load import doc_parser  # noqa: E402 - the path is set first

from tests.fixtures.postgresql import (  # noqa: E402 - the path is set first
    create_database,
    running_server,
)

SETTINGS = ("DATABASE_PATH", "DATABASE_URL", "ELASTICSEARCH_URL", "REDIS_URL")


def parse():
    parser = doc_parser(__doc__)
    parser.add_argument("--legacy", type=Path, help="a legacy file (not migrated)")
    parser.add_argument("--films", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2)
    return parser.parse_args()


def env_of(database_path, database_url=None):
    """The environment of a ``flask`` command on these databases."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env.update(
        DATABASE_PATH=str(database_path),
        JWT_SECRET_KEY="bench-signing-key-" + "0" * 48,
        SINGLE_NODE="true",
        ETL_NICENESS="0",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def flask(env, *arguments):
    """Run ``flask --app wsgi ARGUMENTS``; return (seconds, output lines)."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode:
        sys.exit(f"flask {' '.join(arguments)} failed:\n{result.stderr}")
    return seconds, result.stdout.splitlines()


def legacy_file(args):
    if args.legacy:
        return args.legacy
    path = ROOT / "var" / "bench" / f"legacy-{args.films}.sqlite"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {path} ({args.films} films)", flush=True)
        flask(
            env_of(path), "data", "generate", "--films", str(args.films), "--seed", "42"
        )
    return path


def cleaning_seconds(lines):
    """The SQLite migrations' own seconds, from their 'applied ... in N s' lines."""
    return sum(
        float(line.rsplit(" in ", 1)[1].split()[0])
        for line in lines
        if line.startswith("applied ")
    )


def main():
    args = parse()
    legacy = legacy_file(args)
    rows = []
    with running_server() as server, tempfile.TemporaryDirectory() as tmp:
        for round_ in range(1, args.repeat + 1):
            copy = Path(tmp) / f"legacy-{round_}.sqlite"
            shutil.copyfile(legacy, copy)
            subprocess.run(["sync"], check=True)
            url = create_database(server)
            env = env_of(copy, url)
            flask(env, "db", "upgrade")
            total, lines = flask(env, "db", "import", str(copy))
            clean = cleaning_seconds(lines)
            again, again_lines = flask(env, "db", "import", str(copy))
            with closing(psycopg.connect(url)) as conn:
                films = conn.execute("SELECT count(*) FROM film").fetchone()[0]
                links = conn.execute(
                    "SELECT (SELECT count(*) FROM film_person)"
                    " + (SELECT count(*) FROM film_genre)"
                ).fetchone()[0]
            rows.append((round_, films, links, clean, total - clean, total, again))
            print(again_lines[-1], flush=True)
    print()
    print("round  films    links      clean s  copy s  import s  again s")
    for round_, films, links, clean, copy_s, total, again in rows:
        print(
            f"{round_:>5}  {films:>7}  {links:>9}  {clean:>7.1f}  {copy_s:>6.1f}"
            f"  {total:>8.1f}  {again:>7.1f}"
        )


if __name__ == "__main__":
    main()
