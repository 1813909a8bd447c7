"""GET /movies/: the provider's pages passed through, against a fake provider
that is a real HTTP server; every way the provider fails.
"""

import json
import threading
import urllib.error
import urllib.request

import pytest
import redis

from tests.commands import command_env, gunicorn
from tests.fixtures.accounts import bearer, make_account
from tests.fixtures.movies_provider import PAGE_SIZE, SECRET_BODY
from tests.fixtures.redis import free_port
from tests.waiting import wait_until

# Fast settings for the fake: failures are counted, never timed.
FAST = {
    "MOVIES_PROVIDER_CONNECT_TIMEOUT": 1.0,
    "MOVIES_PROVIDER_READ_TIMEOUT": 0.3,
    "MOVIES_PROVIDER_RETRIES": 2,
    "MOVIES_PROVIDER_BACKOFF": 0.01,
    "MOVIES_PROVIDER_LONGEST_WAIT": 0.05,
    "MOVIES_PROVIDER_FAILURES": 3,
    "MOVIES_PROVIDER_PAUSE": 30.0,
}
MIB = 1024 * 1024
# A cap on the provider's answers small enough that a page padded past it is cheap.
SMALL_CAP = 16 * 1024


@pytest.fixture
def movies_app(make_app, accounts_app, movies_provider):
    """An app on a migrated catalogue that reads the fake provider."""
    return make_app(**movies_provider.settings(**FAST))


@pytest.fixture
def user(movies_app):
    return bearer(movies_app, make_account(movies_app, "alice"))


@pytest.fixture
def get(movies_app, user):
    client = movies_app.test_client()

    def get(path="/movies/", **kwargs):
        return client.get(path, headers={**user, **kwargs.pop("headers", {})}, **kwargs)

    return get


def assert_error(response, status):
    assert response.status_code == status, response.json
    assert set(response.json) == {"code", "status", "message", "errors"}
    body = response.get_data(as_text=True)
    assert SECRET_BODY not in body
    assert "127.0.0.1:" not in body
    assert "provider-password" not in body
    assert "Traceback" not in body


def assert_retry_after(response):
    assert int(response.headers["Retry-After"]) >= 1


# --- pages ------------------------------------------------------------------------


def test_the_first_page_is_the_providers_with_our_links(get, movies_provider):
    response = get()

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    page = response.json
    assert set(page) == {"count", "next", "previous", "data"}
    assert page["count"] == 25
    assert page["data"] == movies_provider.movies[:PAGE_SIZE]
    assert page["next"] == "http://localhost/movies/?page=2"
    assert page["previous"] is None


def test_a_middle_page_links_both_ways_to_us(get, movies_provider):
    page = get("/movies/?page=2").json

    assert page["data"] == movies_provider.movies[PAGE_SIZE : 2 * PAGE_SIZE]
    assert page["next"] == "http://localhost/movies/?page=3"
    assert page["previous"] == "http://localhost/movies/?page=1"


def test_the_last_page_has_no_next(get, movies_provider):
    page = get("/movies/?page=3").json

    assert page["data"] == movies_provider.movies[2 * PAGE_SIZE :]
    assert page["next"] is None
    assert page["previous"] == "http://localhost/movies/?page=2"


def test_links_honour_the_trusted_proxy_for_a_link_host(
    make_app, accounts_app, movies_provider
):
    app = make_app(
        **movies_provider.settings(**FAST),
        TRUSTED_PROXIES=1,
        LINK_HOSTS=("movies.example.org",),
    )
    headers = {
        **bearer(app, make_account(app, "alice")),
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "movies.example.org",
        "X-Forwarded-Prefix": "/catalogue",
    }

    page = app.test_client().get("/movies/?page=2", headers=headers).json

    assert page["next"] == "https://movies.example.org/catalogue/movies/?page=3"
    assert page["previous"] == "https://movies.example.org/catalogue/movies/?page=1"


def test_untrusted_forwarded_headers_are_ignored(get):
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}

    page = get("/movies/?page=2", headers=headers).json

    assert page["next"] == "http://localhost/movies/?page=3"


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8000", "EVIL.example", "[::2]:80", "a b"]
)
def test_a_host_no_setting_trusts_is_never_echoed(get, host):
    page = get("/movies/?page=2", headers={"Host": host}).json

    assert page["next"] == "/movies/?page=3"
    assert page["previous"] == "/movies/?page=1"


def test_a_forwarded_host_no_setting_trusts_is_never_echoed(
    make_app, accounts_app, movies_provider
):
    app = make_app(**movies_provider.settings(**FAST), TRUSTED_PROXIES=1)
    headers = {
        **bearer(app, make_account(app, "alice")),
        "X-Forwarded-Host": "evil.example",
    }

    page = app.test_client().get("/movies/?page=2", headers=headers).json

    assert page["next"] == "/movies/?page=3"


def test_links_start_with_the_public_base_url(make_app, accounts_app, movies_provider):
    app = make_app(
        **movies_provider.settings(**FAST),
        PUBLIC_BASE_URL="https://films.example.org/api",
    )
    headers = {**bearer(app, make_account(app, "alice")), "Host": "evil.example"}

    page = app.test_client().get("/movies/?page=2", headers=headers).json

    assert page["next"] == "https://films.example.org/api/movies/?page=3"
    assert page["previous"] == "https://films.example.org/api/movies/?page=1"


def test_a_page_beyond_the_last_is_404(get):
    response = get("/movies/?page=4")

    assert_error(response, 404)
    assert "beyond" in response.json["message"]


@pytest.mark.parametrize("page", ["0", "-1", "x", "1.5", ""])
def test_a_bad_page_is_422_naming_it(get, movies_provider, page):
    response = get(f"/movies/?page={page}")

    assert_error(response, 422)
    assert "page" in response.json["errors"]["query"]
    assert movies_provider.requests == 0


def test_movies_need_a_token(movies_app, movies_provider):
    response = movies_app.test_client().get("/movies/")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert movies_provider.requests == 0


def test_the_provider_is_asked_with_basic_auth_and_never_for_a_cached_page(
    get, movies_provider
):
    assert get().status_code == 200
    assert get().status_code == 200

    assert movies_provider.pages_asked == ["1"]


def test_a_cached_page_is_asked_again_once_it_is_stale(
    make_app, accounts_app, movies_provider
):
    app = make_app(**movies_provider.settings(**FAST))
    headers = bearer(app, make_account(app, "alice"))
    client = app.test_client()
    client.get("/movies/", headers=headers)

    provider = app.extensions["movies-provider"]
    provider.fresh_ttl = 0
    client.get("/movies/", headers=headers)

    assert movies_provider.pages_asked == ["1", "1"]


def test_null_description_and_genres_are_passed_as_null(get, movies_provider):
    movies_provider.movies[0] = {**movies_provider.movies[0], "genres": None}
    movies_provider.movies[1] = {**movies_provider.movies[1], "description": None}

    data = get().json["data"]

    assert data[0]["genres"] is None
    assert data[1]["description"] is None
    assert data[2]["description"] == movies_provider.movies[2]["description"]


def test_a_movie_passed_on_with_nulls_is_collected_as_it_is(
    get, movies_app, user, movies_provider
):
    movies_provider.movies[0] = {**movies_provider.movies[0], "description": None}
    movie = get().json["data"][0]
    client = movies_app.test_client()

    created = client.post(
        "/collection/", json={"title": "Mine", "movies": [movie]}, headers=user
    )

    collection = created.json["collection_uuid"]
    read = client.get(f"/collection/{collection}/", headers=user).json
    assert read["movies"] == [movie]


def test_fields_the_provider_adds_are_left_out(get, movies_provider):
    movies_provider.movies[0] = {**movies_provider.movies[0], "rating": 9}

    assert "rating" not in get().json["data"][0]


# --- not configured ------------------------------------------------------------------


def test_without_credentials_movies_answer_503_naming_the_settings(
    make_app, accounts_app, movies_provider
):
    app = make_app(MOVIES_PROVIDER_URL=movies_provider.url)
    headers = bearer(app, make_account(app, "alice"))
    client = app.test_client()

    response = client.get("/movies/", headers=headers)

    assert_error(response, 503)
    assert "MOVIES_PROVIDER_USERNAME" in response.json["message"]
    assert "MOVIES_PROVIDER_PASSWORD" in response.json["message"]
    assert movies_provider.requests == 0
    # The rest of the service runs.
    assert client.get("/collection/", headers=headers).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_a_missing_password_alone_is_named(make_app, accounts_app, movies_provider):
    app = make_app(**movies_provider.settings(MOVIES_PROVIDER_PASSWORD=None))
    headers = bearer(app, make_account(app, "alice"))

    response = app.test_client().get("/movies/", headers=headers)

    assert_error(response, 503)
    assert "MOVIES_PROVIDER_PASSWORD" in response.json["message"]
    assert "MOVIES_PROVIDER_USERNAME" not in response.json["message"]


# --- failures, nothing cached ------------------------------------------------------


def test_wrong_credentials_are_502_and_not_retried(
    make_app, accounts_app, movies_provider
):
    app = make_app(**movies_provider.settings(**FAST, MOVIES_PROVIDER_PASSWORD="no"))
    headers = bearer(app, make_account(app, "alice"))

    response = app.test_client().get("/movies/", headers=headers)

    assert_error(response, 502)
    assert "credentials" in response.json["message"]
    assert "no" not in response.json["message"].split()
    assert_retry_after(response)
    assert movies_provider.requests == 1


def test_a_500_is_retried_then_502(get, movies_provider):
    movies_provider.fail_with("status", 500, {})

    response = get()

    assert_error(response, 502)
    assert_retry_after(response)
    assert movies_provider.requests == 1 + FAST["MOVIES_PROVIDER_RETRIES"]


def test_a_flaky_provider_is_ridden_out_by_the_retries(get, movies_provider):
    movies_provider.flaky_every = 2
    movies_provider.fail_with("status", 503, {})

    pages = [get(f"/movies/?page={n}") for n in (1, 2, 3)]

    assert [page.status_code for page in pages] == [200, 200, 200]
    # Requests 2 and 4 failed and were retried.
    assert movies_provider.requests == 5


def test_a_short_retry_after_is_waited_out_and_retried(get, movies_provider):
    movies_provider.flaky_every = 2
    movies_provider.fail_with("status", 429, {"Retry-After": "0"})
    assert get("/movies/?page=1").status_code == 200

    response = get("/movies/?page=2")

    assert response.status_code == 200
    assert movies_provider.pages_asked == ["1", "2", "2"]


def test_a_long_retry_after_is_passed_on_without_waiting(get, movies_provider):
    movies_provider.fail_with("status", 429, {"Retry-After": "120"})

    response = get()

    assert_error(response, 503)
    assert response.headers["Retry-After"] == "120"
    assert movies_provider.requests == 1


def test_a_long_retry_after_opens_the_breaker_for_as_long(get, movies_provider):
    movies_provider.fail_with("status", 503, {"Retry-After": "120"})
    get()

    response = get("/movies/?page=2")

    assert_error(response, 503)
    assert 100 <= int(response.headers["Retry-After"]) <= 120
    assert movies_provider.requests == 1


def test_a_garbage_retry_after_is_ignored(get, movies_provider):
    movies_provider.fail_with("status", 429, {"Retry-After": "soon"})

    response = get()

    assert_error(response, 503)
    assert_retry_after(response)
    assert movies_provider.requests == 1 + FAST["MOVIES_PROVIDER_RETRIES"]


def test_invalid_json_is_502(get, movies_provider):
    movies_provider.fail_with("invalid-json")

    response = get()

    assert_error(response, 502)
    assert_retry_after(response)


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"count": 1, "next": None, "previous": None},
        {"count": "1", "next": None, "previous": None, "data": []},
        {"count": 1, "next": None, "previous": None, "data": [{"title": "No uuid"}]},
        {"count": 1, "next": 5, "previous": None, "data": []},
    ],
)
def test_an_answer_that_is_not_a_page_is_502(get, movies_provider, payload):
    movies_provider.fail_with("status", 200, {})
    movies_provider.failure = ("json", payload)

    response = get()

    assert_error(response, 502)


def test_reset_connections_are_retried_then_503(get, movies_provider):
    movies_provider.fail_with("reset")

    response = get()

    assert_error(response, 503)
    assert_retry_after(response)
    assert movies_provider.requests == 1 + FAST["MOVIES_PROVIDER_RETRIES"]


def test_a_slow_provider_times_out_as_504(get, movies_provider):
    movies_provider.fail_with("hang")

    response = get()

    assert_error(response, 504)
    assert_retry_after(response)
    assert movies_provider.requests == 1 + FAST["MOVIES_PROVIDER_RETRIES"]


def test_an_unreachable_provider_is_503(make_app, accounts_app, movies_provider):
    settings = movies_provider.settings(**FAST)
    settings["MOVIES_PROVIDER_URL"] = "http://127.0.0.1:9/movies/"
    app = make_app(**settings)
    headers = bearer(app, make_account(app, "alice"))

    response = app.test_client().get("/movies/", headers=headers)

    assert_error(response, 503)
    assert_retry_after(response)


# --- the size of an answer -----------------------------------------------------------


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_page_as_large_as_the_cap_is_served(
    make_app, accounts_app, movies_provider, framing
):
    app = make_app(
        **movies_provider.settings(**FAST, MOVIES_PROVIDER_MAX_BYTES=SMALL_CAP)
    )
    headers = bearer(app, make_account(app, "alice"))
    movies_provider.fail_with("padded", SMALL_CAP, framing)

    response = app.test_client().get("/movies/", headers=headers)

    assert response.status_code == 200
    assert response.json["data"] == movies_provider.movies[:PAGE_SIZE]


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_page_a_byte_over_the_cap_is_502(
    make_app, accounts_app, movies_provider, framing
):
    app = make_app(
        **movies_provider.settings(**FAST, MOVIES_PROVIDER_MAX_BYTES=SMALL_CAP)
    )
    headers = bearer(app, make_account(app, "alice"))
    movies_provider.fail_with("padded", SMALL_CAP + 1, framing)

    response = app.test_client().get("/movies/", headers=headers)

    assert_error(response, 502)
    assert_retry_after(response)


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_huge_body_is_502_and_read_no_further_than_the_cap(
    get, movies_provider, framing, caplog
):
    size = 64 * MIB  # a valid page but for its size; the default cap is 1 MiB
    movies_provider.fail_with("padded", size, framing)

    response = get()

    assert_error(response, 502)
    assert_retry_after(response)
    assert movies_provider.requests == 1
    wait_until(movies_provider.padded_done.is_set)
    assert movies_provider.padded_sent < size  # the service hung up on the rest
    assert "MOVIES_PROVIDER_MAX_BYTES" in caplog.text
    assert "127.0.0.1:" not in caplog.text
    assert "Traceback" not in caplog.text


def test_a_body_announced_over_the_cap_is_refused_without_reading_it(
    get, movies_provider
):
    # The fake holds the body after its headers: reading it would time out (504).
    movies_provider.fail_with("padded", 2 * MIB, "announced")

    response = get()

    assert_error(response, 502)
    assert_retry_after(response)
    assert movies_provider.requests == 1


# --- the breaker --------------------------------------------------------------------


def test_repeated_failures_open_the_breaker_and_answers_come_at_once(
    get, movies_provider
):
    movies_provider.fail_with("status", 500, {})
    for _ in range(FAST["MOVIES_PROVIDER_FAILURES"]):
        assert get().status_code == 502
    asked = movies_provider.requests

    response = get()

    assert_error(response, 503)
    assert movies_provider.requests == asked
    assert 1 <= int(response.headers["Retry-After"]) <= FAST["MOVIES_PROVIDER_PAUSE"]


def test_the_breaker_is_shared_by_the_apps_of_one_machine(
    make_app, accounts_app, movies_provider
):
    """Two apps on one breaker file, like two gunicorn workers."""
    first = make_app(**movies_provider.settings(**FAST))
    second = make_app(**movies_provider.settings(**FAST))
    headers = bearer(first, make_account(first, "alice"))
    movies_provider.fail_with("status", 500, {})
    for _ in range(FAST["MOVIES_PROVIDER_FAILURES"]):
        first.test_client().get("/movies/", headers=headers)
    asked = movies_provider.requests

    response = second.test_client().get("/movies/", headers=headers)

    assert_error(response, 503)
    assert movies_provider.requests == asked


def test_after_the_pause_one_probe_closes_the_breaker(get, movies_app, movies_provider):
    movies_provider.fail_with("status", 500, {})
    for _ in range(FAST["MOVIES_PROVIDER_FAILURES"]):
        get()
    movies_provider.fail_with(None)
    circuit = movies_app.extensions["movies-provider"].circuit
    circuit.clock = lambda: 10**10  # the pause is over

    assert get().status_code == 200
    assert get("/movies/?page=2").status_code == 200


def test_bodies_over_the_cap_open_the_breaker_like_garbage(get, movies_provider):
    movies_provider.fail_with("padded", 2 * MIB, "chunked")
    for _ in range(FAST["MOVIES_PROVIDER_FAILURES"]):
        assert get().status_code == 502
    asked = movies_provider.requests

    response = get()

    assert_error(response, 503)
    assert movies_provider.requests == asked


def test_a_failed_probe_opens_the_breaker_again(get, movies_app, movies_provider):
    movies_provider.fail_with("status", 500, {})
    for _ in range(FAST["MOVIES_PROVIDER_FAILURES"]):
        get()
    circuit = movies_app.extensions["movies-provider"].circuit
    circuit.clock = lambda: 10**10
    asked = movies_provider.requests

    assert get().status_code == 502
    assert get().status_code == 503
    assert movies_provider.requests == asked + 1 + FAST["MOVIES_PROVIDER_RETRIES"]


def test_the_breaker_lives_in_redis_with_redis(
    make_app, accounts_app, movies_provider, redis_url
):
    redis.Redis.from_url(redis_url).flushdb()
    first = make_app(**movies_provider.settings(**FAST), REDIS_URL=redis_url)
    second = make_app(
        **movies_provider.settings(**FAST),
        REDIS_URL=redis_url,
        MOVIES_PROVIDER_BREAKER_PATH=str(accounts_app.instance_path) + "/other",
    )
    headers = bearer(first, make_account(first, "alice"))
    movies_provider.fail_with("status", 500, {})
    for page in range(1, FAST["MOVIES_PROVIDER_FAILURES"] + 1):
        first.test_client().get(f"/movies/?page={page}", headers=headers)
    asked = movies_provider.requests

    response = second.test_client().get("/movies/", headers=headers)

    assert_error(response, 503)
    assert movies_provider.requests == asked
    state = redis.Redis.from_url(redis_url).hgetall(
        "movie-catalogue:movies-provider-breaker"
    )
    assert int(state[b"failures"]) == FAST["MOVIES_PROVIDER_FAILURES"]


# --- stale pages ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        ("status", 500, {}),
        ("status", 429, {"Retry-After": "120"}),
        ("invalid-json",),
        ("padded", 2 * MIB, "chunked"),
        ("reset",),
        ("hang",),
    ],
)
def test_a_stale_page_is_served_when_the_provider_fails(
    get, movies_app, movies_provider, failure
):
    fresh = get("/movies/?page=2").json
    movies_app.extensions["movies-provider"].fresh_ttl = 0
    movies_provider.fail_with(*failure)

    response = get("/movies/?page=2")

    assert response.status_code == 200
    assert response.json == fresh
    assert movies_provider.requests > 1


def test_a_stale_page_is_served_while_the_breaker_is_open(
    get, movies_app, movies_provider
):
    fresh = get().json
    movies_app.extensions["movies-provider"].fresh_ttl = 0
    movies_provider.fail_with("status", 500, {})
    for page in range(2, 2 + FAST["MOVIES_PROVIDER_FAILURES"]):
        assert get(f"/movies/?page={page}").status_code == 502
    asked = movies_provider.requests

    response = get()

    assert response.status_code == 200
    assert response.json == fresh
    assert movies_provider.requests == asked


def test_pages_are_cached_in_redis_with_redis(
    make_app, accounts_app, movies_provider, redis_url
):
    redis.Redis.from_url(redis_url).flushdb()
    apps = [
        make_app(**movies_provider.settings(**FAST), REDIS_URL=redis_url)
        for _ in range(2)
    ]
    headers = bearer(apps[0], make_account(apps[0], "alice"))

    answers = [app.test_client().get("/movies/", headers=headers) for app in apps]

    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json == answers[1].json
    assert movies_provider.requests == 1


def test_the_page_answered_is_what_the_schema_documents(get, movies_app):
    spec = movies_app.test_client().get("/openapi.json").json
    operation = spec["paths"]["/movies/"]["get"]
    schema_name = operation["responses"]["200"]["content"]["application/json"][
        "schema"
    ]["$ref"].rsplit("/", 1)[1]

    properties = spec["components"]["schemas"][schema_name]["properties"]

    assert set(properties) == set(get().json)
    assert json.dumps(get().json)


# --- under gunicorn's gevent worker ---------------------------------------------------


def test_a_slow_provider_holds_only_its_own_requests(
    accounts_app, movies_provider, db_path, tmp_path
):
    """One gevent worker: while /movies/ waits on the provider, others are answered."""
    headers = bearer(accounts_app, make_account(accounts_app, "alice"))
    port = free_port()
    env = command_env(
        {"DATABASE_PATH": db_path},
        **movies_provider.settings(),
        MOVIES_PROVIDER_READ_TIMEOUT="60",
        MOVIES_PROVIDER_RETRIES="0",
        GUNICORN_WORKERS="1",
        BIND=f"127.0.0.1:{port}",
    )
    env.pop("PORT", None)
    base = f"http://127.0.0.1:{port}"
    movies_provider.fail_with("hang")
    answers = {}

    def read_movies():
        request = urllib.request.Request(f"{base}/movies/", headers=headers)
        try:
            urllib.request.urlopen(request, timeout=120)
        except urllib.error.HTTPError as error:
            answers["movies"] = (error.code, json.load(error))

    with gunicorn("wsgi:app", env, tmp_path / "gunicorn.log"):
        wait_until(lambda: _answers(f"{base}/healthz"))
        reading = threading.Thread(target=read_movies)
        reading.start()
        wait_until(lambda: movies_provider.requests == 1)

        request = urllib.request.Request(f"{base}/collection/", headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        assert "movies" not in answers

        movies_provider.release.set()
        reading.join(timeout=120)

    status, body = answers["movies"]
    assert status == 503
    assert SECRET_BODY not in json.dumps(body)


def _answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def test_requests_for_a_page_being_read_wait_for_that_read(
    movies_app, user, movies_provider
):
    movies_provider.fail_with("held")
    flights = movies_app.extensions["movies-provider"]._flights
    answers = []

    def read():
        answers.append(movies_app.test_client().get("/movies/", headers=user))

    # The request counter opens its file on a process's first request, and is
    # made for greenlets: a first request of three threads at once can deadlock it.
    movies_app.test_client().get("/healthz")
    readers = [threading.Thread(target=read) for _ in range(3)]
    readers[0].start()
    wait_until(lambda: movies_provider.requests == 1)
    for reader in readers[1:]:
        reader.start()
    wait_until(lambda: sum(f.followers for f in list(flights.values())) == 2)
    movies_provider.release.set()
    for reader in readers:
        reader.join(timeout=30)

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert len({json.dumps(a.json) for a in answers}) == 1
    assert movies_provider.requests == 1
    assert flights == {}
