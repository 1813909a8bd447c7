"""Waiting for a condition, for tests that watch another process or thread."""

import threading


def wait_until(condition, attempts=1200, interval=0.05):
    """Poll ``condition`` until it holds; fail after ``attempts`` tries."""
    pause = threading.Event()
    for _ in range(attempts):
        if condition():
            return
        pause.wait(interval)
    raise AssertionError("the condition never held")
