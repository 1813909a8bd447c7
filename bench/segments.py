"""What incremental loads' FTS5 segments cost the embedded index's searches, merged or not.

    python bench/segments.py [--films 20000] [--database PATH] [--seconds 5]

Builds a catalogue of ``--films`` generated films (seed 42) and its embedded
index with ``flask etl run --full`` (unless ``--database`` exists), then,
against that index:

- ``fresh``: the index as the full load left it;
- ``2 runs, unmerged``: after two incremental runs that each load a third of
  the films again (their rating changed in the catalogue), run in process by
  ``etl.runner.run``, the callable core of ``flask etl run``, with the merge
  held back, as the ETL of the previous release left them;
- ``merged``: after ``EmbeddedIndexer.merge``;
- ``2 more runs``: after two more such runs by ``flask etl run`` itself, which
  merges at its end.

For each it prints the segments of ``movie_fts`` and ``person_fts`` and the
searches per second of one thread through the search interface (the
embedded reader, in an app context per search, as a request has), over a fixed
list of queries (words and whole titles of the catalogue, drawn with
``--seed``), for ``--seconds`` after a warm-up pass; and how long the merge took.
It changes the catalogue it is given: run it on a copy.
"""

import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from load import doc_parser  # noqa: E402 - bench/ is the script's own path

from catalogue.search import FILM_SUMMARY, FilmQuery, create_reader  # noqa: E402
from catalogue.search.analysis import words  # noqa: E402
from catalogue.search.embedded import FULL_TEXT, EmbeddedIndexer  # noqa: E402

# The settings this script decides, for the commands it runs and in process.
SETTINGS = ("DATABASE_", "EMBEDDED_", "ELASTICSEARCH_", "ETL_STATE_PATH")


def main():
    parser = doc_parser(__doc__)
    parser.add_argument("--films", type=int, default=20_000)
    parser.add_argument(
        "--database",
        type=Path,
        help="migrated catalogue to use and change (default: built in a temporary"
        " directory)",
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="segments-") as scratch:
        database = args.database or Path(scratch) / "movies.sqlite"
        run(args, database)


def run(args, database):
    """Build what is missing, then measure each stage and print the table."""
    index = database.with_name(database.stem + ".search.sqlite")
    env = environment(database, index)
    if not database.exists():
        flask(env, "data", "generate", "--films", str(args.films), "--seed", "42")
        flask(env, "db", "upgrade")
        flask(env, "etl", "run", "--full")
    os.environ.clear()
    os.environ.update(env)
    from service import create_service

    app = create_service()
    reader = create_reader(app.config)
    queries = fixed_queries(database, args.queries, random.Random(args.seed))
    rows = [measure(app, reader, index, queries, args.seconds, "fresh")]

    for third in (0, 1):
        touch_a_third(database, third)
        with app.app_context(), mock.patch.object(EmbeddedIndexer, "merge"):
            from etl import runner

            summary = runner.run()
        print(f"incremental run: {summary.documents['movies']} films", flush=True)
    rows.append(measure(app, reader, index, queries, args.seconds, "2 runs, unmerged"))

    started = time.perf_counter()
    steps = EmbeddedIndexer(index).merge()
    took = time.perf_counter() - started
    print(f"merge: {steps} steps in {took:.2f} s", flush=True)
    rows.append(measure(app, reader, index, queries, args.seconds, "merged"))

    for third in (2, 0):
        touch_a_third(database, third)
        flask(env, "etl", "run")
    rows.append(measure(app, reader, index, queries, args.seconds, "2 more runs"))
    print_table(rows, len(queries), steps, took)


def environment(database, index):
    """This environment, with the catalogue and index this script decides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS)}
    env["DATABASE_PATH"] = str(database)
    env["EMBEDDED_SEARCH_PATH"] = str(index)
    return env


def flask(env, *arguments):
    """Run ``flask --app wsgi ARGUMENTS`` in the project; exit if it fails."""
    command = [sys.executable, "-m", "flask", "--app", "wsgi", *arguments]
    print(f"$ flask {' '.join(arguments)}", flush=True)
    if subprocess.run(command, cwd=ROOT, env=env, check=False).returncode:
        sys.exit(f"flask {' '.join(arguments)} failed")


def touch_a_third(database, third):
    """Change the rating of every third film (those of row ``third`` mod 3)."""
    with closing(sqlite3.connect(database)) as conn, conn:
        conn.execute(
            "UPDATE film SET imdb_rating = round(coalesce(imdb_rating, 5.0) * 0.9"
            " + 0.5, 1) WHERE rowid % 3 = ?",
            (third,),
        )


def fixed_queries(database, count, rng):
    """Words, first two words and whole titles of ``count`` titles, in order."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        titles = [row[0] for row in conn.execute("SELECT title FROM film ORDER BY id")]
    queries = []
    for title in rng.sample(titles, min(count // 3, len(titles))):
        found = words(title)
        if found:
            queries += [found[0], " ".join(found[:2]), title]
    return queries


def segments(index):
    """The segments of each full-text table of the index."""
    with closing(sqlite3.connect(f"file:{index}?mode=ro", uri=True)) as conn:
        return [
            conn.execute(f"SELECT count(DISTINCT segid) FROM {fts}_idx").fetchone()[0]
            for fts in FULL_TEXT
        ]


def measure(app, reader, index, queries, seconds, stage):
    """Search ``queries`` in turn for ``seconds`` after a warm-up pass."""

    def search(text):
        with app.app_context():
            try:
                reader.search_films(FilmQuery(text=text, limit=20), FILM_SUMMARY)
            finally:
                reader.release()

    for text in queries:
        search(text)
    done, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        search(queries[done % len(queries)])
        done += 1
    rate = done / elapsed
    print(f"{stage}: {rate:,.0f} searches/s", flush=True)
    return stage, segments(index), rate


def print_table(rows, queries, steps, took):
    """Print the stages, their segments and their searches per second."""
    fresh = rows[0][2]
    print()
    print(f"{queries} queries; the merge: {steps} steps in {took:.2f} s")
    print(
        f"{'stage':<18} {'movie_fts':>9} {'person_fts':>10} {'searches/s':>11} {'':>6}"
    )
    for stage, (movies, persons), rate in rows:
        print(
            f"{stage:<18} {movies:>9} {persons:>10} {rate:>11,.0f} {rate / fresh:>6.0%}"
        )


if __name__ == "__main__":
    main()
