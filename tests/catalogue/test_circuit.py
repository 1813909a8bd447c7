"""The circuit breakers: the one of the cache, the request counter and Elasticsearch
reads, and the one the workers share for the movie provider.
"""

import subprocess
import sys
import time

import pytest
import redis

from catalogue.circuit import Circuit, FileStore, MemoryStore, RedisStore, SharedCircuit
from tests.fixtures.redis import free_port


class Clock:
    """A monotonic clock that moves only when told to."""

    def __init__(self):
        self.now = 50.0

    def __call__(self):
        return self.now


def test_a_failure_opens_it_for_the_pause_then_one_call_probes():
    clock = Clock()
    circuit = Circuit(5.0, clock=clock)
    assert circuit.allow()

    assert circuit.failed() is True
    assert not circuit.allow()
    clock.now += 4.9
    assert not circuit.allow()
    clock.now += 0.1
    assert circuit.allow()  # the probe
    assert not circuit.allow()  # one at a time
    circuit.succeeded()
    assert circuit.allow() and circuit.allow()


def test_a_failed_probe_opens_it_again_and_says_so():
    clock = Clock()
    circuit = Circuit(5.0, clock=clock)
    circuit.failed()
    clock.now += 5
    assert circuit.allow()

    assert circuit.failed() is True
    assert not circuit.allow()


def test_failures_of_calls_in_flight_when_it_opened_are_not_reported_again():
    circuit = Circuit(5.0, clock=Clock())
    assert circuit.allow() and circuit.allow()  # two calls in flight

    assert circuit.failed() is True
    assert circuit.failed() is False


def test_a_probe_that_ends_neither_way_lets_the_next_call_probe():
    clock = Clock()
    circuit = Circuit(5.0, clock=clock)
    circuit.failed()
    clock.now += 5
    assert circuit.allow()

    circuit.settled()

    assert circuit.allow()


# --- the circuit the workers share -------------------------------------------------


@pytest.fixture(params=["memory", "file", "redis"])
def store(request, tmp_path):
    """Each store of a shared circuit's state."""
    if request.param == "memory":
        return MemoryStore()
    if request.param == "file":
        return FileStore(tmp_path / "breaker")
    url = request.getfixturevalue("redis_url")
    client = redis.Redis.from_url(url)
    client.delete("test-breaker")
    return RedisStore(client, "test-breaker")


def shared(store, clock, threshold=3):
    return SharedCircuit(store, threshold, pause=10.0, probe_lease=4.0, clock=clock)


def test_shared_opens_after_failures_in_a_row_then_one_probe(store):
    clock = Clock()
    circuit = shared(store, clock)
    assert circuit.failed() is False
    assert circuit.failed() is False
    assert circuit.allow()
    assert circuit.failed() is True
    assert not circuit.allow()
    assert circuit.retry_after() == 10.0
    clock.now += 10
    assert circuit.allow()  # the probe
    assert not circuit.allow()
    circuit.succeeded()
    assert circuit.allow() and circuit.allow()
    assert circuit.retry_after() == 0


def test_shared_a_success_resets_the_count(store):
    circuit = shared(store, Clock())
    circuit.failed()
    circuit.failed()
    circuit.succeeded()
    assert circuit.failed() is False
    assert circuit.allow()


def test_shared_a_failed_probe_opens_it_again(store):
    clock = Clock()
    circuit = shared(store, clock, threshold=1)
    circuit.failed()
    clock.now += 10
    assert circuit.allow()
    assert circuit.failed() is True
    assert not circuit.allow()


def test_shared_a_probe_that_never_reports_frees_the_way(store):
    clock = Clock()
    circuit = shared(store, clock, threshold=1)
    circuit.failed()
    clock.now += 10
    assert circuit.allow()
    clock.now += 3.9
    assert not circuit.allow()
    clock.now += 0.1
    assert circuit.allow()


def test_shared_a_settled_probe_lets_the_next_call_probe(store):
    clock = Clock()
    circuit = shared(store, clock, threshold=1)
    circuit.failed()
    clock.now += 10
    assert circuit.allow()
    circuit.settled()
    assert circuit.allow()


def test_shared_a_hold_opens_it_at_once_for_as_long(store):
    clock = Clock()
    circuit = shared(store, clock)
    assert circuit.failed(hold=60) is True
    assert circuit.retry_after() == 60
    clock.now += 59
    assert not circuit.allow()


def test_shared_two_circuits_on_one_file_share_the_state(tmp_path):
    clock = Clock()
    first = shared(FileStore(tmp_path / "breaker"), clock, threshold=2)
    second = shared(FileStore(tmp_path / "breaker"), clock, threshold=2)
    first.failed()
    second.failed()
    assert not first.allow()
    assert not second.allow()


def test_shared_a_file_is_shared_by_another_process(tmp_path):
    circuit = shared(FileStore(tmp_path / "breaker"), time.time, threshold=1)
    circuit.failed()
    script = (
        "import sys, time; from catalogue.circuit import FileStore, SharedCircuit;"
        "c = SharedCircuit(FileStore(sys.argv[1]), 1, 10.0, 4.0);"
        "print(c.allow())"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "breaker")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "False"


def test_shared_a_failing_redis_keeps_the_state_in_the_worker():
    client = redis.Redis(host="127.0.0.1", port=free_port(), socket_timeout=0.1)
    circuit = shared(RedisStore(client, "test-breaker"), Clock(), threshold=1)
    assert circuit.allow()
    assert circuit.failed() is True
    assert not circuit.allow()
