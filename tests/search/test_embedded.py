"""What only the embedded index does: its read connections across requests."""

import os
from pathlib import Path

import pytest
from flask import Flask

from app.search import FilmQuery
from app.search.embedded import IDLE_CONNECTIONS, EmbeddedBackend
from tests.documents import film, write_catalogue


@pytest.fixture
def index_path(tmp_path):
    """Path of an embedded index that does not exist yet."""
    return tmp_path / "movies.search.sqlite"


@pytest.fixture
def backend(index_path):
    """An embedded backend on ``index_path``."""
    return EmbeddedBackend(index_path, max_result_window=10_000)


def open_descriptors(path):
    """This process's open files that are ``path`` (or were, before a replace)."""
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.removesuffix(" (deleted)") == str(path):
            found.append(target)
    return found


def load(backend, generation, films):
    """Write ``films`` into ``generation`` and make it live, as a full load does."""
    write_catalogue(backend, generation, films)
    backend.publish(generation)


def titles_in_a_request(backend):
    """Search every film in a request of its own, as the app does."""
    with Flask(__name__).app_context():
        try:
            page = backend.search_films(FilmQuery())
        finally:
            backend.release()
    return [doc["title"] for doc in page.items]


def test_requests_share_a_few_connections(backend, index_path):
    load(backend, "gen1", [film("tt0000001", "Alien")])

    for _ in range(3 * IDLE_CONNECTIONS):
        assert titles_in_a_request(backend) == ["Alien"]

    assert 1 <= len(open_descriptors(index_path)) <= IDLE_CONNECTIONS


def test_a_request_after_a_full_reload_reads_the_new_file(backend, index_path):
    load(backend, "gen1", [film("tt0000001", "Alien")])
    assert titles_in_a_request(backend) == ["Alien"]

    load(backend, "gen2", [film("tt0000002", "Aliens")])

    assert titles_in_a_request(backend) == ["Aliens"]
    # The idle connection to the replaced file was closed, not kept.
    assert not [f for f in open_descriptors(index_path) if f.endswith("(deleted)")]
