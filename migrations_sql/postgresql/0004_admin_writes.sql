-- Admins write the catalogue through the API (migrations_sql/0010_admin_writes.sql).
-- Each write takes the next catalogue revision (a number that only grows,
-- from the clock in milliseconds) as its last statement before it commits,
-- and notes in `search_backlog` what it changed at that revision; the
-- write-through indexes those documents with the revision as their version.

CREATE TABLE catalogue_revision (
    id       integer PRIMARY KEY CHECK (id = 1),
    revision bigint NOT NULL
);
INSERT INTO catalogue_revision (id, revision)
VALUES (1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint);

CREATE TABLE search_backlog (
    entity    text COLLATE "C" NOT NULL CHECK (entity IN ('film', 'genre', 'person')),
    entity_id text COLLATE "C" NOT NULL,
    revision  bigint NOT NULL,
    PRIMARY KEY (entity, entity_id)
);
CREATE INDEX search_backlog_revision_idx ON search_backlog (revision);

-- The next whole-number legacy id of an actor created through the API: above
-- every id the old system gave (`flask db import` sets it).
CREATE TABLE legacy_actor_sequence (
    id      integer PRIMARY KEY CHECK (id = 1),
    next_id bigint NOT NULL
);
INSERT INTO legacy_actor_sequence (id, next_id) VALUES (1, 1);
