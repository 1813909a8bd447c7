-- Admins write the catalogue through the API. Each write takes the next
-- catalogue revision, a number that only grows (and starts at the clock in
-- milliseconds, far above any version the search engine gave a document
-- before), and notes in `search_backlog` what it changed at that revision.
-- The write-through indexes those documents with the revision as their
-- version, so an older one never replaces a newer one, and then clears the
-- rows it indexed; a row that stays is a change the index still lacks.

CREATE TABLE catalogue_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
);
INSERT INTO catalogue_revision (id, revision)
VALUES (1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));

CREATE TABLE search_backlog (
    entity    TEXT NOT NULL CHECK (entity IN ('film', 'genre', 'person')),
    entity_id TEXT NOT NULL,
    revision  INTEGER NOT NULL,
    PRIMARY KEY (entity, entity_id)
) WITHOUT ROWID;
CREATE INDEX search_backlog_revision_idx ON search_backlog (revision);

-- The next whole-number legacy id of an actor created through the API: above
-- every id the old system gave.
CREATE TABLE legacy_actor_sequence (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    next_id INTEGER NOT NULL
);
INSERT INTO legacy_actor_sequence (id, next_id)
SELECT 1, coalesce(max(CAST(legacy_id AS INTEGER)), 0) + 1
FROM person_legacy_id WHERE source = 'actor';
