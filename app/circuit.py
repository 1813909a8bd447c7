"""A circuit breaker for a dependency that hangs: open on a failure, one probe after.

A call that fails (a timeout, a refused connection) opens the circuit: for
``pause`` seconds, calls are not made at all and answer at once. Then one call
at a time probes: its success closes the circuit, its failure opens it again.
Calls still in flight when the circuit opened may fail too; only the failure
that opened it is reported, so a dependency that hangs is logged once a pause.
"""

import time


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
