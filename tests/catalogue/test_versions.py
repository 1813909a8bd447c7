"""The data version each process reads of the indices, and how it moves on."""

import re

from catalogue import versions
from catalogue.search import SearchUnavailable


class Clock:
    """A monotonic clock that moves only when told to."""

    now = 100.0

    def __call__(self):
        return self.now


class Reader:
    """A search reader that counts how often its data version is read."""

    def __init__(self, version):
        self.version, self.reads = version, 0

    def data_version(self):
        self.reads += 1
        if isinstance(self.version, Exception):
            raise self.version
        return self.version


def test_new_data_versions_are_unique_and_start_with_the_time():
    made = {versions.new_data_version() for _ in range(1000)}

    assert len(made) == 1000
    assert all(re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{8}", v) for v in made)


def test_the_version_is_read_once_per_interval(monkeypatch):
    reader, clock = Reader("v1"), Clock()
    monkeypatch.setattr(versions, "get_search", lambda: reader)
    known = versions.DataVersion(interval=2.0, clock=clock)

    assert [known.current(), known.current()] == ["v1", "v1"]
    reader.version = "v2"
    clock.now += 1.9
    assert (known.current(), reader.reads) == ("v1", 1)
    clock.now += 0.1
    assert (known.current(), reader.reads) == ("v2", 2)


def test_forget_reads_the_version_again_at_once(monkeypatch):
    reader = Reader("v1")
    monkeypatch.setattr(versions, "get_search", lambda: reader)
    known = versions.DataVersion(interval=60.0, clock=Clock())
    known.current()
    reader.version = "v2"

    known.forget()

    assert known.current() == "v2"


def test_a_search_engine_that_cannot_tell_gives_none_for_the_interval(monkeypatch):
    reader, clock = Reader(SearchUnavailable("down")), Clock()
    monkeypatch.setattr(versions, "get_search", lambda: reader)
    known = versions.DataVersion(interval=2.0, clock=clock)

    assert [known.current(), known.current()] == [None, None]
    assert reader.reads == 1


def test_invalidate_makes_the_app_read_the_version_again(app, monkeypatch):
    reader = Reader("v1")
    monkeypatch.setattr(versions, "get_search", lambda: reader)
    with app.app_context():
        assert versions.current() == "v1"
        reader.version = "v2"
        assert versions.current() == "v1"
        versions.invalidate()
        assert versions.current() == "v2"
