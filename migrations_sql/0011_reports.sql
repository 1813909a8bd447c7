-- Reports run as background jobs (`flask reports worker`). A job is one ask of
-- one user; its rows live in a result, which identical asks on unchanged data
-- share (`data_version` is the catalogue's fingerprint when the report ran).
-- Times are UTC, millisecond ISO 8601, written by the service.

CREATE TABLE report_result (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    report_name    TEXT NOT NULL,
    parameters_key TEXT NOT NULL,
    data_version   TEXT NOT NULL,
    columns        TEXT NOT NULL,
    row_count      INTEGER NOT NULL DEFAULT 0,
    chunk_rows     INTEGER NOT NULL,
    complete       INTEGER NOT NULL DEFAULT 0 CHECK (complete IN (0, 1)),
    created        TEXT NOT NULL
);
CREATE INDEX report_result_reuse_idx
    ON report_result (report_name, parameters_key, data_version)
    WHERE complete = 1;

-- The rows of a result, a chunk of consecutive rows at a time: `rows` is a JSON
-- array of rows, each a JSON array in the order of the result's columns. Chunk
-- n holds rows n x chunk_rows to (n + 1) x chunk_rows - 1; a page reads one or
-- two chunks, and a report of 200,000 rows is 200 inserts, not 200,000.
CREATE TABLE report_chunk (
    result_id INTEGER NOT NULL,
    chunk     INTEGER NOT NULL,
    rows      TEXT NOT NULL,
    PRIMARY KEY (result_id, chunk)
) WITHOUT ROWID;

CREATE TABLE report_job (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id       INTEGER NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    report_name    TEXT NOT NULL,
    parameters     TEXT NOT NULL,
    parameters_key TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'running', 'completed', 'error')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    reused         INTEGER NOT NULL DEFAULT 0 CHECK (reused IN (0, 1)),
    error          TEXT,
    result_id      INTEGER,
    report_date    TEXT NOT NULL,
    started_at     TEXT,
    heartbeat_at   TEXT,
    completed_at   TEXT
);
CREATE INDEX report_job_owner_idx ON report_job (owner_id, id);
CREATE INDEX report_job_status_idx ON report_job (status, heartbeat_at);
CREATE INDEX report_job_completed_idx ON report_job (completed_at);
CREATE INDEX report_job_result_idx ON report_job (result_id);
