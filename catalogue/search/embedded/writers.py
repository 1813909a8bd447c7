"""Writers: documents into the index tables, and the terms they add to its vocabulary.

Text is reduced to terms by ``catalogue.search.analysis.analyse`` when a document is
written; the FTS5 tables store those terms space-joined, and their tokenizer
only splits on the spaces, so a stored term is exactly the term analysed.
"""

import json

from catalogue.search import GENRES, MOVIES, PERSONS, ROLES
from catalogue.search.analysis import analyse, title_key
from catalogue.search.documents import PERSON_KEYS, searched_texts
from catalogue.search.embedded.layout import VOCABULARIES, add_words


def _terms(*texts):
    """Return the analysed terms of ``texts``."""
    return [term for text in texts if text for term in analyse(text)]


def _dump(doc):
    """Serialise ``doc`` as compact JSON."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def _write_movie(conn, doc):
    """Replace the film ``doc`` in every movie table; return its terms."""
    conn.execute("DELETE FROM movie WHERE id = ?", (doc["id"],))
    title = doc.get("title") or ""
    num = conn.execute(
        "INSERT INTO movie (id, title_sort, imdb_rating, title, title_key)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            doc["id"],
            title.lower(),
            doc.get("imdb_rating"),
            doc.get("title"),
            title_key(title),
        ),
    ).lastrowid
    conn.execute("INSERT INTO movie_doc (num, doc) VALUES (?, ?)", (num, _dump(doc)))
    conn.executemany(
        "INSERT OR IGNORE INTO movie_genre (genre_id, movie_num) VALUES (?, ?)",
        [(genre["id"], num) for genre in doc.get("genres") or ()],
    )
    persons = doc.get("persons") or {}
    conn.executemany(
        "INSERT OR IGNORE INTO movie_person (person_id, role, movie_num)"
        " VALUES (?, ?, ?)",
        [
            (person["id"], role, num)
            for role in ROLES
            for person in persons.get(PERSON_KEYS[role]) or ()
        ],
    )
    columns = tuple(_terms(*texts) for texts in searched_texts(doc))
    conn.execute(
        "INSERT INTO movie_fts (rowid, title, description, names) VALUES (?, ?, ?, ?)",
        (num, *(" ".join(terms) for terms in columns)),
    )
    return [term for terms in columns for term in terms]


def _write_genre(conn, doc):
    """Replace the genre ``doc``; genres are not searched, so no terms."""
    conn.execute("DELETE FROM genre WHERE id = ?", (doc["id"],))
    conn.execute(
        "INSERT INTO genre (id, name_sort, film_count, doc) VALUES (?, ?, ?, ?)",
        (doc["id"], doc["name"].lower(), doc.get("film_count") or 0, _dump(doc)),
    )
    return ()


def _write_persons(conn, docs):
    """Replace the person ``docs`` and their searchable names; return their terms.

    Persons are the largest index, so they are written a batch per statement.
    """
    docs = list({doc["id"]: doc for doc in docs}.values())
    ids = json.dumps([doc["id"] for doc in docs])
    conn.execute(
        "DELETE FROM person WHERE id IN (SELECT value FROM json_each(?))", (ids,)
    )
    conn.executemany(
        "INSERT INTO person (id, doc) VALUES (?, ?)",
        [(doc["id"], _dump(doc)) for doc in docs],
    )
    nums = dict(
        conn.execute(
            "SELECT id, num FROM person WHERE id IN (SELECT value FROM json_each(?))",
            (ids,),
        ).fetchall()
    )
    names = [(nums[doc["id"]], _terms(doc.get("full_name"))) for doc in docs]
    conn.executemany(
        "INSERT INTO person_fts (rowid, full_name) VALUES (?, ?)",
        [(num, " ".join(terms)) for num, terms in names],
    )
    return [term for _, terms in names for term in terms]


def _one_by_one(write_one):
    """Make a batch writer of a function that writes one document."""

    def write(conn, docs):
        return [term for doc in docs for term in write_one(conn, doc)]

    return write


WRITERS = {
    MOVIES: _one_by_one(_write_movie),
    GENRES: _one_by_one(_write_genre),
    PERSONS: _write_persons,
}


def write_documents(conn, index, documents):
    """Replace ``documents`` of ``index`` and add their terms to its vocabulary.

    The words of films are kept as typed as well, each with its term.
    """
    writer = WRITERS.get(index)
    if writer is None:
        raise ValueError(f"unknown index {index!r}")
    terms = set(writer(conn, documents))
    if index == MOVIES:
        add_words(conn, documents)
    if terms:
        conn.executemany(
            f"INSERT OR IGNORE INTO {VOCABULARIES[index]} (term) VALUES (?)",
            [(term,) for term in terms],
        )
