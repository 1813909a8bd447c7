"""What ``schemathesis run`` needs to know of the API beyond its spec.

Loaded by ``schemathesis.toml`` (``hooks``), so the plain command of
the README (Testing) uses it, as ``tests/test_schema_fuzz.py`` does.

- Tokens: the operations with the ``bearerAuth`` requirement are called with the
  tokens of an existing account, named by ``FUZZ_USERNAME`` and
  ``FUZZ_PASSWORD`` (made with ``flask users create``). It logs in once, before
  the first request (failed log-ins are rate limited per address); every later
  access token comes from ``POST /token/refresh/``, which uses up the refresh
  token it is sent and answers the next one. ``/token/refresh/`` and
  ``/logout/`` get a log-in of their own, since each of their calls uses up or
  revokes the tokens it carries (and a log-out its log-in's).
- An account that exists: credentials are never guessed, so half of the
  positive cases of ``POST /login/`` (chosen by the generated body) log in as
  ``FUZZ_USERNAME``, and their 200 answers are checked too.
- People that exist: a person's id is never guessed, so half of the positive
  cases of ``/api/v1/persons/{person_id}...`` (chosen by the generated id, so a
  seed still gives the same run) ask for a person of the catalogue instead,
  and their 200 answers are checked too.
- The rules JSON Schema cannot state, which the spec says in its descriptions
  (each answered 422): a page is served only if page x page size stays within
  the result window (the ``maximum`` the spec gives ``page``); a ``role`` needs
  a ``person``; ``rating_min`` may not be above ``rating_max``; a search text
  must hold a word that is not too common to search for (a list of stop words,
  ``catalogue.search.analysis``); a report's rating thresholds must leave some
  rating between them; a new password must not be easy to guess (common, the
  username, repeated or consecutive characters); a body's texts must not hold
  a NUL character; and the HTTP server takes a request line of at most
  4,094 bytes and headers of at most 8,190 (above, it answers 414 or 431
  itself, as every operation documents). The page, role and rating rules are
  over two parameters, the search text's a word list no ``pattern`` can hold,
  the server's over the whole request. Generated positive cases that break
  one are dropped, as a client that reads the descriptions would not send
  them; negative cases are all kept, and checked as usual.
"""

import functools
import os
import time
import zlib
from urllib.parse import urlencode

import requests
import schemathesis

from app.resources.accounts.passwords import weaknesses
from catalogue.search.analysis import analyse

SIGNED_IN = [
    "/token/refresh/",
    "/logout/",
    "/request-count/",
    "/request-count/reset/",
    "/movies/",
    "/collection/",
    "/collection/{collection_uuid}/",
    # The admin writes; the account is an admin.
    "/api/v1/films",
    "/api/v1/films/{film_id}",
    "/api/v1/genres",
    "/api/v1/genres/{genre_id}",
    "/api/v1/reports",
    "/api/v1/reports/{job_id}",
    "/api/v1/reports/{job_id}/results",
    "/api/v1/reports/{job_id}/results.csv",
    "/api/v1/report-types",
]
PAGE_SIZES = ("page_size", "limit")

_refresh_tokens = {}
# The operations that use up the tokens they carry: each gets a log-in of its own.
OWN_LOG_IN = ("/logout/", "/token/refresh/")


def _log_in_anew(base_url):
    """Log in as FUZZ_USERNAME; return the access and the refresh token."""
    credentials = {
        "username": os.environ["FUZZ_USERNAME"],
        "password": os.environ["FUZZ_PASSWORD"],
    }
    url = f"{base_url.rstrip('/')}/login/"
    response = requests.post(url, json=credentials, timeout=30)
    if response.status_code == 429:
        # An earlier run's failed log-ins, within the last minute: wait once.
        time.sleep(int(response.headers.get("Retry-After", "60")))
        response = requests.post(url, json=credentials, timeout=30)
    response.raise_for_status()
    return response.json()


def _log_in(base_url):
    """Log in as FUZZ_USERNAME once; return its latest refresh token."""
    if base_url not in _refresh_tokens:
        _refresh_tokens[base_url] = _log_in_anew(base_url)["refresh_token"]
    return _refresh_tokens[base_url]


@schemathesis.hook
def before_call(context, case, kwargs):
    """Log in before the first request: failed log-ins would soon limit ours."""
    if os.environ.get("FUZZ_USERNAME"):
        _log_in(case.operation.base_url)


@schemathesis.auth(cache_by_key=lambda case, context: case.path).apply_to(
    path=SIGNED_IN
)
class Tokens:
    """An access token and a refresh token of the account, per operation.

    A refresh token works once (each refresh answers the next one), and a
    log-out revokes its log-in's tokens: ``/token/refresh/`` and ``/logout/``
    get a log-in of their own, the other operations access tokens refreshed
    from the first log-in's.
    """

    def get(self, case, context):
        base_url = case.operation.base_url.rstrip("/")
        if case.path in OWN_LOG_IN:
            tokens = _log_in_anew(base_url)
            return {
                "access": tokens["access_token"],
                "refresh": tokens["refresh_token"],
            }
        refresh = _log_in(case.operation.base_url)
        response = requests.post(
            f"{base_url}/token/refresh/",
            headers={"Authorization": f"Bearer {refresh}"},
            timeout=30,
        )
        response.raise_for_status()
        tokens = response.json()
        _refresh_tokens[case.operation.base_url] = tokens["refresh_token"]
        return {"access": tokens["access_token"], "refresh": tokens["refresh_token"]}

    def set(self, case, data, context):
        kind = "refresh" if case.path == "/token/refresh/" else "access"
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data[kind]}"}


def _page_bounds(operation):
    """The result window (``page``'s maximum), the page-size parameter and its default."""
    parameters = {parameter.name: parameter.definition for parameter in operation.query}
    window = parameters.get("page", {}).get("schema", {}).get("maximum")
    size = next((name for name in PAGE_SIZES if name in parameters), None)
    if window is None or size is None:
        return None
    return window, size, parameters[size].get("schema", {}).get("default", 1)


def _number(value, kind=int):
    # The coverage phase sends its values as the query string's text.
    try:
        return kind(value)
    except (TypeError, ValueError):
        return None


def _within_the_result_window(case, query):
    bounds = _page_bounds(case.operation)
    if bounds is None or "page" not in query:
        return True
    window, size, default = bounds
    page, page_size = _number(query["page"]), _number(query.get(size, default))
    return page is None or page_size is None or page * page_size <= window


def _role_with_a_person(case, query):
    return "role" not in query or "person" in query


def _a_rating_range_that_is_not_empty(case, query):
    low = _number(query.get("rating_min"), float)
    high = _number(query.get("rating_max"), float)
    return low is None or high is None or low <= high


def _a_word_to_search_for(case, query):
    text = query.get("query")
    return (
        not case.path.endswith("/search")
        or not isinstance(text, str)
        or bool(analyse(text))
    )


def _what_the_http_server_takes(case, query):
    # gunicorn.conf.py's limits: a request line of 4,094 bytes, a header of
    # 8,190, sent percent-encoded; a margin for what the estimate leaves out.
    pairs = [
        (name, item)
        for name, value in query.items()
        for item in (value if isinstance(value, list) else [value])
    ]
    line = f"{case.method} {case.formatted_path}?{urlencode(pairs)} HTTP/1.1"
    headers = (f"{name}: {value}" for name, value in (case.headers or {}).items())
    return len(line) <= 3_900 and all(len(header) <= 8_000 for header in headers)


def _an_etag_that_was_read(case, query):
    # If-Match carries the ETag of the item as last read, never a guess.
    return "If-Match" not in (case.headers or {})


def _a_rating_with_one_decimal(case, query):
    rating = case.body.get("imdb_rating") if isinstance(case.body, dict) else None
    return not isinstance(rating, float) or round(rating, 1) == rating


def _thresholds_that_can_hold(case, query):
    # A report's rating thresholds must leave some rating: a lower bound below
    # the upper one (gte and lte may meet).
    rating = case.body.get("rating") if isinstance(case.body, dict) else None
    if not case.path.startswith("/api/v1/reports") or not isinstance(rating, dict):
        return True
    numbers = {
        key: value
        for key, value in rating.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    for low_key in ("gt", "gte"):
        for high_key in ("lt", "lte"):
            if low_key in numbers and high_key in numbers:
                low, high = numbers[low_key], numbers[high_key]
                if low > high or (
                    low == high and (low_key, high_key) != ("gte", "lte")
                ):
                    return False
    return True


def _a_password_hard_to_guess(case, query):
    # A new password may not be common, the username, repeated or consecutive.
    body = case.body if isinstance(case.body, dict) else {}
    password, username = body.get("password"), body.get("username")
    if case.path != "/register/" or not isinstance(password, str):
        return True
    return not weaknesses(password, username if isinstance(username, str) else "")


def _texts_without_nul(case, query):
    # No text of a body may hold a NUL character (the 400 answer says why).
    def texts(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from texts(key)
                yield from texts(item)
        elif isinstance(value, list):
            for item in value:
                yield from texts(item)

    return all("\x00" not in text for text in texts(case.body))


def _genres_that_exist(case, query):
    genres = case.body.get("genres") if isinstance(case.body, dict) else None
    if not case.path.startswith("/api/v1/films") or not isinstance(genres, list):
        return True
    return set(genres) <= _known_genre_ids(case.operation.base_url)


@functools.cache
def _known_genre_ids(base_url):
    """Ids of every genre of the catalogue, read once per service."""
    base_url = base_url.rstrip("/")
    genres = requests.get(f"{base_url}/api/v1/genres?page_size=100", timeout=30)
    genres.raise_for_status()
    return {genre["id"] for genre in genres.json()}


# Each says in code a rule that the spec's descriptions say in words.
RULES = (
    _an_etag_that_was_read,
    _texts_without_nul,
    _a_rating_with_one_decimal,
    _genres_that_exist,
    _thresholds_that_can_hold,
    _a_password_hard_to_guess,
    _what_the_http_server_takes,
    _within_the_result_window,
    _role_with_a_person,
    _a_rating_range_that_is_not_empty,
    _a_word_to_search_for,
)


@schemathesis.hook
def filter_case(context, case):
    """Drop the positive cases that break a rule JSON Schema cannot state."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return True
    query = case.query or {}
    return all(rule(case, query) for rule in RULES)


@functools.cache
def _known_person_ids(base_url):
    """Ids of people of the catalogue, from the cards of its best rated films.

    Read once per service.
    """
    base_url = base_url.rstrip("/")
    films = requests.get(f"{base_url}/api/v1/films?page_size=10", timeout=30)
    films.raise_for_status()
    ids = set()
    for film in films.json():
        card = requests.get(f"{base_url}/api/v1/films/{film['id']}", timeout=30)
        card.raise_for_status()
        for role in ("actors", "writers", "directors"):
            ids.update(person["id"] for person in card.json().get(role) or ())
    return sorted(ids)


@schemathesis.hook
def map_case(context, case):
    """Ask for a person who exists, or log in as an account that exists, in half
    of the positive cases that name one.
    """
    meta = case.meta
    if (
        case.path == "/login/"
        and meta is not None
        and meta.generation.mode.is_positive
        and isinstance(case.body, dict)
        and os.environ.get("FUZZ_USERNAME")
        and zlib.crc32(repr(case.body).encode()) % 2 == 0
    ):
        case.body = {
            "username": os.environ["FUZZ_USERNAME"],
            "password": os.environ["FUZZ_PASSWORD"],
        }
        return case
    drawn = (case.path_parameters or {}).get("person_id")
    if meta is None or not meta.generation.mode.is_positive or drawn is None:
        return case
    choice = zlib.crc32(str(drawn).encode())
    known = _known_person_ids(case.operation.base_url)
    if known and choice % 2 == 0:
        case.path_parameters = {
            **case.path_parameters,
            "person_id": known[choice // 2 % len(known)],
        }
    return case
