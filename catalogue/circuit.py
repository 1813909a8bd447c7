"""A circuit breaker for a dependency that hangs: open on a failure, one probe after.

A call that fails (a timeout, a refused connection) opens the circuit: for
``pause`` seconds, calls are not made at all and answer at once. Then one call
at a time probes: its success closes the circuit, its failure opens it again.
Calls still in flight when the circuit opened may fail too; only the failure
that opened it is reported, so a dependency that hangs is logged once a pause.

:class:`SharedCircuit` is the same idea for the workers of one machine (a file)
or of every machine (Redis): it opens after a few failures in a row, and one
call of one worker probes after the pause.
"""

import fcntl
import os
import struct
import threading
import time
from pathlib import Path

import redis


class Circuit:
    """The state of one dependency, for the calls of one process."""

    def __init__(self, pause, clock=time.monotonic):
        self.pause = pause
        self.clock = clock
        self.open_until = 0.0
        self._probing = False

    def allow(self):
        """Whether to make a call now; after a pause, the caller is the probe."""
        if self.clock() < self.open_until or self._probing:
            return False
        self._probing = bool(self.open_until)
        return True

    def failed(self):
        """Record a failed call; return whether it opened the circuit."""
        opened = self.clock() >= self.open_until
        self.open_until = self.clock() + self.pause
        self._probing = False
        return opened

    def succeeded(self):
        """Record a call that worked: the circuit closes."""
        self.open_until = 0.0
        self._probing = False

    def settled(self):
        """Record a call that ended neither way (not the dependency's failure)."""
        self._probing = False


class SharedCircuit:
    """A circuit whose state every worker shares, opened by failures in a row.

    It opens after ``threshold`` failures in a row, for ``pause`` seconds (or
    longer, if a failure says so). The state lives in a ``store`` (:class:`FileStore` for the workers of one
    machine, :class:`RedisStore` for every machine of a Redis), changed
    atomically, so a dependency that fails is given up on by every worker at
    once, and after the pause one call of one worker probes it. A probe that
    never reports (its worker died) frees the way after ``probe_lease`` seconds.
    The interface is :class:`Circuit`'s, with :meth:`retry_after` besides.
    """

    def __init__(self, store, threshold, pause, probe_lease, clock=time.time):
        self.store = store
        self.threshold = threshold
        self.pause = pause
        self.probe_lease = probe_lease
        self.clock = clock

    def allow(self):
        """Whether to make a call now; after a pause, one caller is the probe."""

        def step(state, now):
            failures, open_until, probe_until = state
            if now < open_until:
                return state, False
            if failures >= self.threshold:
                if now < probe_until:
                    return state, False
                return (failures, open_until, now + self.probe_lease), True
            return state, True

        return self.store.change(step, self.clock())

    def failed(self, hold=None):
        """Record a failed call; return whether it opened the circuit.

        ``hold`` (seconds) opens the circuit at once for at least that long: the
        dependency said when to come back.
        """

        def step(state, now):
            failures, open_until, _ = state
            failures += 1
            if failures < self.threshold and hold is None:
                return (failures, open_until, 0.0), False
            opened = now >= open_until
            until = now + max(self.pause, hold or 0.0)
            return (max(failures, self.threshold), max(open_until, until), 0.0), opened

        return self.store.change(step, self.clock())

    def succeeded(self):
        """Record a call that worked: the circuit closes."""
        self.store.change(lambda state, now: (CLOSED, None), self.clock())

    def settled(self):
        """Record a call that ended neither way: a probe frees the way."""
        self.store.change(
            lambda state, now: ((state[0], state[1], 0.0), None), self.clock()
        )

    def retry_after(self):
        """Seconds until the circuit lets a call through again (0 when it does)."""
        state = self.store.change(lambda state, now: (state, state), self.clock())
        return max(0.0, state[1] - self.clock())


# The state of a shared circuit: (failures in a row, open until, probing until).
CLOSED = (0, 0.0, 0.0)


class MemoryStore:
    """A shared circuit's state in this process only (tests; a fallback)."""

    def __init__(self):
        self.state = CLOSED

    def change(self, step, now):
        """Replace the state by what ``step(state, now)`` makes of it."""
        self.state, result = step(self.state, now)
        return result


class FileStore:
    """A shared circuit's state in a small file, changed under its lock.

    Every process of one machine that opens the same path shares the state.
    """

    _STATE = struct.Struct("<qdd")

    def __init__(self, path):
        self.path = Path(path)
        self._owner = None
        self._fd = None
        # The file's lock is the process's: this one keeps its threads in turn.
        self._lock = threading.Lock()

    def change(self, step, now):
        """Replace the state by what ``step(state, now)`` makes of it, atomically."""
        with self._lock:
            if self._owner != os.getpid():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                self._owner = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                raw = os.pread(self._fd, self._STATE.size, 0)
                size = self._STATE.size
                state = self._STATE.unpack(raw) if len(raw) == size else CLOSED
                new_state, result = step(state, now)
                if new_state != state:
                    os.pwrite(self._fd, self._STATE.pack(*new_state), 0)
                return result
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


class RedisStore:
    """A shared circuit's state in one Redis hash, changed in a transaction.

    If Redis fails, the state is kept in this process until it works again.
    """

    def __init__(self, client, key, logger=None):
        self.client = client
        self.key = key
        self.logger = logger
        self.fallback = MemoryStore()
        self._redis_circuit = Circuit(5.0)

    def change(self, step, now):
        """Replace the state by what ``step(state, now)`` makes of it, atomically."""
        if not self._redis_circuit.allow():
            return self.fallback.change(step, now)
        outcome = []

        def transact(pipe):
            raw = pipe.hmget(self.key, "failures", "open_until", "probe_until")
            state = (
                CLOSED
                if raw[0] is None
                else (int(raw[0]), float(raw[1]), float(raw[2]))
            )
            new_state, result = step(state, now)
            outcome[:] = [result]
            if new_state != state:
                pipe.multi()
                pipe.hset(
                    self.key,
                    mapping=dict(
                        zip(
                            ("failures", "open_until", "probe_until"),
                            new_state,
                            strict=True,
                        )
                    ),
                )

        try:
            self.client.transaction(transact, self.key)
        except redis.RedisError as exc:
            if self._redis_circuit.failed() and self.logger is not None:
                self.logger.warning(
                    "circuit state in Redis failed, kept in the worker: %s",
                    type(exc).__name__,
                )
            return self.fallback.change(step, now)
        self._redis_circuit.succeeded()
        return outcome[0]
