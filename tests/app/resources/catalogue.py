"""A small catalogue for the films, genres and persons tests, built by factories.

Six films, six genres and ten people, made by the factories of ``tests.documents``
and written straight into the search backend as the ETL would write them; the
tests' expectations are worked out by hand from the table below. Helpers follow
that the resource tests share: reading list answers, checking refused arguments
and a search engine that is down, and building a catalogue the operator's way
instead (legacy file, ``flask db upgrade``, ``flask etl run``).

==========  ========================  ====  ========================  ===============
id          title                     rate  genres                    people
==========  ========================  ====  ========================  ===============
tt0000001   Star Wars                 8.6   Action, Adventure, Sci-Fi Lucas (d, w),
                                                                      Hamill, Ford (a)
tt0000002   The Empire Strikes Back   8.7   Action, Adventure, Sci-Fi Kershner (d),
                                                                      Lucas (w),
                                                                      Hamill, Ford (a)
tt0000003   Alien                     8.5   Horror, Sci-Fi            R. Scott (d),
                                                                      O'Bannon (w),
                                                                      Weaver (a)
tt0000004   Blade Runner              8.1   Drama, Sci-Fi             R. Scott (d), Ford,
                                                                      C. Scott (a)
tt0000005   The Wizard of Oz          8.1   Adventure, Family         Fleming (d),
                                                                      Garland (a)
tt0000006   Home Movie                -     -                         Lucas (d)
==========  ========================  ====  ========================  ===============
"""

import contextlib
import json
import uuid

from tests.documents import film, genre, person, write_catalogue
from tests.factories import make_legacy_db, movie, star_wars, writer_id
from tests.fixtures.elasticsearch import drop_indices
from tests.settings import make_test_app

ACTION = genre("action", "Action")
ADVENTURE = genre("adventure", "Adventure")
DRAMA = genre("drama", "Drama")
FAMILY = genre("family", "Family")
HORROR = genre("horror", "Horror")
SCIFI = genre("scifi", "Sci-Fi")

FLEMING = person("fleming", "Victor Fleming")
FORD = person("ford", "Harrison Ford")
GARLAND = person("garland", "Judy Garland")
HAMILL = person("hamill", "Mark Hamill")
KERSHNER = person("kershner", "Irvin Kershner")
LUCAS = person("lucas", "George Lucas")
OBANNON = person("obannon", "Dan O'Bannon")
SCOTT = person("scott", "Ridley Scott")
CAMPBELL_SCOTT = person("scott-campbell", "Campbell Scott")
WEAVER = person("weaver", "Sigourney Weaver")

STAR_WARS = film(
    "tt0000001",
    "Star Wars",
    8.6,
    "Luke Skywalker joins forces with a Jedi Knight and two droids to save the galaxy.",
    genres=(ACTION, ADVENTURE, SCIFI),
    directors=(LUCAS,),
    actors=(HAMILL, FORD),
    writers=(LUCAS,),
)
EMPIRE = film(
    "tt0000002",
    "The Empire Strikes Back",
    8.7,
    "The rebels flee across the galaxy from a star destroyer while Luke trains"
    " with Yoda.",
    genres=(ACTION, ADVENTURE, SCIFI),
    directors=(KERSHNER,),
    actors=(HAMILL, FORD),
    writers=(LUCAS,),
)
ALIEN = film(
    "tt0000003",
    "Alien",
    8.5,
    "The crew of a commercial spacecraft meets a deadly creature.",
    genres=(HORROR, SCIFI),
    directors=(SCOTT,),
    actors=(WEAVER,),
    writers=(OBANNON,),
)
BLADE_RUNNER = film(
    "tt0000004",
    "Blade Runner",
    8.1,
    "A blade runner must pursue and terminate four replicants.",
    genres=(DRAMA, SCIFI),
    directors=(SCOTT,),
    actors=(FORD, CAMPBELL_SCOTT),
)
WIZARD_OF_OZ = film(
    "tt0000005",
    "The Wizard of Oz",
    8.1,
    "Dorothy is swept away by a tornado to the magical Land of Oz.",
    genres=(ADVENTURE, FAMILY),
    directors=(FLEMING,),
    actors=(GARLAND,),
)
HOME_MOVIE = film("tt0000006", "Home Movie", None, directors=(LUCAS,))

FILMS = (STAR_WARS, EMPIRE, ALIEN, BLADE_RUNNER, WIZARD_OF_OZ, HOME_MOVIE)


def load_catalogue(indexer, films=FILMS):
    """Publish ``films``, their genres and people as a fresh generation."""
    generation = f"g{uuid.uuid4().hex[:8]}"
    write_catalogue(indexer, generation, films)
    indexer.refresh(generation)
    indexer.publish(generation)


def ids(response):
    """The ids of the items of a list answer, in order."""
    return [item["id"] for item in response.json]


def pagination(response):
    """The X-Pagination header of a list answer."""
    return json.loads(response.headers["X-Pagination"])


def pagination_of(page, *, total, total_pages):
    """The X-Pagination header of ``page`` of ``total_pages`` (``total`` items)."""
    header = {
        "total": total,
        "total_pages": total_pages,
        "first_page": 1,
        "last_page": total_pages,
        "page": page,
    }
    if page > 1:
        header["previous_page"] = page - 1
    if page < total_pages:
        header["next_page"] = page + 1
    return header


def assert_refused_argument(response, parameter, allowed):
    """Insist on a 422 that names ``parameter`` and says ``allowed`` about it."""
    assert response.status_code == 422
    assert response.json["code"] == 422
    assert response.json["status"] == "Unprocessable Entity"
    assert parameter in response.json["message"]
    messages = response.json["errors"]["query"][parameter]
    assert any(allowed in message for message in messages)


def assert_beyond_the_result_window(response):
    """Insist on a 422 for a page past the 10,000 results a search can page through."""
    assert response.status_code == 422
    assert response.json["code"] == 422
    assert "10000" in response.json["message"]
    assert "page" in response.json["errors"]["query"]


def get_503(client, path):
    """``GET path``, insisting on a 503 that says when to retry."""
    response = client.get(path)

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    return response


def spec_parameters(client, path):
    """The names of the parameters the OpenAPI spec gives ``GET path``."""
    operation = client.get("/openapi.json").json["paths"][path]
    return {
        parameter["name"]
        for parameter in operation.get("parameters", [])
        + operation["get"]["parameters"]
        if "name" in parameter
    }


# --- the operator's way: legacy file, migrate, ETL -----------------------------------

LEGACY_MOVIES = (
    star_wars(genre="Action, Adventure, Sci-Fi"),
    movie(
        "tt0000002",
        "Alien",
        genre="Horror, Sci-Fi",
        director="Ridley Scott",
        imdb_rating="8.5",
    ),
    movie("tt0000003", "Blade Runner", genre="Sci-Fi", director="Ridley Scott"),
)
LEGACY_ACTORS = ((1, "Mark Hamill"), (2, "Harrison Ford"), (3, "Sigourney Weaver"))
LEGACY_WRITERS = ((writer_id(1), "George Lucas"),)
LEGACY_LINKS = (
    ("tt0000001", 1),
    ("tt0000001", 2),
    ("tt0000002", 3),
    ("tt0000003", 2),
)


def run_cli(app, *args):
    """Run a ``flask`` command of ``app`` and insist that it succeeds.

    The command runs in ``app``'s own context: the CLI reuses whichever app
    context is current, and a test may hold another app's.
    """
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output


def build_from_legacy(app):
    """Write the legacy file at the app's database path, migrate it and index it.

    On PostgreSQL, as an operator does: the file is imported there once cleaned.
    """
    make_legacy_db(
        app.config["DATABASE_PATH"],
        movies=LEGACY_MOVIES,
        actors=LEGACY_ACTORS,
        writers=LEGACY_WRITERS,
        links=LEGACY_LINKS,
    )
    migrate_catalogue(app)
    run_cli(app, "etl", "run")


def migrate_catalogue(app):
    """Migrate the app's catalogue; on PostgreSQL, import its legacy file too."""
    run_cli(app, "db", "upgrade")
    if app.config["DATABASE_URL"]:
        run_cli(app, "db", "import", app.config["DATABASE_PATH"])


def elsewhere(search_config, directory):
    """The settings of ``search_config`` moved to new files or a new index prefix."""
    if search_config.get("ELASTICSEARCH_URL"):
        return {
            **search_config,
            "ELASTICSEARCH_INDEX_PREFIX": f"t{uuid.uuid4().hex[:12]}_",
        }
    return {
        **search_config,
        "EMBEDDED_SEARCH_PATH": str(directory / "movies.search.sqlite"),
    }


@contextlib.contextmanager
def rebuilt_catalogue(search_config, directory):
    """A client of a second catalogue: a fresh legacy copy in ``directory``.

    Its database file and search index (or index prefix) are its own.
    """
    directory.mkdir()
    config = elsewhere(search_config, directory)
    app = make_test_app(directory / "movies.sqlite", **config)
    try:
        build_from_legacy(app)
        yield app.test_client()
    finally:
        if config.get("ELASTICSEARCH_URL"):
            drop_indices(
                config["ELASTICSEARCH_URL"], config["ELASTICSEARCH_INDEX_PREFIX"]
            )


# How a legacy catalogue is built again (see ``rebuilt``).
REBUILDS = ("full-etl-run", "fresh-legacy-copy")


@contextlib.contextmanager
def rebuilt(how, app, search_config, directory):
    """A client of ``app``'s legacy catalogue built again, ``how`` one of REBUILDS.

    Either ``flask etl run --full`` on the same files, or a fresh legacy copy
    built in ``directory`` (see ``rebuilt_catalogue``).
    """
    if how == "full-etl-run":
        run_cli(app, "etl", "run", "--full")
        yield app.test_client()
    else:
        with rebuilt_catalogue(search_config, directory) as client:
            yield client


class CountingReader:
    """A search reader that counts the reads it answers."""

    READS = (
        "search_films",
        "get_film",
        "list_genres",
        "get_genre",
        "search_persons",
        "get_person",
    )

    def __init__(self, reader):
        self.reader = reader
        self.calls = 0

    def __getattr__(self, name):
        attribute = getattr(self.reader, name)
        if name not in self.READS:
            return attribute

        def counted(*args, **kwargs):
            self.calls += 1
            return attribute(*args, **kwargs)

        return counted
