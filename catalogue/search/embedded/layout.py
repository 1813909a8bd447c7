"""The tables of an index file, its numbered layout, and how a file is opened.

Every file that readers read is in WAL mode, so they never wait on a writer;
a generation that nobody reads yet is written with a rollback journal, which
writes each page once instead of twice, and goes over to WAL when it is
published. The layout is
numbered in the file's ``user_version``: a write upgrades an older file with
the steps from its layout on, and reads refuse such a file until then.
"""

import json
import uuid

from catalogue.db.sqlite import connect, statements, transaction, use_wal
from catalogue.search import GENRES, MOVIES, PERSONS, SearchError, SearchUnavailable
from catalogue.search.analysis import stem, title_key, words
from catalogue.search.documents import searched_texts

NOT_BUILT = "search index not built yet: run flask etl run"
OUTDATED = "search index has an older layout: run flask etl run to upgrade it"
# The WAL is cut back to this size once checkpointed, after a large load.
WAL_SIZE_LIMIT = 64 * 1024 * 1024
# Terms contain only word characters and inner apostrophes: splitting on
# anything else (spaces) keeps each one intact, whatever its script.
TOKENIZER = "ascii tokenchars '''_'"

WORDS = "movie_word"
# The searched words of films as typed (unstemmed), each with its term, for
# typo matching: "runing" is one edit from the word "running", three from its
# term "run"; and it is no word of any film, while its term "rune" may be.
WORDS_SCHEMA = f"""
CREATE TABLE {WORDS} (word TEXT PRIMARY KEY, term TEXT NOT NULL) WITHOUT ROWID;
"""

# A text equal to a film's title (see ``analysis.title_key``) finds it here
# before any full-text match.
TITLE_KEY_SCHEMA = """
CREATE INDEX movie_title_key ON movie (title_key);
"""

SCHEMA = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;

-- What filters, sorts and lists of films read, kept narrow so that scanning it
-- stays cheap: a list of 20 summaries read from the documents instead reads 20
-- pages of a table 20 times larger (0.9 ms against 0.05 ms at 200,000 films).
CREATE TABLE movie (
    num INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    title_sort TEXT NOT NULL,
    imdb_rating REAL,
    title TEXT,
    title_key TEXT
);
CREATE INDEX movie_title ON movie (title_sort, id);
{TITLE_KEY_SCHEMA}
CREATE INDEX movie_rating ON movie (imdb_rating IS NULL, imdb_rating, id);
CREATE INDEX movie_rating_desc ON movie (imdb_rating DESC, id);
CREATE TABLE movie_doc (num INTEGER PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE movie_genre (
    genre_id TEXT NOT NULL,
    movie_num INTEGER NOT NULL,
    PRIMARY KEY (genre_id, movie_num)
) WITHOUT ROWID;
CREATE INDEX movie_genre_movie ON movie_genre (movie_num);
CREATE TABLE movie_person (
    person_id TEXT NOT NULL,
    role TEXT NOT NULL,
    movie_num INTEGER NOT NULL,
    PRIMARY KEY (person_id, role, movie_num)
) WITHOUT ROWID;
CREATE INDEX movie_person_movie ON movie_person (movie_num);
CREATE VIRTUAL TABLE movie_fts
    USING fts5 (title, description, names, tokenize = "{TOKENIZER}");
CREATE TABLE movie_term (term TEXT PRIMARY KEY) WITHOUT ROWID;
{WORDS_SCHEMA}
CREATE TRIGGER movie_deleted AFTER DELETE ON movie BEGIN
    DELETE FROM movie_doc WHERE num = old.num;
    DELETE FROM movie_fts WHERE rowid = old.num;
    DELETE FROM movie_genre WHERE movie_num = old.num;
    DELETE FROM movie_person WHERE movie_num = old.num;
END;

CREATE TABLE genre (
    num INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name_sort TEXT NOT NULL,
    film_count INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX genre_name ON genre (name_sort, id);
CREATE INDEX genre_film_count ON genre (film_count, id);

CREATE TABLE person (
    num INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL
);
CREATE VIRTUAL TABLE person_fts
    USING fts5 (full_name, tokenize = "{TOKENIZER}");
CREATE TABLE person_term (term TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TRIGGER person_deleted AFTER DELETE ON person BEGIN
    DELETE FROM person_fts WHERE rowid = old.num;
END;
"""


def _add_words(conn):
    """Create the table of film words and fill it from the films indexed."""
    conn.execute(WORDS_SCHEMA)
    docs = conn.execute("SELECT doc FROM movie_doc")
    add_words(conn, (json.loads(row[0]) for row in docs))


def _add_title_keys(conn):
    """Give every film indexed the key of its title, and index the keys."""
    conn.execute("ALTER TABLE movie ADD COLUMN title_key TEXT")
    rows = conn.execute("SELECT num, title FROM movie").fetchall()
    conn.executemany(
        "UPDATE movie SET title_key = ? WHERE num = ?",
        [(title_key(title or ""), num) for num, title in rows],
    )
    conn.execute(TITLE_KEY_SCHEMA)


# The layout of the tables above, and the step from each older one: SQL, or a
# function of the connection. Layout 2 is a WAL file reached through the live
# link (see ``files``); a file of layout 1 was the live file itself, with a
# rollback journal, and is moved behind the link by the next write. Layout 3
# adds the words of films, layout 4 the keys of their titles.
LAYOUT = 4
UPGRADES = {
    0: """
    ALTER TABLE movie ADD COLUMN title TEXT;
    UPDATE movie SET title = (SELECT doc ->> '$.title' FROM movie_doc d
                              WHERE d.num = movie.num);
    """,
    1: "",
    2: _add_words,
    3: _add_title_keys,
}

TABLES = {MOVIES: "movie", GENRES: "genre", PERSONS: "person"}
DOCUMENTS = {
    MOVIES: "SELECT d.doc FROM movie m JOIN movie_doc d USING (num) WHERE m.id = ?",
    GENRES: "SELECT doc FROM genre WHERE id = ?",
    PERSONS: "SELECT doc FROM person WHERE id = ?",
}
VOCABULARIES = {MOVIES: "movie_term", PERSONS: "person_term"}


def add_words(conn, docs):
    """Add the searched words of the film ``docs``, each with its term."""
    found = sorted(
        {
            word
            for doc in docs
            for texts in searched_texts(doc)
            for text in texts
            for word in words(text)
        }
    )
    conn.executemany(
        f"INSERT OR IGNORE INTO {WORDS} (word, term) VALUES (?, ?)",
        zip(found, stem(found), strict=True),
    )


def table(index):
    """Return the main table of ``index``; refuse names that are not indices."""
    if index not in TABLES:
        raise ValueError(f"unknown index {index!r}")
    return TABLES[index]


def open_for_reading(path, any_layout=False):
    """Open the file ``path`` to read; refuse a file of another layout unless asked."""
    conn = connect(path, readonly=True)
    try:
        layout = conn.execute("PRAGMA user_version").fetchone()[0]
    except BaseException:
        conn.close()
        raise
    if layout != LAYOUT and not any_layout:
        conn.close()
        raise SearchUnavailable(OUTDATED)
    return conn


def open_for_writing(path, read=True):
    """Open the file ``path`` to write, with the current layout.

    A file that is ``read`` is in WAL mode; one that nobody reads yet keeps
    the mode it has (a new file: a rollback journal). A new file gets the
    tables, a file of an older layout its upgrades, in one transaction.
    """
    conn = connect(path)
    try:
        if read:
            use_wal(conn)
        conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        if conn.execute("PRAGMA user_version").fetchone()[0] != LAYOUT:
            _set_up(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def _set_up(conn, path):
    """Create the tables of an empty file or upgrade an older one."""
    with transaction(conn):
        layout = conn.execute("PRAGMA user_version").fetchone()[0]
        if layout == LAYOUT:
            return
        if not conn.execute("SELECT 1 FROM sqlite_schema").fetchone():
            scripts = [SCHEMA]
        elif layout < LAYOUT:
            scripts = [UPGRADES[step] for step in range(layout, LAYOUT)]
        else:
            raise SearchError(f"{path} has a layout newer than this service")
        for script in scripts:
            if callable(script):
                script(conn)
                continue
            for statement in statements(script):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {LAYOUT}")


def revision(conn):
    """Return the revision of the file, which every committed write changes."""
    return meta(conn, "revision")


def meta(conn, key):
    """Return the value stored under ``key`` in the file's ``meta`` table, or None."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row and row[0]


def set_meta(conn, key, value):
    """Store ``value`` under ``key`` in the ``meta`` table (inside a transaction)."""
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def new_revision(conn):
    """Give the file a new revision: readers rebuild what they keep of it."""
    set_meta(conn, "revision", uuid.uuid4().hex)
