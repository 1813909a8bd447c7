"""Admins write the catalogue: films and genres created, changed and deleted.

Every check runs on both backends, on a catalogue built the operator's way
(legacy file, ``flask db upgrade``, ``flask etl run``). On Elasticsearch the
app talks to it through a proxy the tests can cut, to kill the search engine
between a write's commit and its indexing; on the embedded index the same
moment is cut at the indexer.
"""

import contextlib
import json
import threading
import time
import uuid
from contextlib import closing

import pytest

from app.resources.films import queries as film_queries
from catalogue.db import lock_rows, open_catalogue, transaction
from catalogue.ids import stable_id
from catalogue.indexing import writethrough
from catalogue.indexing.writethrough import catch_up, writethrough_indexer
from catalogue.search import MOVIES, SearchUnavailable, Sort, get_search
from tests.app.resources.catalogue import LEGACY_MOVIES, build_from_legacy, run_cli
from tests.factories import make_legacy_db, writer_id
from tests.fixtures.accounts import bearer, make_account
from tests.fixtures.elasticsearch import CLOSE, CompatProxy, drop_indices
from tests.fixtures.search import BACKENDS
from tests.settings import make_test_app
from tests.waiting import wait_until

pytestmark = pytest.mark.stores

FILMS = "/api/v1/films"
GENRES = "/api/v1/genres"
SCIFI = stable_id("genre", "Sci-Fi")
HAMILL = stable_id("person", "Mark Hamill")


class Admin:
    """An app on the legacy catalogue, its client and an admin's headers."""

    def __init__(self, app, engine, settings):
        self.app = app
        self.engine = engine
        self.settings = settings
        self.restarted = []
        self.client = app.test_client()
        self.headers = bearer(app, make_account(app, "admin", role="admin"))
        self.user_headers = bearer(app, make_account(app, "reader"))

    def post(self, path, body, **headers):
        """POST ``body`` as the admin."""
        return self.client.post(path, json=body, headers={**self.headers, **headers})

    def patch(self, path, body, **headers):
        """PATCH ``body`` as the admin."""
        return self.client.patch(path, json=body, headers={**self.headers, **headers})

    def delete(self, path, **headers):
        """DELETE as the admin."""
        return self.client.delete(path, headers={**self.headers, **headers})

    def get(self, path, **kwargs):
        """GET anonymously, as any client of the catalogue."""
        return self.client.get(path, **kwargs)

    def film(self, **fields):
        """Create a film (titled "Dark City" unless told); return its card."""
        response = self.post(FILMS, {"title": "Dark City", **fields})
        assert response.status_code == 201, response.json
        return response.json

    def genre(self, name="Noir"):
        """Create a genre; return it."""
        response = self.post(GENRES, {"name": name})
        assert response.status_code == 201, response.json
        return response.json

    def restart(self):
        """Return a new app on the same catalogue and search engine: a process of
        the service started anew, with nothing of this one's state.
        """
        app = make_test_app(self.app.config["DATABASE_PATH"], **self.settings)
        self.restarted.append(app)
        return app

    def backlog(self):
        """Return the rows the write-through has yet to index."""
        with closing(open_catalogue(self.app.config)) as conn:
            return conn.execute(
                "SELECT entity, entity_id FROM search_backlog"
            ).fetchall()


class Engine:
    """The search engine as the app reaches it: up, or cut off."""

    def __init__(self, app=None):
        self.down = False
        self.app = app

    def intercept(self, method, path):
        """Drop every request while the engine is down (for the proxy)."""
        return CLOSE if self.down else None


class CutIndexer:
    """The embedded write-through indexer, whose writes fail while the engine is down."""

    def __init__(self, indexer, engine):
        self.indexer = indexer
        self.engine = engine

    def __getattr__(self, name):
        attribute = getattr(self.indexer, name)
        if name not in ("write_changes", "write", "remove", "set_data_version"):
            return attribute

        def cut(*args, **kwargs):
            if self.engine.down:
                raise SearchUnavailable("the index cannot be written")
            return attribute(*args, **kwargs)

        return cut


@pytest.fixture(params=BACKENDS)
def admin(request, db_path, tmp_path, database_store):
    """An admin of the legacy catalogue, on each backend and each store."""
    engine = Engine()
    settings = {**database_store, "SEARCH_CATCH_UP_SECONDS": 0.05}
    proxy = None
    if request.param == "elasticsearch":
        upstream = request.getfixturevalue("elasticsearch_url")
        proxy = CompatProxy(upstream, intercept=engine.intercept).start()
        prefix = f"t{uuid.uuid4().hex[:12]}_"
        settings.update(ELASTICSEARCH_URL=proxy.url, ELASTICSEARCH_INDEX_PREFIX=prefix)
    else:
        settings.update(EMBEDDED_SEARCH_PATH=str(tmp_path / "movies.search.sqlite"))
    app = make_test_app(db_path, **settings)
    with app.app_context():
        build_from_legacy(app)
        if proxy is None:
            indexer = writethrough_indexer(app)
            app.extensions["search-writethrough"] = CutIndexer(indexer, engine)
        admin = Admin(app, engine, settings)
        yield admin
        apps = (app, *admin.restarted)
        wait_until(lambda: not any(catch_up(each).running() for each in apps))
    if proxy is not None:
        proxy.close()
        drop_indices(upstream, prefix)


def search_ids(admin, text):
    """Return the ids of the films a search for ``text`` finds."""
    response = admin.get(f"{FILMS}/search", query_string={"query": text})
    assert response.status_code == 200
    return [film["id"] for film in response.json]


# --- genres ------------------------------------------------------------------------


def test_an_admin_creates_a_genre_that_the_api_lists(admin):
    response = admin.post(GENRES, {"name": "  Film Noir "})

    assert response.status_code == 201
    genre = response.json
    assert genre == {"id": genre["id"], "name": "Film Noir", "film_count": 0}
    assert response.headers["Location"] == f"{GENRES}/{genre['id']}"
    assert response.headers["X-Indexing"] == "done"
    assert admin.get(f"{GENRES}/{genre['id']}").json == genre
    assert genre in admin.get(GENRES).json


@pytest.mark.parametrize("name", ["sci-fi", " SCI-FI ", "Sci-Fi"])
def test_a_genre_name_in_use_is_409_whatever_its_case_and_spaces(admin, name):
    response = admin.post(GENRES, {"name": name})

    assert response.status_code == 409
    assert "Sci-Fi" in response.json["message"]
    assert "name" in response.json["errors"]["json"]


def test_renaming_a_genre_shows_in_its_films_on_every_api(admin):
    response = admin.patch(f"{GENRES}/{SCIFI}", {"name": "Science Fiction"})

    assert response.status_code == 200
    assert response.json == {"id": SCIFI, "name": "Science Fiction", "film_count": 3}
    card = admin.get(f"{FILMS}/tt0000001").json
    assert {"id": SCIFI, "name": "Science Fiction"} in card["genres"]
    assert "Science Fiction" in admin.get("/api/v1/video/get/tt0000001").json["genre"]
    assert "tt0000003" in search_ids(admin, "science fiction")


def test_a_rename_that_changes_many_films_is_indexed_in_the_background(
    admin, monkeypatch
):
    monkeypatch.setattr(writethrough, "WRITE_THROUGH_LIMIT", 2)

    response = admin.patch(f"{GENRES}/{SCIFI}", {"name": "Science Fiction"})

    assert response.status_code == 200
    assert response.headers["X-Indexing"] == "pending"
    wait_until(lambda: not admin.backlog())
    card = admin.get(f"{FILMS}/tt0000002").json
    assert {"id": SCIFI, "name": "Science Fiction"} in card["genres"]
    assert admin.get(f"{GENRES}/{SCIFI}").json["name"] == "Science Fiction"


def test_a_genre_cannot_take_the_name_of_another(admin):
    noir = admin.genre()

    response = admin.patch(f"{GENRES}/{noir['id']}", {"name": "horror"})

    assert response.status_code == 409


def test_deleting_a_genre_takes_it_from_every_film(admin):
    response = admin.delete(f"{GENRES}/{SCIFI}")

    assert response.status_code == 204
    assert response.data == b""
    assert admin.get(f"{GENRES}/{SCIFI}").status_code == 404
    assert SCIFI not in [g["id"] for g in admin.get(GENRES).json]
    card = admin.get(f"{FILMS}/tt0000003").json
    assert card["genres"] == []
    assert admin.get("/api/v1/video/get/tt0000003").json["genre"] == []
    assert admin.delete(f"{GENRES}/{SCIFI}").status_code == 404


def test_a_genre_write_to_a_genre_that_does_not_exist_is_404(admin):
    assert admin.patch(f"{GENRES}/nope", {"name": "Noir"}).status_code == 404
    assert admin.delete(f"{GENRES}/nope").status_code == 404


# --- films -------------------------------------------------------------------------


def test_an_admin_creates_a_film_that_every_api_shows(admin):
    noir = admin.genre()

    response = admin.post(
        FILMS,
        {
            "title": "Dark City",
            "description": "A man wakes up in a city where night never ends.",
            "imdb_rating": 7.6,
            "genres": [noir["id"], SCIFI],
            "directors": ["Alex Proyas"],
            "actors": ["Rufus Sewell", "Mark Hamill"],
            "writers": ["Alex Proyas", "Lem Dobbs"],
        },
    )

    assert response.status_code == 201
    assert response.headers["X-Indexing"] == "done"
    card = response.json
    assert response.headers["Location"] == f"{FILMS}/{card['id']}"
    assert admin.get(f"{FILMS}/{card['id']}").json == card
    assert card["genres"] == [
        {"id": noir["id"], "name": "Noir"},
        {"id": SCIFI, "name": "Sci-Fi"},
    ]
    proyas = stable_id("person", "Alex Proyas")
    assert card["directors"] == [{"id": proyas, "full_name": "Alex Proyas"}]
    assert [p["id"] for p in card["actors"]] == [
        stable_id("person", "Rufus Sewell"),
        HAMILL,
    ]
    assert card["id"] in search_ids(admin, "dark city")
    assert card["id"] in search_ids(admin, "proyas")
    assert admin.get(f"{GENRES}/{noir['id']}").json["film_count"] == 1
    assert admin.get(f"{GENRES}/{SCIFI}").json["film_count"] == 4
    person = admin.get(f"/api/v1/persons/{proyas}").json
    assert person["full_name"] == "Alex Proyas"
    assert {"id": card["id"], "roles": ["writer", "director"]} in person["films"]
    films = admin.get(f"/api/v1/persons/{HAMILL}/films").json
    assert card["id"] in [film["id"] for film in films]


def test_the_legacy_api_shows_new_people_with_ids_the_old_system_never_gave(admin):
    card = admin.film(actors=["Rufus Sewell", "Mark Hamill"], writers=["Lem Dobbs"])

    video = admin.get(f"/api/v1/video/get/{card['id']}").json

    assert video["title"] == "Dark City"
    sewell, hamill = video["actors"]
    assert hamill == {"id": 1, "name": "Mark Hamill"}
    assert isinstance(sewell["id"], int) and sewell["id"] > 3
    (dobbs,) = video["writers"]
    assert isinstance(dobbs["id"], str) and len(dobbs["id"]) == 40
    assert dobbs["id"] != writer_id(1)
    assert dobbs["name"] == "Lem Dobbs"
    assert card["id"] in [
        film["id"]
        for film in admin.get(
            "/api/v1/video/collection", query_string={"search": "dark city"}
        ).json
    ]


# The legacy views are SQLite's, for the old system's scripts that read its file.
@pytest.mark.stores("sqlite")
def test_the_legacy_views_show_new_films_and_people(admin):
    card = admin.film(actors=["Rufus Sewell"], writers=["Lem Dobbs"])

    with closing(open_catalogue(admin.app.config)) as conn:
        movie = conn.execute(
            "SELECT title, writers FROM movies WHERE id = ?", (card["id"],)
        ).fetchone()
        actor = conn.execute(
            "SELECT a.id, a.name FROM movie_actors AS m JOIN actors AS a"
            " ON a.id = m.actor_id WHERE m.movie_id = ?",
            (card["id"],),
        ).fetchone()
        writers = conn.execute(
            "SELECT id FROM writers WHERE name = 'Lem Dobbs'"
        ).fetchall()

    assert movie["title"] == "Dark City"
    assert json.loads(movie["writers"]) == [{"id": writers[0]["id"]}]
    assert actor["name"] == "Rufus Sewell"
    assert len(writers) == 1


def test_a_person_named_by_full_name_or_id_is_the_existing_person(admin):
    card = admin.film(actors=["  mark   hamill ", stable_id("person", "Harrison Ford")])

    assert [p["full_name"] for p in card["actors"]] == ["Mark Hamill", "Harrison Ford"]
    assert card["actors"][0]["id"] == HAMILL


def test_a_new_film_id_never_collides_with_an_imported_one_and_stays(admin):
    first = admin.film()
    second = admin.film()

    assert first["id"] != second["id"]
    assert not first["id"].startswith("tt")
    assert str(uuid.UUID(first["id"])) == first["id"]
    changed = admin.patch(f"{FILMS}/{first['id']}", {"title": "Dark City (1998)"})
    assert changed.json["id"] == first["id"]


def test_patch_changes_only_the_fields_given_and_lists_replace_the_old(admin):
    card = admin.film(
        description="Night.", imdb_rating=7.6, genres=[SCIFI], actors=["Rufus Sewell"]
    )
    path = f"{FILMS}/{card['id']}"

    response = admin.patch(
        path, {"title": "Dark City (1998)", "actors": ["Jennifer Connelly"]}
    )

    assert response.status_code == 200
    assert response.headers["X-Indexing"] == "done"
    changed = response.json
    assert changed["title"] == "Dark City (1998)"
    assert changed["description"] == "Night."
    assert changed["imdb_rating"] == 7.6
    assert changed["genres"] == [{"id": SCIFI, "name": "Sci-Fi"}]
    assert [p["full_name"] for p in changed["actors"]] == ["Jennifer Connelly"]
    assert admin.get(path).json == changed
    sewell = admin.get(f"/api/v1/persons/{stable_id('person', 'Rufus Sewell')}").json
    assert sewell["films"] == []
    assert search_ids(admin, "connelly") == [card["id"]]
    cleared = admin.patch(path, {"imdb_rating": None, "genres": []}).json
    assert cleared["imdb_rating"] is None and cleared["genres"] == []
    assert admin.get(f"{GENRES}/{SCIFI}").json["film_count"] == 3


def test_an_imported_film_can_be_changed(admin):
    response = admin.patch(f"{FILMS}/tt0000002", {"imdb_rating": 9.1})

    assert response.status_code == 200
    assert admin.get(f"{FILMS}/tt0000002").json["imdb_rating"] == 9.1
    assert admin.get("/api/v1/video/get/tt0000002").json["imdb_rating"] == 9.1


def test_deleting_a_film_takes_it_from_every_api_and_twice_is_404(admin):
    card = admin.film(actors=["Rufus Sewell"], genres=[SCIFI])
    path = f"{FILMS}/{card['id']}"

    response = admin.delete(path)

    assert response.status_code == 204
    assert response.headers["X-Indexing"] == "done"
    assert admin.get(path).status_code == 404
    assert admin.get(f"/api/v1/video/get/{card['id']}").status_code == 404
    assert card["id"] not in search_ids(admin, "dark city")
    assert admin.get(f"{GENRES}/{SCIFI}").json["film_count"] == 3
    assert admin.delete(path).status_code == 404
    assert admin.patch(path, {"title": "Back"}).status_code == 404


def test_a_cached_answer_older_than_a_write_is_not_served(admin):
    path = f"{FILMS}/tt0000001"
    assert admin.get(path).json["title"] == "Star Wars"
    assert admin.get(path).json["title"] == "Star Wars"  # from the cache now
    listed = admin.get(FILMS, query_string={"sort": "id"}).json

    admin.patch(path, {"title": "Star Wars: A New Hope"})

    assert admin.get(path).json["title"] == "Star Wars: A New Hope"
    assert admin.get(FILMS, query_string={"sort": "id"}).json != listed


def test_another_worker_serves_the_write_within_its_version_check(admin):
    other = make_test_app(
        admin.app.config["DATABASE_PATH"],
        **{
            key: admin.app.config[key]
            for key in (
                "ELASTICSEARCH_URL",
                "ELASTICSEARCH_INDEX_PREFIX",
                "EMBEDDED_SEARCH_PATH",
            )
        },
    ).test_client()
    path = f"{FILMS}/tt0000001"
    assert other.get(path).json["title"] == "Star Wars"

    admin.patch(path, {"title": "Star Wars: A New Hope"})

    wait_until(lambda: other.get(path).json["title"] == "Star Wars: A New Hope")


# --- conditional writes ------------------------------------------------------------


def test_if_match_with_the_etag_read_lets_the_write_through(admin):
    path = f"{FILMS}/tt0000001"
    etag = admin.get(path).headers["ETag"]

    response = admin.patch(path, {"title": "Star Wars IV"}, **{"If-Match": etag})

    assert response.status_code == 200
    assert admin.get(path).headers["ETag"] != etag


def test_if_match_with_an_etag_that_changed_since_is_412_and_writes_nothing(admin):
    path = f"{FILMS}/tt0000001"
    etag = admin.get(path).headers["ETag"]
    admin.patch(path, {"title": "Star Wars IV"})

    stale = admin.patch(path, {"title": "Lost"}, **{"If-Match": etag})
    delete = admin.delete(path, **{"If-Match": etag})

    assert stale.status_code == 412
    assert delete.status_code == 412
    assert admin.get(path).json["title"] == "Star Wars IV"


def test_without_if_match_the_last_write_wins(admin):
    path = f"{FILMS}/tt0000001"
    admin.patch(path, {"title": "One"})
    admin.patch(path, {"title": "Two"})

    assert admin.get(path).json["title"] == "Two"


def in_parallel(*calls):
    """Run each call in a thread of its own, all at once; return their results."""
    results = [None] * len(calls)

    def run(n, call):
        results[n] = call()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_writes_with_the_same_if_match_at_once_give_one_200_and_one_412(
    admin, monkeypatch
):
    path = f"{FILMS}/tt0000001"
    etag = admin.get(path).headers["ETag"]
    # Each write waits for the other to have read the film too (up to a second):
    # unless the first holds its row, both would check the same old ETag.
    both_read = threading.Barrier(2)
    read = writethrough._DOCUMENTS["film"]

    def read_then_wait(conn, film_id):
        document = read(conn, film_id)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait(timeout=1)
        return document

    monkeypatch.setitem(writethrough._DOCUMENTS, "film", read_then_wait)

    def write(title):
        client = admin.app.test_client()
        headers = {**admin.headers, "If-Match": etag}
        return client.patch(path, json={"title": title}, headers=headers)

    answers = in_parallel(lambda: write("One"), lambda: write("Two"))

    assert sorted(answer.status_code for answer in answers) == [200, 412]
    winner = next(answer for answer in answers if answer.status_code == 200)
    assert admin.get(path).json["title"] == winner.json["title"]


@pytest.mark.stores("postgresql")
def test_a_write_of_one_film_never_waits_for_a_write_of_another(admin):
    with closing(open_catalogue(admin.app.config)) as other, transaction(other):
        # Another admin's write of Star Wars, not committed yet.
        lock_rows(other, "film", ["tt0000001"])
        other.execute("UPDATE film SET title = 'Held' WHERE id = 'tt0000001'")
        started = time.monotonic()

        response = admin.patch(f"{FILMS}/tt0000002", {"title": "Empire"})

        assert response.status_code == 200
        assert time.monotonic() - started < 2
    assert admin.get(f"{FILMS}/tt0000001").status_code == 200


@pytest.mark.stores("postgresql")
def test_films_with_new_actors_never_wait_for_each_other(admin):
    with closing(open_catalogue(admin.app.config)) as other, transaction(other):
        # Another admin's new film, its new actor given a legacy id, not committed.
        other.execute("INSERT INTO person (id, full_name) VALUES ('held', 'Held')")
        film_queries._give_legacy_id(other, "held", "actor")
        started = time.monotonic()

        card = admin.film(actors=["Rufus Sewell"])

        assert time.monotonic() - started < 2
    video = admin.get(f"/api/v1/video/get/{card['id']}").json
    (sewell,) = video["actors"]
    assert isinstance(sewell["id"], int) and sewell["id"] > 3


@pytest.mark.stores("postgresql")
def test_a_write_that_waits_for_the_same_film_too_long_is_503(admin, monkeypatch):
    app = admin.restart()
    app.config["DATABASE_WRITE_TIMEOUT"] = 0.3
    client = app.test_client()
    with closing(open_catalogue(admin.app.config)) as other, transaction(other):
        lock_rows(other, "film", ["tt0000001"])

        response = client.patch(
            f"{FILMS}/tt0000001", json={"title": "Lost"}, headers=admin.headers
        )

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert admin.get(f"{FILMS}/tt0000001").json["title"] != "Lost"


def test_if_match_guards_genres_too(admin):
    path = f"{GENRES}/{SCIFI}"
    etag = admin.get(path).headers["ETag"]

    assert admin.patch(path, {"name": "SF"}, **{"If-Match": etag}).status_code == 200
    assert admin.delete(path, **{"If-Match": etag}).status_code == 412


# --- refusals ----------------------------------------------------------------------


WRITES = [
    ("post", FILMS, {"title": "Dark City"}),
    ("patch", f"{FILMS}/tt0000001", {"title": "Dark City"}),
    ("delete", f"{FILMS}/tt0000001", None),
    ("post", GENRES, {"name": "Noir"}),
    ("patch", f"{GENRES}/{SCIFI}", {"name": "Noir"}),
    ("delete", f"{GENRES}/{SCIFI}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_a_write_without_a_token_is_401_and_a_users_is_403(admin, method, path, body):
    anonymous = getattr(admin.client, method)(path, json=body)
    user = getattr(admin.client, method)(path, json=body, headers=admin.user_headers)

    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert user.status_code == 403
    assert admin.get(f"{FILMS}/tt0000001").json["title"] == "Star Wars"
    assert admin.get(f"{GENRES}/{SCIFI}").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 501}, "title"),
        # The spec's maxLength counts the text as sent, spaces too.
        ({"title": "x" * 500 + " "}, "title"),
        # White space of any kind is blank, as the spec's pattern says.
        ({"title": "A", "directors": ["\x1e"]}, "directors"),
        ({"title": "\x85"}, "title"),
        ({"title": None}, "title"),
        ({"title": 7}, "title"),
        ({"title": "A", "imdb_rating": 10.1}, "imdb_rating"),
        ({"title": "A", "imdb_rating": -1}, "imdb_rating"),
        ({"title": "A", "imdb_rating": 8.65}, "imdb_rating"),
        ({"title": "A", "imdb_rating": "good"}, "imdb_rating"),
        ({"title": "A", "genres": "Sci-Fi"}, "genres"),
        ({"title": "A", "genres": [SCIFI] * 101}, "genres"),
        ({"title": "A", "actors": ["A Person"] * 501}, "actors"),
        ({"title": "A", "actors": ["a"] * 200, "writers": ["b"] * 301}, "actors"),
        ({"title": "A", "actors": [""]}, "actors"),
        ({"title": "A", "directors": ["x" * 501]}, "directors"),
        ({"title": "A", "rating": 8}, "rating"),
        ({"title": "A", "id": "tt9999999"}, "id"),
    ],
)
def test_a_film_the_rules_refuse_is_422_naming_the_field(admin, body, field):
    response = admin.post(FILMS, body)

    assert response.status_code == 422
    assert field in response.json["errors"]["json"]
    assert search_ids(admin, "dark city") == []


def test_a_patch_the_rules_refuse_is_422_and_changes_nothing(admin):
    path = f"{FILMS}/tt0000001"

    for body in ({"title": None}, {"imdb_rating": 11}, {"unknown": 1}):
        assert admin.patch(path, body).status_code == 422
    assert admin.get(path).json["title"] == "Star Wars"


def test_an_unknown_genre_or_person_id_is_422_naming_it(admin):
    person_id = str(uuid.uuid4())
    genre = admin.post(FILMS, {"title": "A", "genres": [SCIFI, "no-such-genre"]})
    person = admin.post(FILMS, {"title": "A", "actors": [person_id]})

    assert genre.status_code == 422
    assert "no-such-genre" in genre.json["errors"]["json"]["genres"][0]
    assert person.status_code == 422
    assert person_id in person.json["message"]
    with closing(open_catalogue(admin.app.config)) as conn:
        assert conn.execute("SELECT count(*) FROM film").fetchone()[0] == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "name"), ({"name": " "}, "name"), ({"name": "x" * 101}, "name")],
)
def test_a_genre_the_rules_refuse_is_422_naming_the_field(admin, body, field):
    response = admin.post(GENRES, body)

    assert response.status_code == 422
    assert field in response.json["errors"]["json"]


def test_a_body_over_the_size_limit_is_413(admin):
    body = {"title": "A", "description": "x" * (1024 * 1024)}

    response = admin.post(FILMS, body)

    assert response.status_code == 413
    assert response.json["code"] == 413


# --- the search engine fails -------------------------------------------------------


def test_a_write_while_the_search_engine_is_down_is_saved_and_indexed_later(admin):
    admin.engine.down = True

    response = admin.post(FILMS, {"title": "Dark City", "actors": ["Rufus Sewell"]})
    patched = admin.patch(f"{FILMS}/tt0000001", {"title": "Star Wars IV"})
    deleted = admin.delete(f"{FILMS}/tt0000003")

    assert response.status_code == 201
    assert response.headers["X-Indexing"] == "pending"
    assert patched.headers["X-Indexing"] == deleted.headers["X-Indexing"] == "pending"
    card = response.json
    assert card["title"] == "Dark City"
    assert admin.backlog()
    admin.engine.down = False
    wait_until(lambda: not admin.backlog())
    assert admin.get(f"{FILMS}/{card['id']}").json == card
    assert admin.get(f"{FILMS}/tt0000001").json["title"] == "Star Wars IV"
    assert admin.get(f"{FILMS}/tt0000003").status_code == 404
    sewell = stable_id("person", "Rufus Sewell")
    assert admin.get(f"/api/v1/persons/{sewell}").status_code == 200


def test_the_search_engine_killed_between_commit_and_index_write(admin):
    indexer = writethrough_indexer(admin.app)
    write_changes = indexer.write_changes

    def killed_first(*args, **kwargs):
        admin.engine.down = True  # the commit is done; the engine dies now
        return write_changes(*args, **kwargs)

    indexer.write_changes = killed_first
    try:
        response = admin.post(FILMS, {"title": "Dark City"})
    finally:
        indexer.write_changes = write_changes

    assert response.status_code == 201
    assert response.headers["X-Indexing"] == "pending"
    with closing(open_catalogue(admin.app.config)) as conn:
        assert (
            conn.execute(
                "SELECT title FROM film WHERE id = ?", (response.json["id"],)
            ).fetchone()["title"]
            == "Dark City"
        )
    admin.engine.down = False
    wait_until(lambda: not admin.backlog())
    assert admin.get(f"{FILMS}/{response.json['id']}").json == response.json


def test_a_restarted_service_indexes_the_backlog_its_last_processes_left(admin):
    catch_up(admin.app).stop()  # every process dies before its catch-up
    admin.engine.down = True
    response = admin.patch(f"{FILMS}/tt0000001", {"title": "Star Wars IV"})
    assert response.headers["X-Indexing"] == "pending"
    admin.engine.down = False

    restarted = admin.restart()
    assert not catch_up(restarted).running()  # creating the app starts nothing
    client = restarted.test_client()
    assert client.get("/healthz").status_code == 200  # it serves: no write

    wait_until(lambda: not admin.backlog())
    assert client.get(f"{FILMS}/tt0000001").json["title"] == "Star Wars IV"
    found = client.get(f"{FILMS}/search", query_string={"query": "Star Wars IV"})
    assert [film["id"] for film in found.json] == ["tt0000001"]


def left_by_a_dead_process(admin, seconds_ago):
    """Leave a change in the backlog, noted ``seconds_ago``, by a process that died.

    Returns another process of the service, which served before the change.
    """
    other = admin.restart()
    assert other.test_client().get("/healthz").status_code == 200
    catch_up(admin.app).stop()
    admin.engine.down = True
    response = admin.patch(f"{FILMS}/tt0000001", {"title": "Star Wars IV"})
    assert response.headers["X-Indexing"] == "pending"
    admin.engine.down = False
    with closing(open_catalogue(admin.app.config)) as conn:
        conn.execute(
            "UPDATE search_backlog SET revision = revision - ?", (seconds_ago * 1000,)
        )
    return other


def test_a_write_that_finds_a_change_left_behind_starts_the_catch_up(admin):
    other = left_by_a_dead_process(admin, writethrough.LEFT_BEHIND_SECONDS + 1)

    response = other.test_client().post(
        GENRES, json={"name": "Noir"}, headers=admin.headers
    )

    assert response.headers["X-Indexing"] == "done"
    wait_until(lambda: not admin.backlog())
    assert get_search().get_film("tt0000001")["title"] == "Star Wars IV"


def test_a_write_leaves_the_younger_changes_of_other_processes_to_them(admin):
    other = left_by_a_dead_process(admin, 1)
    left = admin.backlog()

    response = other.test_client().post(
        GENRES, json={"name": "Noir"}, headers=admin.headers
    )

    assert response.headers["X-Indexing"] == "done"
    assert not catch_up(other).running()
    assert ("film", "tt0000001") in [tuple(row) for row in left]
    assert admin.backlog() == left


def test_a_first_request_on_a_catalogue_not_yet_migrated_is_answered(tmp_path):
    path = tmp_path / "legacy.sqlite"
    make_legacy_db(path, movies=LEGACY_MOVIES)  # no search_backlog table yet
    app = make_test_app(path)

    response = app.test_client().get("/healthz")

    assert response.status_code == 200
    assert not catch_up(app).running()


def test_the_etl_catches_up_on_a_change_the_write_through_missed(admin):
    catch_up(admin.app).stop()  # the process died: only the ETL is left
    admin.engine.down = True
    response = admin.patch(f"{FILMS}/tt0000001", {"title": "Star Wars IV"})
    assert response.headers["X-Indexing"] == "pending"
    admin.engine.down = False
    assert admin.get(f"{FILMS}/tt0000001").json["title"] == "Star Wars"

    run_cli(admin.app, "etl", "run")

    assert get_search().get_film("tt0000001")["title"] == "Star Wars IV"
    assert admin.backlog()  # the ETL only reads the catalogue


def test_after_the_writes_the_etl_finds_nothing_to_change(admin):
    noir = admin.genre()
    card = admin.film(
        genres=[noir["id"], SCIFI], actors=["Rufus Sewell", "Mark Hamill"]
    )
    admin.patch(f"{FILMS}/tt0000002", {"writers": ["Lem Dobbs"]})
    admin.delete(f"{FILMS}/tt0000003")
    admin.patch(f"{GENRES}/{SCIFI}", {"name": "Science Fiction"})
    reader = get_search()
    people = [
        HAMILL,
        stable_id("person", "Rufus Sewell"),
        stable_id("person", "Lem Dobbs"),
    ]

    def index():
        return (
            [reader.get_film(i) for i in (card["id"], "tt0000001", "tt0000002")],
            [reader.get_person(i) for i in people],
            reader.list_genres(Sort("name"), limit=100).items,
            reader.get_film("tt0000003"),
        )

    before = index()
    run_cli(admin.app, "etl", "run")

    assert index() == before
    assert admin.backlog() == []


# --- concurrent edits --------------------------------------------------------------


def test_of_two_racing_updates_the_later_commit_wins_in_the_index(admin):
    path = f"{FILMS}/tt0000001"
    indexer = writethrough_indexer(admin.app)
    write_changes = indexer.write_changes
    first_read = threading.Event()
    second_indexed = threading.Event()

    def write_late_if_first(documents, *args):
        if threading.current_thread().name == "first":
            # The first write has committed and read its documents: it now
            # writes them after the second write, which committed later.
            assert documents[MOVIES][0]["title"] == "First"
            first_read.set()
            second_indexed.wait(30)
        return write_changes(documents, *args)

    indexer.write_changes = write_late_if_first
    answers = {}
    first = threading.Thread(
        target=lambda: answers.update(first=admin.patch(path, {"title": "First"})),
        name="first",
    )
    try:
        first.start()
        assert first_read.wait(30)
        answers["second"] = admin.patch(path, {"title": "Second"})
        second_indexed.set()
        first.join(30)
    finally:
        indexer.write_changes = write_changes

    assert answers["first"].json["title"] == "First"
    assert answers["second"].json["title"] == "Second"
    with closing(open_catalogue(admin.app.config)) as conn:
        title = conn.execute("SELECT title FROM film WHERE id = 'tt0000001'")
        assert title.fetchone()[0] == "Second"
    assert get_search().get_film("tt0000001")["title"] == "Second"
    assert admin.get(path).json["title"] == "Second"
    assert search_ids(admin, "first") == []
    assert admin.backlog() == []
