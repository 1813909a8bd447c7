"""Text analysis shared by both backends: tokens, stop words, stemming, fuzziness.

The Elasticsearch analyzer is built from the same lists (see ``elastic.py``), so a
word is reduced to the same term whichever backend indexes it.
"""

import re

import Stemmer

# Lucene's English stop set (Elasticsearch's `_english_`).
ENGLISH_STOP_WORDS = (  # noqa: SIM905 - a word list reads best as text
    "a an and are as at be but by for if in into is it no not of on or such that the "
    "their then there these they this to was will with"
).split()

# Lucene's Russian stop set (Elasticsearch's `_russian_`).
RUSSIAN_STOP_WORDS = (  # noqa: SIM905 - a word list reads best as text
    "а без более бы был была были было быть в вам вас весь во вот все всего всех вы "
    "где да даже для до его ее если есть еще же за здесь и из или им их к как ко "
    "когда кто ли либо мне может мы на надо наш не него нее нет ни них но ну о об "
    "однако он она они оно от очень по под при с со так также такой там те тем то "
    "того тоже той только том ты у уже хотя чего чей чем что чтобы чье чья эта эти "
    "это я"
).split()

STOP_WORDS = frozenset(ENGLISH_STOP_WORDS + RUSSIAN_STOP_WORDS)
# ё and е are one letter to a Russian reader: "Звёздные" must match "звездные".
CHAR_MAPPINGS = {"ё": "е", "Ё": "Е"}
# Words, keeping inner apostrophes ("schindler's") as the standard tokenizer does.
_TOKEN = re.compile(r"\w+(?:['’]\w+)*")
_english = Stemmer.Stemmer("english")
_russian = Stemmer.Stemmer("russian")


def normalise(text):
    """Lower-case ``text`` and fold the letters that CHAR_MAPPINGS joins."""
    for source, target in CHAR_MAPPINGS.items():
        text = text.replace(source, target)
    return text.lower()


def words(text):
    """Return the searched words of ``text``, unstemmed: tokens minus stop words."""
    if not text:
        return []
    return [
        token.replace("’", "'")
        for token in _TOKEN.findall(normalise(text))
        if token not in STOP_WORDS
    ]


def title_key(text):
    """Return what makes two titles the same title to a search: its words, in order.

    Case, punctuation and stop words (articles) aside, as ``words`` reads them:
    "The Next Star" and "next star!" have one key, "Football's Next Star"
    another. Empty when no word is left.
    """
    return " ".join(words(text))


def stem(tokens):
    """Return the index term of each of ``tokens``, in order."""
    return _russian.stemWords(_english.stemWords(tokens))


def analyse(text):
    """Return the index terms of ``text``: tokens, minus stop words, stemmed."""
    return stem(words(text))


def max_edits(term):
    """Edits a query term may differ by and still match: Elasticsearch's AUTO."""
    if len(term) <= 2:
        return 0
    if len(term) <= 5:
        return 1
    return 2
