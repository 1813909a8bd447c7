-- Tokens name an account by an identity that is never given again. `id` is an
-- INTEGER PRIMARY KEY, which SQLite hands out again once the highest row is
-- deleted: a new account then had the id, and the tokens, of a deleted one.
-- `public_id` is a random UUID (version 4) made for each account, the subject
-- of its tokens; the service always writes it (the empty default only lets
-- the column be added). New ids come from `account_id_sequence`, which only
-- grows, so no row left behind by a deletion (collections, report jobs) can
-- ever belong to a new account.

ALTER TABLE account ADD COLUMN public_id TEXT NOT NULL DEFAULT '';
UPDATE account SET public_id = lower(
    hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4'
    || substr(hex(randomblob(2)), 2) || '-'
    || substr('89ab', 1 + abs(random() % 4), 1) || substr(hex(randomblob(2)), 2)
    || '-' || hex(randomblob(6))
);
CREATE UNIQUE INDEX account_public_id_idx ON account (public_id);

CREATE TABLE account_id_sequence (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    next_id INTEGER NOT NULL
);
INSERT INTO account_id_sequence (id, next_id)
SELECT 1, coalesce(max(id), 0) + 1 FROM account;
