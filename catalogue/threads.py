"""Work that never yields, run off a gevent worker's event loop.

A call that holds the CPU or blocks in C (Argon2 hashing, SQLite, a queue
file's lock) freezes every request of a gevent worker while it runs. Under
gevent, :func:`off_the_loop` runs it in a real thread of a small named pool,
and the worker's other requests go on meanwhile; elsewhere (the CLI, the
report worker, tests without gevent) it runs where it is called.
"""

import functools


@functools.cache
def _pool(name, threads):
    from gevent.threadpool import ThreadPool

    return ThreadPool(threads)


def off_the_loop(pool, threads, function, *args):
    """Return ``function(*args)``, run in ``pool`` (of ``threads``) under gevent.

    What it raises is raised here, in the caller, as if it had run here. gevent's
    pool would also print each exception's traceback to the error log, as an
    error of its hub (two tracebacks for each wrong password, whose check
    raises): the exception is carried back as a value instead, so an expected
    failure leaves no trace and an unexpected one is logged once, by whoever
    does not handle it.
    """
    from gevent import monkey

    if not monkey.is_module_patched("threading"):
        return function(*args)
    failed, outcome = _pool(pool, threads).apply(_outcome_of, (function, args))
    if failed:
        raise outcome
    return outcome


def _outcome_of(function, args):
    """Return ``(False, function(*args))``, or ``(True, the exception it raised)``."""
    try:
        return False, function(*args)
    except Exception as exc:
        return True, exc
