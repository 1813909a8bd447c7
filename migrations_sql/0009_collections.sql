-- Personal collections of the third-party provider's movies. A movie is one row
-- per provider uuid, shared by every collection that holds it and updated to the
-- latest data sent; a collection belongs to one account and lists its movies in
-- the order they were added.

CREATE TABLE provider_movie (
    uuid        TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    genres      TEXT NOT NULL DEFAULT '',
    modified    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) WITHOUT ROWID;

CREATE TABLE movie_collection (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE,
    owner_id    INTEGER NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modified    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
-- A user's collections, newest first, without reading anyone else's.
CREATE INDEX movie_collection_owner_idx ON movie_collection (owner_id, id);

CREATE TABLE collection_movie (
    collection_id INTEGER NOT NULL
        REFERENCES movie_collection (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    movie_uuid    TEXT NOT NULL REFERENCES provider_movie (uuid),
    PRIMARY KEY (collection_id, position),
    UNIQUE (collection_id, movie_uuid)
) WITHOUT ROWID;
