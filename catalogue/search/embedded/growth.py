"""The words a file's vocabularies gained, in order, for readers to add.

Readers add them instead of reloading every word after each small write.

The vocabularies (the terms of films and of persons, the words of films) only
grow within a generation: terms of removed documents stay until the next full
load. Triggers note each word a vocabulary gains in ``vocabulary_log``; a
reader that loaded the vocabularies up to a point of the log adds what came
after it. The first write through the API (``write_changes``) makes the log
and its triggers, so files the ETL alone wrote keep their layout; a fresh
generation has no log, and its readers load it whole.
"""

from catalogue.db.sqlite import statements
from catalogue.search.embedded.layout import VOCABULARIES, WORDS

LOG = "vocabulary_log"
SCHEMA = (
    f"""
CREATE TABLE IF NOT EXISTS {LOG} (
    seq INTEGER PRIMARY KEY,
    vocabulary TEXT NOT NULL,
    word TEXT NOT NULL,
    term TEXT NOT NULL
);
"""
    + "".join(
        f"""
CREATE TRIGGER IF NOT EXISTS {table}_logged AFTER INSERT ON {table} BEGIN
    INSERT INTO {LOG} (vocabulary, word, term) VALUES ('{table}', NEW.term, NEW.term);
END;
"""
        for table in VOCABULARIES.values()
    )
    + f"""
CREATE TRIGGER IF NOT EXISTS {WORDS}_logged AFTER INSERT ON {WORDS} BEGIN
    INSERT INTO {LOG} (vocabulary, word, term) VALUES ('{WORDS}', NEW.word, NEW.term);
END;
"""
)


def keep_log(conn):
    """Make the log and its triggers, if missing (inside a write transaction)."""
    for statement in statements(SCHEMA):
        conn.execute(statement)


def position(conn):
    """Return the last position of the log, or None if the file has no log."""
    if not conn.execute(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", (LOG,)
    ).fetchone():
        return None
    return conn.execute(f"SELECT coalesce(max(seq), 0) FROM {LOG}").fetchone()[0]


def gained(conn, table, after, until):
    """Return ``(word, term)`` rows ``table`` gained after ``after`` up to ``until``."""
    return conn.execute(
        f"SELECT word, term FROM {LOG} WHERE vocabulary = ? AND seq > ? AND seq <= ?"
        " ORDER BY seq",
        (table, after, until),
    ).fetchall()
