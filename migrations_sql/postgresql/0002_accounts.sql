-- Accounts (migrations_sql/0007_accounts.sql, 0015 and 0016): a username kept in
-- NFKC, unique by `username_key` (NFKC_Casefold) and checked for look-alikes by
-- `username_skeleton` (Unicode's confusables), both computed by the service
-- (catalogue/usernames.py); an Argon2id password hash and a role. `public_id`,
-- a random UUID, is what tokens name; ids come from `account_id_sequence`,
-- which never goes back. The tokens revoked by a logout (and the log-ins whose
-- refresh tokens are revoked, `family:<id>`) until they would expire.

CREATE TABLE account (
    id                bigint PRIMARY KEY,
    public_id         text COLLATE "C" NOT NULL UNIQUE,
    username          text COLLATE "C" NOT NULL,
    username_key      text COLLATE "C" NOT NULL UNIQUE,
    username_skeleton text COLLATE "C" NOT NULL,
    password_hash     text COLLATE "C" NOT NULL,
    role              text COLLATE "C" NOT NULL DEFAULT 'user'
                      CHECK (role IN ('user', 'admin')),
    created           text COLLATE "C" NOT NULL DEFAULT utc_now(),
    modified          text COLLATE "C" NOT NULL DEFAULT utc_now()
);
CREATE INDEX account_username_skeleton_idx ON account (username_skeleton);

-- A registration takes the next id first, its row locked until the commit, so
-- that of two registrations at once the second checks the names after the first.
CREATE TABLE account_id_sequence (
    id      integer PRIMARY KEY CHECK (id = 1),
    next_id bigint NOT NULL
);
INSERT INTO account_id_sequence (id, next_id) VALUES (1, 1);

CREATE TABLE revoked_token (
    jti        text COLLATE "C" PRIMARY KEY,
    expires_at bigint NOT NULL
);
CREATE INDEX revoked_token_expiry_idx ON revoked_token (expires_at);
