"""Collections: create, list with favourite genres, read, change, delete; only
the owner's, every one of them validated.
"""

import threading
import uuid

import pytest

from catalogue.db import open_catalogue
from tests.fixtures.accounts import bearer, make_account

pytestmark = pytest.mark.stores


def movie(n, genres="Drama", title=None):
    """A provider movie ``n`` in the shape the collections take."""
    return {
        "title": title or f"Movie {n}",
        "description": f"Plot {n}",
        "genres": genres,
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_OID, f"movie-{n}")),
    }


@pytest.fixture
def users(accounts_app):
    """Two users of one app: ``alice`` and ``bob``, each a client and headers."""
    return {
        name: bearer(accounts_app, make_account(accounts_app, name))
        for name in ("alice", "bob")
    }


@pytest.fixture
def client(accounts_app):
    return accounts_app.test_client()


def create(client, headers, title="Favourites", movies=(), **fields):
    body = {"title": title, "movies": list(movies), **fields}
    response = client.post("/collection/", json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json["collection_uuid"]


def favourites(client, headers):
    response = client.get("/collection/", headers=headers)
    assert response.status_code == 200
    return response.json["data"]["favourite_genres"]


# --- create and read ------------------------------------------------------------


def test_a_new_collection_answers_201_with_its_uuid(client, users):
    response = client.post(
        "/collection/",
        json={"title": "Weekend", "description": "To watch", "movies": [movie(1)]},
        headers=users["alice"],
    )

    assert response.status_code == 201
    assert set(response.json) == {"collection_uuid"}
    assert uuid.UUID(response.json["collection_uuid"])
    assert response.headers["Cache-Control"] == "private, no-store"


def test_a_collection_reads_back_with_its_movies_in_the_order_added(client, users):
    movies = [movie(3), movie(1), movie(2, genres="")]
    collection = create(client, users["alice"], "Weekend", movies, description="D")

    response = client.get(f"/collection/{collection}/", headers=users["alice"])

    assert response.status_code == 200
    assert response.json == {"title": "Weekend", "description": "D", "movies": movies}
    assert response.headers["Cache-Control"] == "private, no-store"


def test_description_and_movies_may_be_left_out(client, users):
    collection = create(client, users["alice"], "Empty")

    response = client.get(f"/collection/{collection}/", headers=users["alice"])

    assert response.json == {"title": "Empty", "description": "", "movies": []}


def test_a_movie_listed_twice_is_kept_once_at_its_first_place(client, users):
    renamed = movie(1, title="Movie 1, restored")
    collection = create(client, users["alice"], "T", [movie(1), movie(2), renamed])

    movies = client.get(f"/collection/{collection}/", headers=users["alice"]).json[
        "movies"
    ]

    assert movies == [renamed, movie(2)]


def test_the_list_is_newest_first_without_movies(client, users):
    first = create(client, users["alice"], "First", [movie(1)], description="a")
    second = create(client, users["alice"], "Second", description="b")

    response = client.get("/collection/", headers=users["alice"])

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.json == {
        "is_success": True,
        "data": {
            "collections": [
                {"title": "Second", "uuid": second, "description": "b"},
                {"title": "First", "uuid": first, "description": "a"},
            ],
            "favourite_genres": "Drama",
        },
    }


def test_another_users_data_for_a_movie_never_changes_a_collection(
    client, users, accounts_app
):
    mine = movie(1, genres="Drama")
    first = create(client, users["alice"], "A", [mine])
    hostile = movie(
        1, genres="Horror", title='=HYPERLINK("http://evil.example","click")'
    )
    hostile["description"] = "rewritten"
    theirs = create(client, users["bob"], "B", [hostile])
    client.put(
        f"/collection/{theirs}/",
        json={"movies": [{**hostile, "genres": "Western"}]},
        headers=users["bob"],
    )

    response = client.get(f"/collection/{first}/", headers=users["alice"])

    assert response.json["movies"] == [mine]
    assert favourites(client, users["alice"]) == "Drama"
    bobs = client.get(f"/collection/{theirs}/", headers=users["bob"]).json
    assert bobs["movies"][0]["genres"] == "Western"
    with open_catalogue(accounts_app.config) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM collection_movie WHERE movie_uuid = ?",
            (mine["uuid"],),
        ).fetchone()[0]
    assert stored == 2


def test_each_collection_keeps_the_data_its_owner_sent_it(client, users):
    first = create(client, users["alice"], "A", [movie(1, genres="Drama")])
    newer = movie(1, genres="Comedy", title="Movie 1 (director's cut)")
    second = create(client, users["alice"], "B", [newer])

    assert client.get(f"/collection/{first}/", headers=users["alice"]).json[
        "movies"
    ] == [movie(1, genres="Drama")]
    assert client.get(f"/collection/{second}/", headers=users["alice"]).json[
        "movies"
    ] == [newer]


def test_a_null_description_and_genres_are_kept_as_null(client, users):
    sent = {**movie(1), "description": None, "genres": None}
    collection = create(client, users["alice"], "A", [sent])

    response = client.get(f"/collection/{collection}/", headers=users["alice"])

    assert response.json["movies"] == [sent]
    assert favourites(client, users["alice"]) == ""


# --- favourite genres -------------------------------------------------------------


def test_favourite_genres_rank_by_distinct_movies_then_by_name(client, users):
    alice = users["alice"]
    create(client, alice, "A", [movie(1, "Drama, Comedy"), movie(2, " Drama")])
    # Movie 1 again, in another collection: still one movie.
    create(client, alice, "B", [movie(1, "Drama, Comedy"), movie(3, "Action")])
    create(client, alice, "C", [movie(4, "Comedy , Western"), movie(5, "DRAMA")])

    # Drama 3 movies, Comedy 2, then Action and Western 1 each: Action by name.
    assert favourites(client, alice) == "Drama, Comedy, Action"


def test_favourite_genres_break_ties_by_name(client, users):
    create(client, users["alice"], "A", [movie(1, "Western, Comedy, Drama, Action")])

    assert favourites(client, users["alice"]) == "Action, Comedy, Drama"


def test_favourite_genres_ignore_case_blanks_and_empty_ones(client, users):
    alice = users["alice"]
    create(
        client,
        alice,
        "A",
        [
            movie(1, " horror ,,  "),
            movie(2, "Horror"),
            movie(3, "HORROR, Horror"),
            movie(4, ""),
            movie(5, " , "),
            movie(6, "Horror"),
        ],
    )

    # One genre whatever its case, spelled as most of its movies spell it.
    assert favourites(client, alice) == "Horror"


def test_favourite_genres_fewer_than_three(client, users):
    create(client, users["alice"], "A", [movie(1, "Drama,Comedy")])

    assert favourites(client, users["alice"]) == "Comedy, Drama"


def test_favourite_genres_are_empty_without_genres(client, users):
    assert favourites(client, users["alice"]) == ""
    create(client, users["alice"], "A", [movie(1, "")])
    assert favourites(client, users["alice"]) == ""


def test_favourite_genres_count_only_the_callers_collections(client, users):
    create(client, users["alice"], "A", [movie(1, "Drama")])
    create(client, users["bob"], "B", [movie(2, "Western")])

    assert favourites(client, users["alice"]) == "Drama"
    assert favourites(client, users["bob"]) == "Western"


def test_favourite_genres_count_a_movie_once_as_its_latest_collection_has_it(
    client, users
):
    first = create(client, users["alice"], "A", [movie(1, "Drama")])
    create(client, users["alice"], "B", [movie(1, "Western")])
    create(client, users["bob"], "C", [movie(1, "Horror"), movie(2, "Horror")])

    assert favourites(client, users["alice"]) == "Western"
    client.put(
        f"/collection/{first}/",
        json={"movies": [movie(1, "Drama")]},
        headers=users["alice"],
    )
    assert favourites(client, users["alice"]) == "Drama"


# --- change and delete ------------------------------------------------------------


def test_put_changes_only_what_it_is_given(client, users):
    alice = users["alice"]
    collection = create(client, alice, "Old", [movie(1)], description="Kept")

    response = client.put(
        f"/collection/{collection}/", json={"title": "New"}, headers=alice
    )

    assert response.status_code == 200
    assert response.json == {
        "title": "New",
        "description": "Kept",
        "movies": [movie(1)],
    }
    assert response.headers["Cache-Control"] == "private, no-store"


def test_put_movies_replaces_the_whole_list(client, users):
    alice = users["alice"]
    collection = create(client, alice, "T", [movie(1), movie(2)])

    response = client.put(
        f"/collection/{collection}/",
        json={"movies": [movie(3), movie(1), movie(3)]},
        headers=alice,
    )

    assert response.status_code == 200
    assert response.json["movies"] == [movie(3), movie(1)]
    assert response.json["title"] == "T"
    again = client.get(f"/collection/{collection}/", headers=alice).json
    assert again == response.json


def test_put_description_only_and_empty_movies(client, users):
    alice = users["alice"]
    collection = create(client, alice, "T", [movie(1)])

    response = client.put(
        f"/collection/{collection}/",
        json={"description": "Now empty", "movies": []},
        headers=alice,
    )

    assert response.json == {"title": "T", "description": "Now empty", "movies": []}


def test_delete_answers_204_and_the_collection_is_gone(client, users):
    alice = users["alice"]
    collection = create(client, alice, "T", [movie(1)])

    response = client.delete(f"/collection/{collection}/", headers=alice)

    assert response.status_code == 204
    assert response.get_data() == b""
    assert client.get(f"/collection/{collection}/", headers=alice).status_code == 404
    assert client.delete(f"/collection/{collection}/", headers=alice).status_code == 404
    assert client.get("/collection/", headers=alice).json["data"] == {
        "collections": [],
        "favourite_genres": "",
    }


# --- another user's collections ---------------------------------------------------


def test_another_users_collection_is_404_for_every_method(client, users):
    collection = create(client, users["alice"], "Mine", [movie(1)])
    path = f"/collection/{collection}/"
    unknown = f"/collection/{uuid.uuid4()}/"
    bob = users["bob"]

    answers = [
        client.get(path, headers=bob),
        client.put(path, json={"title": "Stolen"}, headers=bob),
        client.delete(path, headers=bob),
    ]
    for response in answers:
        assert response.status_code == 404
        assert response.json == client.get(unknown, headers=bob).json
    assert set(answers[0].json) == {"code", "status", "message", "errors"}
    assert client.get("/collection/", headers=bob).json["data"]["collections"] == []
    mine = client.get(path, headers=users["alice"])
    assert mine.status_code == 200
    assert mine.json["title"] == "Mine"


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_an_unknown_collection_is_404(client, users, method):
    response = getattr(client, method)(
        f"/collection/{uuid.uuid4()}/", json={"title": "x"}, headers=users["alice"]
    )

    assert response.status_code == 404
    assert response.json["message"] == "No collection of yours has this uuid."


@pytest.mark.parametrize("method", ["get", "put", "delete"])
@pytest.mark.parametrize("bad", ["not-a-uuid", "1234", "0" * 33, "'; DROP TABLE x"])
def test_a_malformed_uuid_is_404_never_500(client, users, method, bad):
    response = getattr(client, method)(
        f"/collection/{bad}/", json={"title": "x"}, headers=users["alice"]
    )

    assert response.status_code == 404
    assert set(response.json) == {"code", "status", "message", "errors"}


def test_an_uppercase_uuid_finds_the_collection(client, users):
    collection = create(client, users["alice"], "T")

    response = client.get(f"/collection/{collection.upper()}/", headers=users["alice"])

    assert response.status_code == 200


# --- tokens -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/collection/"),
        ("post", "/collection/"),
        ("get", f"/collection/{uuid.uuid4()}/"),
        ("put", f"/collection/{uuid.uuid4()}/"),
        ("delete", f"/collection/{uuid.uuid4()}/"),
    ],
)
def test_every_operation_needs_a_token(client, method, path):
    response = getattr(client, method)(path, json={"title": "x"})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_nothing_is_read_before_the_caller_is_known(client):
    response = client.post("/collection/", json={"nonsense": 1})

    assert response.status_code == 401


# --- validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({}, ("title",)),
        ({"title": ""}, ("title",)),
        ({"title": "x" * 201}, ("title",)),
        ({"title": 7}, ("title",)),
        ({"title": "T", "description": "x" * 5001}, ("description",)),
        ({"title": "T", "movies": "none"}, ("movies",)),
        ({"title": "T", "movies": [movie(n) for n in range(1001)]}, ("movies",)),
        ({"title": "T", "movies": [{"title": "No uuid"}]}, ("movies", "0", "uuid")),
        (
            {"title": "T", "movies": [{"title": "Bad", "uuid": "nope"}]},
            ("movies", "0", "uuid"),
        ),
        (
            {"title": "T", "movies": [movie(1), {"uuid": str(uuid.uuid4())}]},
            ("movies", "1", "title"),
        ),
        (
            {"title": "T", "movies": [{**movie(1), "title": ""}]},
            ("movies", "0", "title"),
        ),
        ({"title": "T", "owner": "bob"}, ("owner",)),
        (
            {"title": "T", "movies": [{**movie(1), "rating": 9}]},
            ("movies", "0", "rating"),
        ),
    ],
)
def test_an_invalid_collection_is_422_naming_the_field(client, users, body, location):
    response = client.post("/collection/", json=body, headers=users["alice"])

    assert response.status_code == 422
    assert set(response.json) == {"code", "status", "message", "errors"}
    errors = response.json["errors"]["json"]
    for part in location:
        errors = errors[int(part) if isinstance(errors, list) else part]
    assert errors
    assert location[0] in response.json["message"]


def test_a_thousand_movies_are_accepted(client, users):
    movies = [movie(n) for n in range(1000)]
    collection = create(client, users["alice"], "Big", movies)

    response = client.get(f"/collection/{collection}/", headers=users["alice"])

    assert response.json["movies"] == movies


def test_the_limit_counts_distinct_movies(client, users):
    movies = [movie(n % 10) for n in range(1001)]
    collection = create(client, users["alice"], "T", movies)

    response = client.get(f"/collection/{collection}/", headers=users["alice"])

    assert response.json["movies"] == [movie(n) for n in range(10)]


def test_a_change_of_nothing_changes_nothing(client, users):
    collection = create(client, users["alice"], "T", [movie(1)])

    for body in ({}, None):
        response = client.put(
            f"/collection/{collection}/", json=body, headers=users["alice"]
        )

        assert response.status_code == 200
        assert response.json == {"title": "T", "description": "", "movies": [movie(1)]}


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"title": None},
        {"description": "x" * 5001},
        {"movies": [{"title": "x", "uuid": "bad"}]},
        {"uuid": str(uuid.uuid4())},
    ],
)
def test_an_invalid_change_is_422_and_changes_nothing(client, users, body):
    alice = users["alice"]
    collection = create(client, alice, "T", [movie(1)])

    response = client.put(f"/collection/{collection}/", json=body, headers=alice)

    assert response.status_code == 422
    assert next(iter(body)) in response.json["errors"]["json"]
    after = client.get(f"/collection/{collection}/", headers=alice).json
    assert after == {"title": "T", "description": "", "movies": [movie(1)]}


def test_a_body_that_is_not_json_is_refused(client, users):
    response = client.post(
        "/collection/",
        data="title=x",
        headers={**users["alice"], "Content-Type": "text/plain"},
    )

    assert response.status_code in (415, 422)
    assert set(response.json) == {"code", "status", "message", "errors"}


def test_deleting_a_collection_keeps_movies_other_collections_hold(client, users):
    alice = users["alice"]
    first = create(client, alice, "A", [movie(1), movie(2)])
    second = create(client, alice, "B", [movie(2)])

    client.delete(f"/collection/{first}/", headers=alice)

    assert client.get(f"/collection/{second}/", headers=alice).json["movies"] == [
        movie(2)
    ]


def test_a_users_list_never_reaches_another_user_from_the_shared_cache(client, users):
    create(client, users["alice"], title="Alice's own")
    for _ in range(2):
        alice = client.get("/collection/", headers=users["alice"])
        bob = client.get("/collection/", headers=users["bob"])

        assert [c["title"] for c in alice.json["data"]["collections"]] == [
            "Alice's own"
        ]
        assert bob.json["data"]["collections"] == []
        assert alice.headers["Cache-Control"] == "private, no-store"
        assert bob.headers["Cache-Control"] == "private, no-store"


def test_users_write_their_collections_side_by_side(accounts_app):
    people = {
        name: bearer(accounts_app, make_account(accounts_app, name))
        for name in ("ann", "ben", "cat", "dan")
    }
    made = {name: [] for name in people}
    failures = []

    def write(name):
        client = accounts_app.test_client()
        for n in range(10):
            response = client.post(
                "/collection/",
                json={"title": f"{name} {n}", "movies": [movie(n), movie(n + 1)]},
                headers=people[name],
            )
            if response.status_code == 201:
                made[name].append(response.json["collection_uuid"])
            else:
                failures.append((name, response.status_code))

    threads = [threading.Thread(target=write, args=(name,)) for name in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert failures == []
    client = accounts_app.test_client()
    for name, headers in people.items():
        listed = client.get("/collection/", headers=headers).json["data"]
        assert {c["uuid"] for c in listed["collections"]} == set(made[name])
        assert {c["title"] for c in listed["collections"]} == {
            f"{name} {n}" for n in range(10)
        }
