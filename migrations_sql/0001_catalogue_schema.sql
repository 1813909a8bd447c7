-- The normalised catalogue beside the legacy tables, which stay as they are.
-- Every row carries created/modified timestamps (UTC, millisecond ISO 8601)
-- that the ETL uses to pick up changes. Secondary indexes come after the bulk
-- load (0003), which is several times faster than maintaining them row by row.

CREATE TABLE film (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    description TEXT,
    imdb_rating REAL CHECK (imdb_rating IS NULL OR imdb_rating BETWEEN 0 AND 10),
    created     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modified    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE genre (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    created  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modified TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE person (
    id        TEXT PRIMARY KEY,
    full_name TEXT NOT NULL,
    created   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modified  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- The ids the old system gave actors (integers) and writers (40-hex strings):
-- the legacy API still returns them.
CREATE TABLE person_legacy_id (
    source    TEXT NOT NULL CHECK (source IN ('actor', 'writer')),
    legacy_id TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    created   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modified  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (source, legacy_id)
) WITHOUT ROWID;

CREATE TABLE film_genre (
    film_id  TEXT NOT NULL REFERENCES film (id) ON DELETE CASCADE,
    genre_id TEXT NOT NULL REFERENCES genre (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    created  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modified TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (film_id, genre_id)
) WITHOUT ROWID;

CREATE TABLE film_person (
    film_id   TEXT NOT NULL REFERENCES film (id) ON DELETE CASCADE,
    person_id TEXT NOT NULL REFERENCES person (id) ON DELETE CASCADE,
    role      TEXT NOT NULL CHECK (role IN ('actor', 'writer', 'director')),
    position  INTEGER NOT NULL,
    created   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modified  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (film_id, role, person_id)
) WITHOUT ROWID;

-- Deleted films, genres and persons, for the incremental ETL to remove.
CREATE TABLE tombstone (
    entity     TEXT NOT NULL CHECK (entity IN ('film', 'genre', 'person')),
    entity_id  TEXT NOT NULL,
    deleted_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (entity, entity_id)
) WITHOUT ROWID;
