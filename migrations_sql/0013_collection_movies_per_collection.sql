-- A collection keeps its movies' data as its owner sent it. Until now a movie
-- was one row per provider uuid (`provider_movie`), shared by every collection
-- and overwritten by whoever sent it last, so one user's write changed what
-- another user's collection showed. Now each movie of a collection carries
-- its own title, description and genres in `collection_movie`; `provider_movie`
-- goes. Existing collections keep the data they showed before this migration.
-- `description` and `genres` may be NULL: the provider sends null for some, and
-- a collection keeps what it was sent.

CREATE TABLE collection_movie_own (
    collection_id INTEGER NOT NULL
        REFERENCES movie_collection (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    movie_uuid    TEXT NOT NULL,
    title         TEXT NOT NULL,
    description   TEXT,
    genres        TEXT,
    PRIMARY KEY (collection_id, position),
    UNIQUE (collection_id, movie_uuid)
) WITHOUT ROWID;

INSERT INTO collection_movie_own
    (collection_id, position, movie_uuid, title, description, genres)
SELECT cm.collection_id, cm.position, cm.movie_uuid, m.title, m.description,
       m.genres
FROM collection_movie cm JOIN provider_movie m ON m.uuid = cm.movie_uuid;

DROP TABLE collection_movie;
ALTER TABLE collection_movie_own RENAME TO collection_movie;
DROP TABLE provider_movie;


-- Every change of a collection (created, changed, deleted, also by the delete
-- of its account) moves the collections' revision on: the most-collected-movies
-- report reuses a result only while it stays the same. It starts at the clock
-- in milliseconds, so it never meets a fingerprint stored before.
CREATE TABLE collection_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
);
INSERT INTO collection_revision (id, revision)
VALUES (1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));

CREATE TRIGGER movie_collection_inserted AFTER INSERT ON movie_collection
BEGIN
    UPDATE collection_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER movie_collection_updated AFTER UPDATE ON movie_collection
BEGIN
    UPDATE collection_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER movie_collection_deleted AFTER DELETE ON movie_collection
BEGIN
    UPDATE collection_revision SET revision = revision + 1 WHERE id = 1;
END;
