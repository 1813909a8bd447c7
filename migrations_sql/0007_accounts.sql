-- Accounts: a username (unique without regard to case: `username_key` is its
-- case-folded form), an Argon2id password hash, and a role. Tokens revoked by a
-- logout are kept until they would have expired anyway, when Redis does not
-- keep them.

CREATE TABLE account (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL,
    username_key  TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    created       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modified      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE revoked_token (
    jti        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX revoked_token_expiry_idx ON revoked_token (expires_at);
