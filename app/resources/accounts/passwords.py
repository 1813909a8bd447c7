"""Passwords: the rules a new one follows, and their Argon2id hashes (argon2-cffi).

A new password follows NIST SP 800-63B (5.1.1.2): 8 to 128 characters,
every character allowed, spaces too; refused when it is one of the 30,000
passwords people pick most (zxcvbn's list, from leaked passwords, compared
without regard to case), when it is or holds the username, or when it is one
piece repeated or a run of consecutive characters (``aaaaaaaa``, ``abcabcab``,
``12345678``, eight spaces). No rule on kinds of characters: NIST advises
against them.

Hashing:
The cost is OWASP's baseline for Argon2id: 19 MiB of memory, 2 passes, one
lane (``PASSWORD_HASH_*`` to raise it; hashes made at an older cost are
rehashed at the next log-in). Hashing is CPU work that would freeze a gevent
worker: under gevent it runs in a small pool of real threads (argon2-cffi
releases the GIL), so the worker's other requests go on meanwhile.
"""

import functools
import itertools

import argon2
from flask import current_app

from catalogue import usernames
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


@functools.cache
def _common_passwords():
    """Return the most common passwords, lower case (zxcvbn's list, loaded once)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(
        word
        for word in FREQUENCY_LISTS["passwords"]
        if len(word) >= MIN_PASSWORD_LENGTH
    )


def weaknesses(password, username):
    """Return why ``password`` is too easy to guess for ``username``: [] if it is not.

    ``username`` is compared by its key (``catalogue.usernames.key``).
    """
    folded = password.casefold()
    name = usernames.key(username) if username else ""
    found = []
    if folded in _common_passwords():
        found.append(
            "password is one of the most common passwords; choose another (a few"
            " unrelated words make a good one)."
        )
    if name and name in usernames.key(password):
        found.append("password may not be or contain the username.")
    if _repeated(password):
        found.append(
            "password may not be one character or piece repeated (such as"
            " aaaaaaaa, abcabcab or spaces only)."
        )
    elif _consecutive(password):
        found.append(
            "password may not be a run of consecutive characters (such as"
            " 12345678 or abcdefgh)."
        )
    return found


def _repeated(password):
    """Whether ``password`` is a shorter piece of it over and over."""
    length = len(password)
    return any(
        (password[:size] * (length // size + 1))[:length] == password
        for size in range(1, length // 2 + 1)
    )


def _consecutive(password):
    """Whether each character comes right after (or before) the one before it."""
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(password)}
    return steps in ({1}, {-1})


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
