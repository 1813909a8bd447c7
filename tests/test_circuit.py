"""The circuit breaker the cache, the request counter and Elasticsearch reads share."""

from app.circuit import Circuit


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
