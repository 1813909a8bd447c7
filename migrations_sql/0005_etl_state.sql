-- What the ETL did, per search target: a full load's physical index generation,
-- its checkpoint for resuming after a kill, and the watermark from which the
-- next incremental run picks up changes.

CREATE TABLE etl_run (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    target      TEXT NOT NULL,
    mode        TEXT NOT NULL CHECK (mode IN ('full', 'incremental')),
    state       TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed')),
    generation  TEXT,
    watermark   TEXT,
    checkpoint  TEXT,
    documents   INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    started_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    finished_at TEXT,
    created     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modified    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX etl_run_target_idx ON etl_run (target, state, id);
