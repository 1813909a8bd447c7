"""How typo searches rank and what they cost, on the embedded index.

    python bench/typos.py --index PATH [--queries 300] [--seed 7]

Takes title words of five letters or more from the index, makes one typo in
each (a letter dropped, doubled, swapped with the next, or replaced), and
searches both the word and its typo through the embedded reader, in process.
Prints, for the typos, the share whose first result, and whose first page of
20, has a title with the word meant; and the mean and p99 time of a search of
each kind. Run it from another checkout (its own copy of this file) on the same
data to compare code.
"""

import argparse
import random
import re
import sqlite3
import statistics
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from catalogue.search import FilmQuery
from catalogue.search.analysis import STOP_WORDS
from catalogue.search.embedded import EmbeddedReader

PAGE = 20


def title_words(path, count, rng):
    """Return ``count`` distinct title words of five letters or more."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    titles = [row[0] for row in conn.execute("SELECT title FROM movie")]
    conn.close()
    words = sorted(
        {
            word
            for title in titles
            for word in re.findall(r"[a-z]+", (title or "").lower())
            if len(word) >= 5 and word not in STOP_WORDS
        }
    )
    return rng.sample(words, min(count, len(words)))


def typo(word, rng):
    """Return ``word`` with one edit: a letter dropped, doubled, swapped or replaced."""
    at = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("drop", "double", "swap", "replace"))
    if kind == "drop":
        return word[:at] + word[at + 1 :]
    if kind == "double":
        return word[:at] + word[at] + word[at:]
    if kind == "swap":
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    letters = string.ascii_lowercase.replace(word[at], "")
    return word[:at] + rng.choice(letters) + word[at + 1 :]


def timed_search(reader, text):
    """Return (titles of the first page, seconds) of one search."""
    started = time.perf_counter()
    page = reader.search_films(FilmQuery(text=text, limit=PAGE), ("id", "title"))
    return [item["title"] for item in page.items], time.perf_counter() - started


def p99(values):
    return statistics.quantiles(values, n=100)[98]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    reader = EmbeddedReader(args.index, 10_000)
    words = title_words(args.index, args.queries, rng)
    pairs = [(word, typo(word, rng)) for word in words]
    timed_search(reader, words[0])  # loads the vocabulary once, untimed
    typed_times, typo_times, first, on_page = [], [], 0, 0
    for word, typed in pairs:
        typed_times.append(timed_search(reader, word)[1])
        titles, seconds = timed_search(reader, typed)
        typo_times.append(seconds)
        meant = [word in re.findall(r"[a-z]+", title.lower()) for title in titles]
        first += bool(meant and meant[0])
        on_page += any(meant)
    count = len(pairs)
    print(f"{count} title words and one typo of each, from {args.index}")
    print(f"typo: the word meant in the first title {first / count:.0%},")
    print(f"      in a title of the first page of {PAGE} {on_page / count:.0%}")
    for kind, times in (("word", typed_times), ("typo", typo_times)):
        mean, worst = statistics.mean(times) * 1000, p99(times) * 1000
        print(f"{kind}: mean {mean:.1f} ms, p99 {worst:.1f} ms a search")


if __name__ == "__main__":
    main()
