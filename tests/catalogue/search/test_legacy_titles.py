"""Every film of the old system's real data is found first by its full title.

The real legacy file, migrated by the project's migrations and loaded by the
ETL into each backend, as an operator does it; the searches go to the search
interface directly, a thousand of them per backend.
"""

from collections import Counter
from contextlib import closing

import pytest

from catalogue.db.sqlite import connect
from catalogue.search import FilmQuery, get_search
from catalogue.search.analysis import title_key
from tests.fixtures.search import BACKENDS, real_legacy_app


@pytest.fixture(scope="module", params=BACKENDS)
def legacy(request, tmp_path_factory):
    """The search reader of the migrated, indexed real file, and its films."""
    with real_legacy_app(request, tmp_path_factory) as (app, database):
        with closing(connect(database)) as conn:
            films = conn.execute("SELECT id, title FROM film ORDER BY id").fetchall()
        with app.app_context():
            yield get_search(), [(row["id"], row["title"]) for row in films]


def first_found(reader, text, limit=1):
    """The ids of the first films a search for ``text`` finds."""
    page = reader.search_films(FilmQuery(text=text, limit=limit), fields=("id",))
    return [item["id"] for item in page.items]


def test_every_title_of_one_film_finds_that_film_first(legacy):
    reader, films = legacy
    # Titles the same but for case, punctuation and articles are one title.
    films_per_title = Counter(title_key(title) for _, title in films)
    single = [
        (film_id, title)
        for film_id, title in films
        if title_key(title) and films_per_title[title_key(title)] == 1
    ]
    assert len(single) > 800

    missed = [
        (title, film_id, found)
        for film_id, title in single
        if (found := first_found(reader, title)) != [film_id]
    ]

    assert missed == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Not "Football's Next Star".
        ("The Next Star", ["tt1314267"]),
        # Not "Star Wars: The Clone Wars" nor "Star Wars: Empire at War"; of the
        # two films of that title, the one rated 7.8 before the one rated 6.6.
        ("Star Wars", ["tt0251413", "tt0295630"]),
        # Not "Star Wars: Rise of the Resistance".
        ("Star Wars Resistance", ["tt8336340"]),
        ("Star Wars: Empire at War", ["tt0804909"]),
    ],
)
def test_the_titles_the_issue_names_find_their_films_first(legacy, text, expected):
    reader, _ = legacy

    assert first_found(reader, text, limit=len(expected)) == expected
