"""Several machines on one PostgreSQL, Redis and Elasticsearch, sharing no file.

Two API nodes, each a gunicorn master started from a checkout of its own (a
copy of this one in a directory of its own, its settings pointing at no local
file), and a report worker from a third: one user is served across both, an
admin's film written on one is found by search on the other, a report asked
on one is run by the worker and read on the other, the request counter counts
both, and a node killed with SIGKILL in the middle of writes loses none that
it answered.
"""

import json
import os
import shutil
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from contextlib import ExitStack, closing

import pytest

from catalogue.db import open_catalogue
from tests.catalogue.db.test_sqlite import wait_until_serving
from tests.commands import (
    ROOT,
    children,
    command_env,
    flask,
    gunicorn,
    reports_worker,
)
from tests.factories import make_star_wars_db, migrate_catalogue, movie
from tests.fixtures.elasticsearch import drop_indices
from tests.fixtures.redis import free_port
from tests.settings import full_settings, postgresql_settings
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"
# What a checkout of the service holds; nothing of this one's local state.
LEFT_OUT = shutil.ignore_patterns(
    ".git", ".venv", "var", "node_modules", "__pycache__", "*.sqlite", "bench"
)


def checkout(directory):
    """Copy the service's files to ``directory``: a machine's own checkout."""
    shutil.copytree(ROOT, directory, ignore=LEFT_OUT)
    return directory


def call(base, method, path, body=None, token=None, timeout=30):
    """Send one request; return ``(status, JSON body or None)``."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        text, status = error.read(), error.code
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, None


def log_in(base, username):
    status, body = call(
        base, "POST", "/login/", {"username": username, "password": PASSWORD}
    )
    assert status == 200, body
    return body["access_token"]


class Deployment:
    """The shared services' settings, and the nodes started on them."""

    def __init__(self, tmp_path, settings):
        self.tmp_path = tmp_path
        self.settings = settings
        self.stack = ExitStack()
        self.nodes = {}

    def env(self, directory):
        """The environment of a process of the checkout in ``directory``."""
        local = {
            # Paths inside this machine's checkout that nothing creates: every
            # shared thing is in PostgreSQL, Redis or Elasticsearch.
            "DATABASE_PATH": directory / "var" / "none.sqlite",
            "EMBEDDED_SEARCH_PATH": directory / "var" / "none.search.sqlite",
        }
        return command_env(
            {**self.settings, **local},
            GUNICORN_WORKERS="2",
            REQUEST_COUNTING="true",
            SEARCH_CATCH_UP_SECONDS="0.2",
        )

    def start_node(self, name):
        directory = checkout(self.tmp_path / name)
        port = free_port()
        env = self.env(directory) | {"BIND": f"127.0.0.1:{port}"}
        server = self.stack.enter_context(
            gunicorn("wsgi:app", env, self.tmp_path / f"{name}.log", cwd=directory)
        )
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{base}/healthz")
        self.nodes[name] = (base, server, directory)
        return base

    def start_worker(self, name):
        directory = checkout(self.tmp_path / name)
        self.stack.enter_context(
            reports_worker(
                self.env(directory), self.tmp_path / f"{name}.log", cwd=directory
            )
        )

    def flask(self, node, *args, **kwargs):
        _, _, directory = self.nodes[node]
        return flask(
            self.env(directory), "--app", "wsgi", *args, cwd=directory, **kwargs
        )


@pytest.fixture
def deployment(tmp_path, postgresql_url, redis_url, elasticsearch_url):
    """PostgreSQL with the legacy catalogue imported and indexed; Redis; no node yet."""
    prefix = f"t{uuid.uuid4().hex[:12]}_"
    settings = {
        **postgresql_settings(postgresql_url),
        "SINGLE_NODE": None,
        "REDIS_URL": redis_url,
        "ELASTICSEARCH_URL": elasticsearch_url,
        "ELASTICSEARCH_INDEX_PREFIX": prefix,
        "REPORT_QUEUE_NAME": f"several-machines-{prefix}",
    }
    legacy = tmp_path / "legacy.sqlite"
    make_star_wars_db(legacy, movie("tt0000002", "Alien", imdb_rating="8.5"))
    migrate_catalogue(full_settings(legacy, **settings))
    loaded = flask(command_env({**settings, "DATABASE_PATH": legacy}), "etl", "run")
    assert loaded.returncode == 0, loaded.stderr
    deployment = Deployment(tmp_path, settings)
    with deployment.stack:
        yield deployment
    drop_indices(elasticsearch_url, prefix)


def test_two_nodes_serve_one_user_admins_reports_and_one_count(deployment):
    a = deployment.start_node("node-a")
    b = deployment.start_node("node-b")
    deployment.start_worker("worker")

    # One user across both nodes.
    status, _ = call(
        a, "POST", "/register/", {"username": "alice", "password": PASSWORD}
    )
    assert status == 201
    token = log_in(b, "alice")
    movie_uuid = str(uuid.uuid4())
    status, created = call(
        b,
        "POST",
        "/collection/",
        {
            "title": "Weekend",
            "description": "",
            "movies": [
                {
                    "title": "Queerama",
                    "description": "",
                    "genres": "Drama",
                    "uuid": movie_uuid,
                }
            ],
        },
        token,
    )
    assert status == 201
    status, listed = call(a, "GET", "/collection/", token=token)
    assert status == 200
    assert [c["uuid"] for c in listed["data"]["collections"]] == [
        created["collection_uuid"]
    ]

    # An admin's film, written on one node, found by search on the other.
    made = deployment.flask(
        "node-a", "users", "create", "boss", "--admin", input=PASSWORD + "\n"
    )
    assert made.returncode == 0, made.stderr
    admin = log_in(a, "boss")
    status, film = call(a, "POST", "/api/v1/films", {"title": "Zyxwv City"}, admin)
    assert status == 201
    written = time.monotonic()

    def found_on_b():
        status, hits = call(b, "GET", "/api/v1/films/search?query=zyxwv")
        return status == 200 and [hit["id"] for hit in hits] == [film["id"]]

    wait_until(found_on_b)
    assert time.monotonic() - written < 2

    # A report asked on one node, run by the worker, read on the other.
    status, job = call(
        a, "POST", "/api/v1/reports", {"report_name": "genres-summary"}, token
    )
    assert status == 202

    def completed_on_b():
        status, seen = call(b, "GET", f"/api/v1/reports/{job['id']}", token=token)
        return status == 200 and seen["status"] == "completed"

    wait_until(completed_on_b)
    status, rows = call(b, "GET", f"/api/v1/reports/{job['id']}/results", token=token)
    assert status == 200 and {row["name"] for row in rows} >= {"Sci-Fi", "Action"}

    # One request count over both nodes.
    status, _ = call(a, "POST", "/request-count/reset/", token=admin)
    assert status == 200
    for n in range(10):
        call(a if n % 2 else b, "GET", "/healthz")
    status, count = call(b, "GET", "/request-count/", token=token)
    assert status == 200
    assert count["requests"] == 1 + 10  # the reset's own answer, then ten
    # Nothing of it was kept in a node's own files.
    for _, _, directory in deployment.nodes.values():
        assert not (directory / "var").exists()


def test_a_node_killed_in_the_middle_of_writes_loses_none_it_answered(deployment):
    a = deployment.start_node("node-a")
    b = deployment.start_node("node-b")
    status, _ = call(
        a, "POST", "/register/", {"username": "alice", "password": PASSWORD}
    )
    assert status == 201
    token = log_in(a, "alice")
    answered, stop = [], threading.Event()

    def write(n):
        while not stop.is_set():
            body = {"title": f"Writer {n}", "description": "", "movies": []}
            try:
                status, created = call(
                    a, "POST", "/collection/", body, token, timeout=5
                )
            except OSError:  # the node is gone: its answer never came
                return
            if status == 201:
                answered.append(created["collection_uuid"])

    writers = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for writer in writers:
        writer.start()
    wait_until(lambda: len(answered) >= 50)
    _, server, _ = deployment.nodes["node-a"]
    for pid in (*children(server.pid), server.pid):
        os.kill(pid, signal.SIGKILL)
    stop.set()
    for writer in writers:
        writer.join(30)

    status, listed = call(b, "GET", "/collection/", token=token)
    assert status == 200
    kept = {c["uuid"] for c in listed["data"]["collections"]}
    assert len(answered) >= 50
    assert set(answered) <= kept
    with closing(
        open_catalogue(full_settings("unused.sqlite", **deployment.settings))
    ) as conn:
        stored = conn.execute("SELECT count(*) FROM movie_collection").fetchone()[0]
    assert stored == len(kept)
