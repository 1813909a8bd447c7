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
    """Return ``function(*args)``, run in ``pool`` (of ``threads``) under gevent."""
    from gevent import monkey

    if not monkey.is_module_patched("threading"):
        return function(*args)
    return _pool(pool, threads).apply(function, args)
