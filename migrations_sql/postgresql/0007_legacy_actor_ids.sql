-- The legacy ids of actors created through the API come from a sequence: a
-- row updated by every write that adds an actor was held until its commit,
-- so such writes of different films waited on each other. A sequence hands
-- out numbers without a lock held to the end of the transaction (a write
-- rolled back leaves a gap, which no client can tell from an id never used).
CREATE SEQUENCE legacy_actor_id AS bigint MINVALUE 1;
SELECT setval('legacy_actor_id', next_id, false) FROM legacy_actor_sequence;
DROP TABLE legacy_actor_sequence;
