"""Passwords, hashed with Argon2id (argon2-cffi), off the event loop.

The cost is OWASP's baseline for Argon2id: 19 MiB of memory, 2 passes, one
lane (``PASSWORD_HASH_*`` to raise it; hashes made at an older cost are
rehashed at the next log-in). Hashing is CPU work that would freeze a gevent
worker: under gevent it runs in a small pool of real threads (argon2-cffi
releases the GIL), so the worker's other requests go on meanwhile.
"""

import functools

import argon2
from flask import current_app

from catalogue.threads import off_the_loop

# The longest password accepted, in characters: Argon2 takes any length, but
# hashing a megabyte would be a denial of service.
MAX_PASSWORD_LENGTH = 128
MIN_PASSWORD_LENGTH = 8


@functools.cache
def _hasher(time_cost, memory_cost, parallelism):
    return argon2.PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_cost,
        parallelism=parallelism,
        type=argon2.Type.ID,
    )


def hasher():
    """Return the PasswordHasher at the configured cost."""
    config = current_app.config
    return _hasher(
        config["PASSWORD_HASH_TIME_COST"],
        config["PASSWORD_HASH_MEMORY_KIB"],
        config["PASSWORD_HASH_PARALLELISM"],
    )


def hashing(function, *args):
    """Return ``function(*args)``, run in the hashing threads under gevent."""
    threads = current_app.config["PASSWORD_HASH_THREADS"]
    return off_the_loop("passwords", threads, function, *args)


def hash_password(password):
    """Return the Argon2id hash of ``password``."""
    return hashing(hasher().hash, password)


def dummy_hash():
    """Return a hash of no one's password, to verify against for unknown users."""
    return _dummy_hash(hasher())


@functools.cache
def _dummy_hash(password_hasher):
    return password_hasher.hash("no account has this password")


def verify_password(password_hash, password):
    """Whether ``password`` matches ``password_hash``; the same cost either way."""
    try:
        return hashing(hasher().verify, password_hash, password)
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False


def needs_rehash(password_hash):
    """Whether the hash was made at another cost than the configured one."""
    return hasher().check_needs_rehash(password_hash)
