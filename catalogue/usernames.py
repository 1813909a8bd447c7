"""The forms of a username: as shown, the key it is unique by, and its skeleton.

A username is kept in Unicode's NFKC form, so that fullwidth ``ｓｅｃａｄｍｉｎ``
is ``secadmin``. Its key (:func:`key`) is that form case-folded: two names
of one key are one name. Its skeleton (:func:`skeleton`) goes further, after
Unicode's confusable detection (UTS #39): each character becomes the one it
is drawn like, so ``secаdmin`` (a Cyrillic а) and ``secadmin`` share a
skeleton, and a new name whose skeleton an existing account has is refused.
The look-alikes are the Unicode consortium's ``confusables.txt``, as the
confusable-homoglyphs package ships it.

The migrations call :func:`key` and :func:`skeleton` as SQL functions
(``catalogue.db.connect`` registers them).
"""

import functools
import unicodedata


def shown(username):
    """Return the form a username is kept and shown in: NFKC."""
    return unicodedata.normalize("NFKC", username)


def key(username):
    """Return the key a username is unique by: NFKC, case-folded (NFKC_Casefold)."""
    return unicodedata.normalize("NFKC", shown(username).casefold())


def skeleton(username):
    """Return what a username looks like: equal skeletons read alike.

    Drawn before case-folding, as UTS #39 does (a capital I is drawn like an l),
    then case-folded, as the keys are, and drawn again.
    """
    text = _drawn(unicodedata.normalize("NFD", shown(username)))
    return _drawn(unicodedata.normalize("NFD", text.casefold()))


def _drawn(text):
    """Return ``text`` with each character its prototype, until none changes."""
    # A prototype may itself decompose or have one: a few rounds settle it.
    for _ in range(3):
        drawn = unicodedata.normalize("NFD", "".join(_prototype(char) for char in text))
        if drawn == text:
            break
        text = drawn
    return text


@functools.cache
def _look_alikes():
    from confusable_homoglyphs import confusables

    return confusables.confusables_data


@functools.cache
def _prototype(char):
    """Return the character (or characters) ``char`` is drawn like.

    The data pairs each prototype with all its look-alikes and each look-alike
    with its prototype only; a pair of two that are only each other's takes
    the first in code-point order.
    """
    data = _look_alikes()
    alikes = data.get(char)
    if not alikes or len(alikes) > 1:
        return char
    target = alikes[0]["c"]
    if len(data.get(target, ())) > 1:
        return target
    return min(char, target)
