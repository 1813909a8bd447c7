"""The search contract of ``catalogue.search``, run against every backend.

A small hand-written catalogue, built by the factories of ``tests.documents``,
goes through the write side (prepare, write, publish) and every expectation
below is worked out by hand from it.
"""

import os
from contextlib import closing

import pytest

from catalogue.db.sqlite import connect
from catalogue.search import (
    FILM_SUMMARY,
    GENRES,
    MOVIES,
    PERSONS,
    FilmQuery,
    ResultWindowExceeded,
    SearchError,
    SearchUnavailable,
    Sort,
    get_indexer,
    get_search,
)
from catalogue.search.embedded import EmbeddedIndexer, EmbeddedReader
from tests.documents import film, genre, person, write_catalogue

# The catalogue ------------------------------------------------------------

ACTION = genre("action", "Action")
ADVENTURE = genre("adventure", "Adventure")
DRAMA = genre("drama", "drama")  # lower case, as some legacy genres are
FAMILY = genre("family", "Family")
HORROR = genre("horror", "Horror")
SCIFI = genre("scifi", "Sci-Fi")

BRANAGH = person("branagh", "Kenneth Branagh")
CAMPBELL_SCOTT = person("campbell-scott", "Campbell Scott")
CRONENBERG = person("cronenberg", "David Cronenberg")
DE_SOUZA = person("de-souza", "Steven E. de Souza")
FLEMING = person("fleming", "Victor Fleming")
FORD = person("ford", "Harrison Ford")
GARLAND = person("garland", "Judy Garland")
GLASER = person("glaser", "Paul Michael Glaser")
HAMILL = person("hamill", "Mark Hamill")
KERSHNER = person("kershner", "Irvin Kershner")
LANGLEY = person("langley", "Noel Langley")
LAW = person("law", "Jude Law")
LUCAS = person("lucas", "George Lucas")
OBANNON = person("obannon", "Dan O'Bannon")
RIDLEY_SCOTT = person("ridley-scott", "Ridley Scott")
SCHWARZENEGGER = person("schwarzenegger", "Arnold Schwarzenegger")
WEAVER = person("weaver", "Sigourney Weaver")

WIZARD_OF_OZ = film(
    "tt0032138",
    "The Wizard of Oz",
    8.1,
    "Young Dorothy Gale and her dog are swept away by a tornado from their Kansas"
    " farm to the magical Land of Oz, and embark on a quest with three new friends"
    " to see the Wizard.",
    genres=(ADVENTURE, FAMILY),
    directors=(FLEMING,),
    actors=(GARLAND,),
    writers=(LANGLEY,),
)
STAR_WARS = film(
    "tt0076759",
    "Star Wars",
    8.6,
    "Luke Skywalker joins forces with a Jedi Knight, a cocky pilot, a Wookiee and"
    " two droids to save the galaxy from the Empire's world-destroying battle"
    " station.",
    genres=(ACTION, ADVENTURE, SCIFI),
    directors=(LUCAS,),
    actors=(HAMILL, FORD),
    writers=(LUCAS,),
)
ALIEN = film(
    "tt0078748",
    "Alien",
    8.5,
    "The crew of a commercial spacecraft encounters a deadly lifeform after"
    " investigating an unknown transmission.",
    genres=(HORROR, SCIFI),
    directors=(RIDLEY_SCOTT,),
    actors=(WEAVER,),
    writers=(OBANNON,),
)
EMPIRE_STRIKES_BACK = film(
    "tt0080684",
    "Star Wars: Episode V - The Empire Strikes Back",
    8.7,
    "After the Rebels are overpowered on the ice planet Hoth, Luke begins Jedi"
    " training with Yoda.",
    genres=(ACTION, ADVENTURE, SCIFI),
    directors=(KERSHNER,),
    actors=(HAMILL, FORD),
    writers=(LUCAS,),
)
RUNNING_MAN = film(
    "tt0093894",
    "The Running Man",
    6.7,
    "A wrongly convicted police officer must try to survive a public execution"
    " gauntlet staged as a television game show.",
    genres=(ACTION, SCIFI),
    directors=(GLASER,),
    actors=(SCHWARZENEGGER,),
    writers=(DE_SOUZA,),
)
HAMLET_1996 = film(
    "tt0116477",
    "Hamlet",
    7.7,
    genres=(DRAMA,),
    directors=(BRANAGH,),
    actors=(BRANAGH,),
)
EXISTENZ = film(
    "tt0120907",
    "eXistenZ",
    6.7,
    "A game designer hunted by assassins must play her latest virtual reality"
    " creation to find out if it has been damaged.",
    genres=(HORROR, SCIFI),
    directors=(CRONENBERG,),
    actors=(LAW,),
    writers=(CRONENBERG,),
)
HAMLET_2000 = film(
    "tt0171359",
    "Hamlet",
    None,
    genres=(DRAMA,),
    directors=(CAMPBELL_SCOTT,),
    actors=(CAMPBELL_SCOTT,),
)
ZVEZDNYE_VOINY = film(
    "tt9000001",
    "Звёздные войны",
    None,
    "Люк Скайуокер и его друзья сражаются против Империи в далёкой галактике.",
    genres=(SCIFI,),
)
FILMS = (
    WIZARD_OF_OZ,
    STAR_WARS,
    ALIEN,
    EMPIRE_STRIKES_BACK,
    RUNNING_MAN,
    HAMLET_1996,
    EXISTENZ,
    HAMLET_2000,
    ZVEZDNYE_VOINY,
)
ALL_IDS = [f["id"] for f in FILMS]


def load(indexer, generation, films=FILMS, *, genres=None, persons=None):
    """Write a whole catalogue into ``generation`` and make it live."""
    write_catalogue(indexer, generation, films, genres=genres, persons=persons)
    indexer.publish(generation)


@pytest.fixture
def catalogue(reader, indexer):
    """The reader, with the whole catalogue live as generation ``gen1``."""
    load(indexer, "gen1")
    return reader


def search(reader, **query):
    """Return the page of films that ``FilmQuery(**query)`` finds."""
    return reader.search_films(FilmQuery(**query))


def ids(page):
    """The ids of a page's items, in order."""
    return [item["id"] for item in page.items]


# Full text ----------------------------------------------------------------


@pytest.mark.parametrize("text", ["войны", "война", "звездные", "Звёздные войны"])
def test_text_matches_russian_word_forms(catalogue, text):
    assert ids(search(catalogue, text=text)) == ["tt9000001"]


@pytest.mark.parametrize("text", ["running", "run", "runs", "The Running Man"])
def test_text_matches_english_word_forms(catalogue, text):
    assert ids(search(catalogue, text=text)) == ["tt0093894"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("skywalkr", ["tt0076759"]),  # a letter missing
        ("skywlkr", ["tt0076759"]),  # two edits: allowed above five letters
        ("skwlkr", []),  # three edits
        ("jeid", ["tt0076759", "tt0080684"]),  # a swap is one edit
        ("jdie", []),  # two edits: too many for four letters
        ("garlnd", ["tt0032138"]),
    ],
)
def test_text_tolerates_typos(catalogue, text, expected):
    assert ids(search(catalogue, text=text, sort=(Sort("id"),))) == expected


def test_two_letter_words_must_match_exactly(catalogue):
    assert ids(search(catalogue, text="oz")) == ["tt0032138"]
    assert search(catalogue, text="ox").total == 0


def test_every_term_must_match(catalogue):
    assert ids(search(catalogue, text="hamill ford", sort=(Sort("id"),))) == [
        "tt0076759",
        "tt0080684",
    ]
    assert search(catalogue, text="star wars").total == 2
    assert search(catalogue, text="hamill weaver").total == 0
    assert search(catalogue, text="kansas skywalker").total == 0


@pytest.mark.parametrize("text", ["the of and", "и в на", "!!! ...", ""])
def test_text_without_terms_matches_nothing(catalogue, text):
    page = search(catalogue, text=text)
    assert (page.total, page.items) == (0, [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kansas", ["tt0032138"]),  # description
        ("horror", ["tt0078748", "tt0120907"]),  # genre names
        ("kershner", ["tt0080684"]),  # directors
        ("garland", ["tt0032138"]),  # actors_names
        ("o'bannon", ["tt0078748"]),  # writers_names
        ("cronenberg", ["tt0120907"]),  # director and writer: found once
    ],
)
def test_text_searches_every_field(catalogue, text, expected):
    assert ids(search(catalogue, text=text, sort=(Sort("id"),))) == expected


def test_hits_of_equal_relevance_come_in_id_order_on_every_page(reader, indexer):
    # Written in reverse id order, so no store keeps them in id order by chance.
    twins = [
        film(f"tt000000{n}", "Twin Peaks", 7.0, "The same words.")
        for n in (5, 4, 3, 2, 1)
    ]
    namesakes = [
        {"id": f"p-{n}", "full_name": "Laura Palmer", "films": []} for n in (3, 2, 1)
    ]
    write_catalogue(indexer, "gen1", twins, persons=namesakes)
    indexer.publish("gen1")
    in_order = [f"tt000000{n}" for n in (1, 2, 3, 4, 5)]

    pages = [
        ids(search(reader, text="twin peaks", offset=o, limit=2)) for o in (0, 2, 4)
    ]
    assert pages == [in_order[:2], in_order[2:4], in_order[4:]]
    assert ids(search(reader, text="twin peaks", limit=5)) == in_order
    persons = [
        reader.search_persons("laura palmer", offset=o, limit=1) for o in (0, 1, 2)
    ]
    assert [p.items[0]["id"] for p in persons] == ["p-1", "p-2", "p-3"]
    found = reader.search_persons("laura palmer", limit=3)
    assert [person["id"] for person in found.items] == ["p-1", "p-2", "p-3"]


def test_title_matches_rank_above_other_fields(catalogue):
    # "Empire" is in one title and in another film's description.
    assert ids(search(catalogue, text="empire")) == ["tt0080684", "tt0076759"]


def test_equally_relevant_films_come_in_id_order(catalogue):
    # Both Hamlets have the same title and the same number of terms elsewhere.
    assert ids(search(catalogue, text="hamlet")) == ["tt0116477", "tt0171359"]


def test_text_combines_with_filters_and_sort(catalogue):
    assert ids(search(catalogue, text="star wars", sort=(Sort("title", True),))) == [
        "tt0080684",
        "tt0076759",
    ]
    assert ids(search(catalogue, text="star wars", rating_min=8.7)) == ["tt0080684"]
    assert ids(
        search(catalogue, text="luke", genre_ids=("g-action",), sort=(Sort("id"),))
    ) == ["tt0076759", "tt0080684"]
    assert ids(search(catalogue, text="star", ids=("tt0080684", "tt0078748"))) == [
        "tt0080684"
    ]
    # "Gale" is one edit from "game".
    assert ids(
        search(catalogue, text="game", exclude_ids=("tt0120907",), sort=(Sort("id"),))
    ) == ["tt0032138", "tt0093894"]


# Filters ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"genre_ids": ("g-action", "g-adventure")}, ["tt0076759", "tt0080684"]),
        ({"genre_ids": ("g-horror", "g-drama")}, []),
        (
            {"any_genre_ids": ("g-horror", "g-drama")},
            ["tt0078748", "tt0116477", "tt0120907", "tt0171359"],
        ),
        (
            {"genre_ids": ("g-scifi",), "any_genre_ids": ("g-horror", "g-family")},
            ["tt0078748", "tt0120907"],
        ),
        (
            {"genre_ids": ("g-action",), "exclude_ids": ("tt0076759", "tt0000000")},
            ["tt0080684", "tt0093894"],
        ),
        ({"ids": ("tt0120907", "tt0078748", "tt0000000")}, ["tt0078748", "tt0120907"]),
        ({"ids": ()}, []),
        (
            {"ids": ("tt0076759", "tt0078748"), "genre_ids": ("g-horror",)},
            ["tt0078748"],
        ),
        (
            {
                "ids": ("tt0076759", "tt0078748", "tt0116477"),
                "any_genre_ids": ("g-scifi",),
            },
            ["tt0076759", "tt0078748"],
        ),
        (
            {"ids": ("tt0076759", "tt0080684"), "exclude_ids": ("tt0076759",)},
            ["tt0080684"],
        ),
        ({"ids": ("tt0076759", "tt0093894"), "rating_min": 8.0}, ["tt0076759"]),
        ({"person_id": "p-lucas"}, ["tt0076759", "tt0080684"]),
        ({"person_id": "p-lucas", "role": "director"}, ["tt0076759"]),
        ({"person_id": "p-lucas", "role": "writer"}, ["tt0076759", "tt0080684"]),
        ({"person_id": "p-lucas", "role": "actor"}, []),
        ({"person_id": "p-cronenberg"}, ["tt0120907"]),
        ({"person_id": "p-hamill", "role": "actor"}, ["tt0076759", "tt0080684"]),
        ({"person_id": "p-nobody"}, []),
        (
            {"person_id": "p-hamill", "genre_ids": ("g-action",), "rating_min": 8.7},
            ["tt0080684"],
        ),
        (
            {"person_id": "p-lucas", "any_genre_ids": ("g-horror", "g-adventure")},
            ["tt0076759", "tt0080684"],
        ),
        ({"person_id": "p-cronenberg", "genre_ids": ("g-drama",)}, []),
        ({"rating_min": 8.5}, ["tt0076759", "tt0078748", "tt0080684"]),
        ({"rating_max": 6.7}, ["tt0093894", "tt0120907"]),
        ({"rating_min": 7.0, "rating_max": 8.1}, ["tt0032138", "tt0116477"]),
        (
            {"rating_min": 0},  # films without a rating never pass
            [
                "tt0032138",
                "tt0076759",
                "tt0078748",
                "tt0080684",
                "tt0093894",
                "tt0116477",
                "tt0120907",
            ],
        ),
        ({"genre_ids": ("g-drama",), "rating_max": 10}, ["tt0116477"]),
    ],
)
def test_filters(catalogue, query, expected):
    page = search(catalogue, **query)
    assert (ids(page), page.total) == (expected, len(expected))


def test_unknown_role_is_refused(catalogue):
    with pytest.raises(ValueError, match="role"):
        search(catalogue, person_id="p-lucas", role="producer")


# Sorting ------------------------------------------------------------------

BY_TITLE = [
    "tt0078748",  # alien
    "tt0120907",  # existenz
    "tt0116477",  # hamlet (ties on id)
    "tt0171359",  # hamlet
    "tt0076759",  # star wars
    "tt0080684",  # star wars: episode v
    "tt0093894",  # the running man
    "tt0032138",  # the wizard of oz
    "tt9000001",  # звёздные войны: Cyrillic after Latin
]
BY_TITLE_DESC = [
    "tt9000001",
    "tt0032138",
    "tt0093894",
    "tt0080684",
    "tt0076759",
    "tt0116477",  # the two Hamlets still tie on id ascending
    "tt0171359",
    "tt0120907",
    "tt0078748",
]
BY_RATING = [
    "tt0093894",  # 6.7, ties on id
    "tt0120907",  # 6.7
    "tt0116477",  # 7.7
    "tt0032138",  # 8.1
    "tt0078748",  # 8.5
    "tt0076759",  # 8.6
    "tt0080684",  # 8.7
    "tt0171359",  # no rating: last, by id
    "tt9000001",
]
BY_RATING_DESC = [
    "tt0080684",
    "tt0076759",
    "tt0078748",
    "tt0032138",
    "tt0116477",
    "tt0093894",  # 6.7, ties still on id ascending
    "tt0120907",
    "tt0171359",  # no rating: last here too
    "tt9000001",
]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ((), ALL_IDS),
        ((Sort("id"),), ALL_IDS),
        ((Sort("id", True),), ALL_IDS[::-1]),
        ((Sort("title"),), BY_TITLE),
        ((Sort("title", True),), BY_TITLE_DESC),
        ((Sort("imdb_rating"),), BY_RATING),
        ((Sort("imdb_rating", True),), BY_RATING_DESC),
        (
            (Sort("imdb_rating", True), Sort("title")),
            [
                "tt0080684",
                "tt0076759",
                "tt0078748",
                "tt0032138",
                "tt0116477",
                "tt0120907",  # 6.7 "existenz" before "the running man"
                "tt0093894",
                "tt0171359",  # no rating: "hamlet" before "звёздные войны"
                "tt9000001",
            ],
        ),
    ],
)
def test_sort(catalogue, sort, expected):
    assert ids(search(catalogue, sort=sort)) == expected


def test_unknown_sort_field_is_refused(catalogue):
    with pytest.raises(ValueError, match="sort"):
        search(catalogue, sort=(Sort("description"),))


# Paging and fields --------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "limit", "expected"),
    [
        (0, 4, ALL_IDS[:4]),
        (4, 4, ALL_IDS[4:8]),
        (8, 4, ["tt9000001"]),
        (9, 4, []),
        (50, 10, []),
    ],
)
def test_pages_report_the_exact_total(catalogue, offset, limit, expected):
    page = search(catalogue, offset=offset, limit=limit)
    assert (ids(page), page.total) == (expected, 9)


@pytest.mark.parametrize(
    ("offset", "limit", "expected"),
    [
        (0, 2, ["tt0080684", "tt0076759"]),
        (2, 2, ["tt0078748", "tt0093894"]),
        (4, 2, ["tt0120907", "tt9000001"]),
    ],
)
def test_filtered_pages_keep_the_sort_order(catalogue, offset, limit, expected):
    page = search(
        catalogue,
        genre_ids=("g-scifi",),
        sort=(Sort("imdb_rating", True),),
        offset=offset,
        limit=limit,
    )
    assert (ids(page), page.total) == (expected, 6)


def test_text_pages_report_the_exact_total(catalogue):
    page = search(catalogue, text="star wars", offset=1, limit=1, sort=(Sort("id"),))
    assert (ids(page), page.total) == (["tt0080684"], 2)


def test_fields_limit_what_each_item_holds(catalogue):
    page = search(catalogue, genre_ids=("g-drama",), limit=2)
    assert page.items == [HAMLET_1996, HAMLET_2000]
    page = catalogue.search_films(FilmQuery(genre_ids=("g-drama",)), FILM_SUMMARY)
    assert page.items == [
        {"id": "tt0116477", "title": "Hamlet", "imdb_rating": 7.7},
        {"id": "tt0171359", "title": "Hamlet", "imdb_rating": None},
    ]
    hamlets = FilmQuery(text="hamlet", sort=(Sort("id"),))
    page = catalogue.search_films(hamlets, ("genres", "title"))
    assert page.items == [
        {"title": "Hamlet", "genres": HAMLET_1996["genres"]},
        {"title": "Hamlet", "genres": HAMLET_2000["genres"]},
    ]


@pytest.mark.parametrize(("offset", "limit"), [(9_990, 20), (10_000, 1), (0, 10_001)])
def test_pages_beyond_the_result_window_are_refused(catalogue, offset, limit):
    with pytest.raises(ResultWindowExceeded):
        search(catalogue, offset=offset, limit=limit)


def test_the_last_page_of_the_result_window_is_served(catalogue):
    page = search(catalogue, offset=9_950, limit=50)
    assert (page.items, page.total) == ([], 9)


# Documents ----------------------------------------------------------------


def test_get_returns_the_stored_document(catalogue):
    assert catalogue.get_film("tt0078748") == ALIEN
    assert catalogue.get_genre("g-drama") == {**DRAMA, "film_count": 2}
    assert catalogue.get_person("p-lucas") == {
        **LUCAS,
        "films": [
            {"id": "tt0076759", "roles": ["writer", "director"]},
            {"id": "tt0080684", "roles": ["writer"]},
        ],
    }


def test_get_returns_none_for_unknown_ids(catalogue):
    assert catalogue.get_film("tt0000000") is None
    assert catalogue.get_genre("g-western") is None
    assert catalogue.get_person("p-nobody") is None


# Genres -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (
            Sort("name"),  # case-insensitive: "drama" between Adventure and Family
            ["g-action", "g-adventure", "g-drama", "g-family", "g-horror", "g-scifi"],
        ),
        (
            Sort("name", True),
            ["g-scifi", "g-horror", "g-family", "g-drama", "g-adventure", "g-action"],
        ),
        (
            Sort("film_count"),  # 1, 2, 2, 3, 3, 6: ties on id
            ["g-family", "g-drama", "g-horror", "g-action", "g-adventure", "g-scifi"],
        ),
        (
            Sort("film_count", True),
            ["g-scifi", "g-action", "g-adventure", "g-drama", "g-horror", "g-family"],
        ),
    ],
)
def test_list_genres_sorts(catalogue, sort, expected):
    page = catalogue.list_genres(sort)
    assert (ids(page), page.total) == (expected, 6)


def test_list_genres_pages(catalogue):
    page = catalogue.list_genres(Sort("name"), offset=2, limit=2)
    assert (ids(page), page.total) == (["g-drama", "g-family"], 6)
    assert page.items == [{**DRAMA, "film_count": 2}, {**FAMILY, "film_count": 1}]


# Persons ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("George Lucas", ["p-lucas"]),
        ("scott", ["p-campbell-scott", "p-ridley-scott"]),  # equal scores: by id
        ("shwarzenegger", ["p-schwarzenegger"]),  # a typo
        ("scot", ["p-campbell-scott", "p-ridley-scott"]),  # one edit on 4 letters
        ("o'bannon", ["p-obannon"]),
        ("lucas hamill", []),  # every term must match one name
        ("the", []),
    ],
)
def test_search_persons(catalogue, text, expected):
    page = catalogue.search_persons(text)
    assert (ids(page), page.total) == (expected, len(expected))


def test_search_persons_pages(catalogue):
    page = catalogue.search_persons("scott", offset=1, limit=1)
    assert (ids(page), page.total) == (["p-ridley-scott"], 2)
    assert page.items == [
        {**RIDLEY_SCOTT, "films": [{"id": "tt0078748", "roles": ["director"]}]}
    ]


# Writing ------------------------------------------------------------------


def test_writing_the_same_batch_twice_changes_nothing(reader, indexer):
    indexer.prepare("gen1")
    assert indexer.write(MOVIES, FILMS, "gen1") == 9
    assert indexer.write(MOVIES, FILMS, "gen1") == 9
    indexer.publish("gen1")
    assert indexer.count(MOVIES) == 9
    assert search(reader, text="star wars").total == 2
    assert ids(search(reader, genre_ids=("g-horror",))) == ["tt0078748", "tt0120907"]
    assert ids(search(reader, person_id="p-cronenberg")) == ["tt0120907"]


def test_writing_a_known_id_replaces_the_document(reader, indexer):
    remade = film(
        "tt0078748",
        "Alien: Director's Cut",
        9.9,
        "The Nostromo answers a distress call.",
        genres=(DRAMA,),
        directors=(RIDLEY_SCOTT,),
    )
    indexer.prepare("gen1")
    indexer.write(MOVIES, FILMS, "gen1")
    indexer.write(MOVIES, [remade], "gen1")
    indexer.publish("gen1")
    assert indexer.count(MOVIES) == 9
    assert reader.get_film("tt0078748") == remade
    assert ids(search(reader, text="nostromo")) == ["tt0078748"]
    assert search(reader, text="spacecraft").total == 0
    assert search(reader, text="weaver").total == 0
    assert ids(search(reader, genre_ids=("g-horror",))) == ["tt0120907"]
    assert ids(search(reader, genre_ids=("g-drama",))) == [
        "tt0078748",
        "tt0116477",
        "tt0171359",
    ]
    assert ids(search(reader, sort=(Sort("imdb_rating", True),), limit=1)) == [
        "tt0078748"
    ]


def test_writing_persons_replaces_them_by_id_the_last_one_winning(catalogue, indexer):
    renamed = {"id": "p-weaver", "full_name": "Sigourney Weaver-Smith", "films": []}
    newcomer = {"id": "p-newcomer", "full_name": "Ripley Newcomer", "films": []}
    before = indexer.count(PERSONS)
    written = indexer.write(
        PERSONS, [{**renamed, "full_name": "Old Name"}, renamed, newcomer]
    )
    indexer.refresh()
    assert written == 3
    assert indexer.count(PERSONS) == before + 1
    assert catalogue.get_person("p-weaver") == renamed
    assert [p["id"] for p in catalogue.search_persons("weaver smith").items] == [
        "p-weaver"
    ]
    assert catalogue.search_persons("old name").total == 0
    assert [p["id"] for p in catalogue.search_persons("newcomer").items] == [
        "p-newcomer"
    ]


def test_writes_to_the_live_index_are_seen(catalogue, indexer):
    cut = {**ALIEN, "title": "Alien: Director's Cut"}
    assert indexer.write(MOVIES, [cut]) == 1
    assert indexer.remove(PERSONS, ["p-weaver"]) == 1
    indexer.refresh()  # as the ETL does after writing to the live index
    assert catalogue.get_film("tt0078748") == cut
    assert ids(search(catalogue, text="director's cut")) == ["tt0078748"]
    assert indexer.count(MOVIES) == 9
    assert catalogue.get_person("p-weaver") is None
    assert catalogue.search_persons("weaver").total == 0


def test_the_total_of_all_films_follows_writes_to_the_live_index(catalogue, indexer):
    assert search(catalogue).total == 9
    indexer.write(MOVIES, [film("tt9999999", "Newcomer", 6.0)])
    indexer.refresh()
    assert search(catalogue).total == 10
    indexer.remove(MOVIES, ["tt9999999", "tt0078748"])
    indexer.refresh()
    assert search(catalogue, limit=1).total == 8


def test_genre_totals_follow_writes_to_the_live_index(catalogue, indexer):
    horror = {"genre_ids": ("g-horror",)}
    like_alien = {
        "any_genre_ids": ("g-horror", "g-drama"),
        "exclude_ids": ("tt0078748",),
    }
    assert (
        search(catalogue, **horror).total,
        search(catalogue, **like_alien).total,
    ) == (
        2,
        3,
    )
    drama = film("tt0078748", "Alien", 8.5, "In space.", genres=(DRAMA,))
    indexer.write(MOVIES, [drama])
    indexer.remove(MOVIES, ["tt0171359"])
    indexer.refresh()

    assert ids(search(catalogue, **horror)) == ["tt0120907"]
    assert search(catalogue, **horror).total == 1
    assert search(catalogue, **like_alien).total == 2


def test_a_versioned_write_keeps_a_document_held_at_a_higher_version(
    catalogue, indexer
):
    newer = {**ALIEN, "title": "Alien: the newer state"}
    older = {**ALIEN, "title": "Alien: the older state"}
    indexer.write(MOVIES, [newer], version=1_700_000_000_002)

    indexer.write(MOVIES, [older], version=1_700_000_000_001)
    indexer.refresh()

    assert catalogue.get_film("tt0078748") == newer
    indexer.write(MOVIES, [older], version=1_700_000_000_003)
    indexer.refresh()
    assert catalogue.get_film("tt0078748") == older


def test_a_versioned_remove_spares_a_newer_document_and_outlasts_an_older_one(
    catalogue, indexer
):
    newer = {**ALIEN, "title": "Alien: the newer state"}
    indexer.write(MOVIES, [newer], version=1_700_000_000_002)
    indexer.remove(MOVIES, ["tt0078748"], version=1_700_000_000_001)
    indexer.refresh()
    assert catalogue.get_film("tt0078748") == newer

    indexer.remove(MOVIES, ["tt0078748"], version=1_700_000_000_003)
    indexer.write(MOVIES, [newer], version=1_700_000_000_002)
    indexer.refresh()

    assert catalogue.get_film("tt0078748") is None


def test_write_changes_writes_and_removes_across_indices_and_sets_the_version(
    catalogue, indexer
):
    cut = {**ALIEN, "title": "Alien: Director's Cut"}
    held = {**WIZARD_OF_OZ, "title": "The Wizard of Oz: held at a newer version"}
    indexer.write(MOVIES, [held], version=1_700_000_000_009)

    indexer.write_changes(
        {MOVIES: [cut, {**WIZARD_OF_OZ, "title": "Older"}], PERSONS: [], GENRES: []},
        {MOVIES: [], PERSONS: ["p-weaver"], GENRES: ["g-family"]},
        1_700_000_000_005,
        "version-after-the-write",
    )

    assert catalogue.get_film("tt0078748") == cut
    assert catalogue.get_film("tt0032138") == held
    assert catalogue.get_person("p-weaver") is None
    assert catalogue.get_genre("g-family") is None
    assert ids(search(catalogue, text="director's cut")) == ["tt0078748"]
    assert catalogue.data_version() == "version-after-the-write"


def test_remove_deletes_by_id(reader, indexer):
    indexer.prepare("gen1")
    indexer.write(MOVIES, FILMS, "gen1")
    assert indexer.remove(MOVIES, ["tt0078748", "tt0000000"], "gen1") == 1
    indexer.publish("gen1")
    assert indexer.count(MOVIES) == 8
    assert reader.get_film("tt0078748") is None
    assert search(reader, text="weaver").total == 0
    assert ids(search(reader, any_genre_ids=("g-horror",))) == ["tt0120907"]
    assert ids(search(reader, person_id="p-ridley-scott")) == []


def test_prepare_keeps_what_a_resumed_load_wrote(reader, indexer):
    indexer.prepare("gen1")
    indexer.write(MOVIES, FILMS[:4], "gen1")
    indexer.prepare("gen1")
    indexer.write(MOVIES, FILMS[4:], "gen1")
    indexer.publish("gen1")
    assert indexer.count(MOVIES) == 9
    assert ids(search(reader)) == ALL_IDS


def test_publish_replaces_the_previous_generation(catalogue, indexer):
    matrix = film("tt0133093", "The Matrix", 8.7, genres=(ACTION, SCIFI))
    load(indexer, "gen2", [STAR_WARS, matrix], genres=[], persons=[])
    assert indexer.live_generation() == "gen2"
    assert [indexer.count(index) for index in (MOVIES, GENRES, PERSONS)] == [2, 0, 0]
    assert ids(search(catalogue)) == ["tt0076759", "tt0133093"]
    assert ids(search(catalogue, text="matrix")) == ["tt0133093"]
    assert catalogue.get_film("tt0078748") is None
    assert search(catalogue, text="weaver").total == 0
    assert catalogue.list_genres(Sort("name")).total == 0
    assert catalogue.search_persons("lucas").total == 0


def test_discard_drops_an_unpublished_generation(catalogue, indexer):
    indexer.prepare("gen2")
    indexer.write(MOVIES, FILMS[:2], "gen2")
    indexer.discard("gen2")
    assert indexer.live_generation() == "gen1"
    assert indexer.count(MOVIES) == 9
    indexer.prepare("gen2")
    indexer.write(MOVIES, [ALIEN], "gen2")
    indexer.publish("gen2")
    assert ids(search(catalogue)) == ["tt0078748"]


def test_the_live_generation_cannot_be_discarded(catalogue, indexer):
    with pytest.raises(SearchError, match="live"):
        indexer.discard("gen1")
    assert indexer.count(MOVIES) == 9


def test_unknown_index_is_refused(catalogue, indexer):
    for call in (
        lambda: indexer.count("films"),
        lambda: indexer.write("films", [STAR_WARS]),
        lambda: indexer.remove("films", ["tt0076759"]),
    ):
        with pytest.raises(ValueError, match="films"):
            call()


def test_live_generation(indexer):
    assert indexer.live_generation() is None
    load(indexer, "gen1")
    assert indexer.live_generation() == "gen1"


# The embedded backend alone -------------------------------------------------


def test_embedded_index_missing_is_unavailable(app):
    with app.app_context():
        reader, indexer = get_search(), get_indexer()
        assert isinstance(reader, EmbeddedReader)
        assert indexer.live_generation() is None
        for call in (
            reader.ping,
            reader.data_version,
            lambda: reader.search_films(FilmQuery(text="star")),
            lambda: reader.get_film("tt0076759"),
            lambda: reader.list_genres(Sort("name")),
            lambda: reader.search_persons("lucas"),
            lambda: indexer.count(MOVIES),
        ):
            with pytest.raises(SearchUnavailable, match="flask etl run"):
                call()


def test_embedded_publish_leaves_open_readers_on_the_old_file(tmp_path):
    path = tmp_path / "search.sqlite"
    reader, indexer = EmbeddedReader(path, 10_000), EmbeddedIndexer(path)
    load(indexer, "gen1")
    with closing(connect(path, readonly=True)) as before:
        assert before.execute("SELECT count(*) FROM movie").fetchone()[0] == 9
        load(indexer, "gen2", [ALIEN], genres=[], persons=[])
        assert before.execute("SELECT count(*) FROM movie").fetchone()[0] == 9
    assert indexer.count(MOVIES) == 1
    assert ids(search(reader, text="alien")) == ["tt0078748"]
    # The live link names gen2's file; nothing of gen1 is left.
    assert os.readlink(path) == "search.sqlite.gen2"
    assert not [p.name for p in tmp_path.iterdir() if "gen1" in p.name]


def test_a_film_s_full_title_comes_first_before_near_misses(reader, indexer):
    near_miss = film(
        "tt0000001", "Tar with a Star", 7.0, "A star of the war years, and of tar."
    )
    exact = film(
        "tt0000002",
        "Star Wars",
        8.6,
        "A farm boy joins a rebellion against an empire that rules a galaxy.",
    )
    load(indexer, "gen1", [near_miss, exact], genres=[], persons=[])

    assert ids(search(reader, text="Star Wars"))[0] == "tt0000002"
    assert ids(search(reader, text="star wars"))[0] == "tt0000002"


# Full titles the old system's data ranked below near misses, with those films'
# words (shortened): a long description weighs a title match down, a title word
# said twice (or its typo) weighs a near miss up.
TITLED = [
    film(
        "tt1314267",
        "The Next Star",
        5.0,
        "Children up to the age of 15 all across Canada audition for the chance to"
        " be the next star. This is a singing competition where they start by"
        " picking 16 kids across Canada. Afterwards they pick 8 from the 16 then 6"
        " from the 8. In the end one of these 6 young singers will become the next"
        " star.",
    ),
    film("tt1531780", "Football's Next Star", 8.3),
    film(
        "tt0251413",
        "Star Wars",
        7.8,
        "In this game, you assume the role of Luke Skywalker and fight past many"
        " enemies to to reach and destroy the Death Star.",
    ),
    film(
        "tt0804909",
        "Star Wars: Empire at War",
        7.8,
        "The game is set before the Battle of Yavin, while the Empire is still"
        " constructing the Death Star.",
    ),
    film("tt0339725", "Star Wars: The Clone Wars", 6.6),
    film(
        "tt8336340",
        "Star Wars Resistance",
        4.9,
        "Kazuda Xiono, a young pilot for the Resistance, is tasked with a top"
        " secret mission to investigate the First Order, a growing threat in the"
        " galaxy.",
    ),
    film(
        "tt11559486",
        "Star Wars: Rise of the Resistance",
        7.7,
        "The Resistance needs your help. Hidden in the forest outside Black Spire"
        " Outpost, the Resistance is gathering recruits for a secret mission.",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Next Star", "tt1314267"),
        ("next star", "tt1314267"),
        ("NEXT STAR!", "tt1314267"),
        ("a next, star", "tt1314267"),
        ("Star Wars", "tt0251413"),
        ("star wars:", "tt0251413"),
        ("Star Wars Resistance", "tt8336340"),
        ("Star Wars: Empire at War", "tt0804909"),
    ],
)
def test_a_text_that_is_a_film_s_title_finds_that_film_first(
    reader, indexer, text, expected
):
    load(indexer, "gen1", TITLED, genres=[], persons=[])

    assert ids(search(reader, text=text))[0] == expected


# Films of one title, written out of rating and id order, and a near miss whose
# description says the title again and again.
NAMESAKES = [
    film("tt0000004", "Star Wars: The Clone Wars", 9.0, "Star wars, star wars."),
    film("tt0000001", "Star Wars", 6.6, "A boy and the stars."),
    film("tt0000003", "STAR WARS", None, "Star wars."),
    film("tt0000002", "Star Wars", 7.8, "A girl and the stars."),
]


def test_of_several_films_of_that_title_the_better_rated_comes_first(reader, indexer):
    load(indexer, "gen1", NAMESAKES, genres=[], persons=[])

    page = search(reader, text="star wars")
    assert ids(page) == ["tt0000002", "tt0000001", "tt0000003", "tt0000004"]
    assert page.total == 4
    pages = [ids(search(reader, text="Star Wars", offset=o, limit=1)) for o in range(5)]
    assert pages == [["tt0000002"], ["tt0000001"], ["tt0000003"], ["tt0000004"], []]
    assert ids(search(reader, text="Star Wars", offset=2, limit=2)) == [
        "tt0000003",
        "tt0000004",
    ]
    assert search(reader, text="Star Wars", offset=2, limit=2).total == 4


def test_films_of_the_title_come_first_among_the_filtered_ones(reader, indexer):
    load(indexer, "gen1", NAMESAKES, genres=[], persons=[])

    page = search(reader, text="Star Wars", rating_min=6.0)
    assert ids(page) == ["tt0000002", "tt0000001", "tt0000004"]
    assert page.total == 3
    assert ids(search(reader, text="Star Wars", rating_min=6.0, offset=1)) == [
        "tt0000001",
        "tt0000004",
    ]
    by_title = search(reader, text="Star Wars", sort=(Sort("imdb_rating", True),))
    assert ids(by_title) == ["tt0000004", "tt0000002", "tt0000001", "tt0000003"]


def test_a_typo_of_a_title_word_brings_the_titles_with_that_word_first(reader, indexer):
    films = [
        # One edit from "rune", the term of "runing", and a rarer word.
        film("tt0000001", "June's Window", 7.0, "A widow writes letters to June."),
        # "runes" is "rune" too: a match of the term, not of the word typed.
        film("tt0000002", "The Stone Circle", 6.0, "Ancient runes carved in stone."),
        film("tt0000003", "Running from Wolves", 6.5, "A boy flees the forest."),
        # "caste" (the term "cast") is two edits from "castel" (its own term).
        film("tt0000004", "Painted Days", 5.0, "Caste."),
        film("tt0000005", "The Winter Castle", 8.0, "A queen rules a frozen land."),
        # Two edits from "castel", which is one from "castle".
        film("tt0000006", "Hostel", 7.5, "Travellers in a bad place."),
    ]
    load(indexer, "gen1", films, genres=[], persons=[])

    assert ids(search(reader, text="runing"))[0] == "tt0000003"
    assert ids(search(reader, text="castel"))[0] == "tt0000005"
    # A word some film has is taken as typed: its films come first.
    assert ids(search(reader, text="runes"))[0] == "tt0000002"


def test_a_typo_that_stemming_moves_further_still_finds_the_title(reader, indexer):
    films = [
        film("tt0000001", "The Brave Mother", 7.0),
        film("tt0000002", "Calm Seas", 6.0),
    ]
    load(indexer, "gen1", films, genres=[], persons=[])

    # "braave" is one edit from "brave"; its term "braav" is two from "brave".
    page = search(reader, text="braave")
    assert ids(page) == ["tt0000001"]
    assert page.total == 1
