"""GET /client/info: who is calling, from where, with what, in which languages."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.settings import make_test_app

CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"
    " (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
SAFARI_ON_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def proxied_app(db_path, proxies):
    return make_test_app(db_path, TRUSTED_PROXIES=proxies)


def test_info_describes_the_client(client):
    response = client.get(
        "/client/info",
        headers={"User-Agent": CHROME_ON_WINDOWS, "Accept-Language": "en-GB"},
    )

    assert response.status_code == 200
    info = response.json
    assert set(info) == {
        "ip",
        "user_agent",
        "languages",
        "request_id",
        "api_version",
        "server_time",
    }
    assert info["ip"] == "127.0.0.1"
    assert info["api_version"] == "1.0.0"
    assert info["request_id"] == response.headers["X-Request-ID"]


def test_info_is_never_stored_by_shared_caches(client):
    assert client.get("/client/info").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("raw", "browser", "os", "device", "is_bot"),
    [
        (CHROME_ON_WINDOWS, ("Chrome", "120.0.0.0"), ("Windows", "10"), "Other", False),
        (SAFARI_ON_IPHONE, ("Mobile Safari", "17.0"), ("iOS", "17.0"), "iPhone", False),
        (GOOGLEBOT, ("Googlebot", "2.1"), ("Other", None), "Spider", True),
        ("", ("Other", None), ("Other", None), "Other", False),
    ],
)
def test_user_agent_is_parsed(client, raw, browser, os, device, is_bot):
    agent = client.get("/client/info", headers={"User-Agent": raw}).json["user_agent"]

    assert agent["raw"] == raw
    assert (agent["browser"]["family"], agent["browser"]["version"]) == browser
    assert (agent["os"]["family"], agent["os"]["version"]) == os
    assert agent["device"]["family"] == device
    assert agent["is_bot"] is is_bot


def test_languages_come_most_preferred_first(client):
    response = client.get(
        "/client/info", headers={"Accept-Language": "de;q=0.5, ru-RU, en;q=0.8"}
    )

    assert response.json["languages"] == [
        {"tag": "ru-RU", "quality": 1.0},
        {"tag": "en", "quality": 0.8},
        {"tag": "de", "quality": 0.5},
    ]


def test_no_accept_language_means_no_languages(client):
    assert client.get("/client/info").json["languages"] == []


def test_server_time_is_utc_iso_8601(client):
    stamp = client.get("/client/info").json["server_time"]

    parsed = datetime.fromisoformat(stamp)
    assert parsed.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - parsed) < timedelta(seconds=10)


def test_request_id_from_a_proxy_is_reported(client):
    response = client.get("/client/info", headers={"X-Request-ID": "edge-42"})

    assert response.json["request_id"] == "edge-42"
    assert response.headers["X-Request-ID"] == "edge-42"


def test_request_id_is_generated_when_none_is_sent(client):
    request_id = client.get("/client/info").json["request_id"]

    assert uuid.UUID(request_id).version == 4


def test_forwarded_for_is_ignored_without_trusted_proxies(client):
    response = client.get(
        "/client/info",
        headers={"X-Forwarded-For": "203.0.113.7"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )

    assert response.json["ip"] == "10.0.0.2"


def test_forwarded_for_is_honoured_from_a_trusted_proxy(db_path):
    client = proxied_app(db_path, 1).test_client()

    response = client.get(
        "/client/info",
        headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.7"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )

    # One trusted proxy: only the address it appended counts, not what the
    # client itself claimed before it.
    assert response.json["ip"] == "203.0.113.7"


def test_two_trusted_proxies_reach_one_hop_further(db_path):
    client = proxied_app(db_path, 2).test_client()

    response = client.get(
        "/client/info",
        headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.7"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )

    assert response.json["ip"] == "198.51.100.1"
