-- Usernames that read alike are one name. `username_key`, the form a username
-- is unique by, was its case-folded text; now it is NFKC_Casefold (NFKC, then
-- case-folded), so fullwidth `ｓｅｃａｄｍｉｎ` is `secadmin`. An existing
-- account whose new key another account has, or would have, keeps its old key
-- (it still logs in with its name as registered). `username_skeleton` is what a
-- username looks like (Unicode's confusables, UTS #39: `secаdmin` with a
-- Cyrillic а reads `secadmin`): a new name whose skeleton an account has is
-- refused. Not unique, since accounts made before may share one. Both are
-- computed by the SQL functions `username_key` and `username_skeleton`, which
-- the service registers (catalogue/usernames.py).

UPDATE account SET username_key = username_key(username)
WHERE NOT EXISTS (
    SELECT 1 FROM account AS other
    WHERE other.id <> account.id
      AND (other.username_key = username_key(account.username)
           OR username_key(other.username) = username_key(account.username))
);

ALTER TABLE account ADD COLUMN username_skeleton TEXT NOT NULL DEFAULT '';
UPDATE account SET username_skeleton = username_skeleton(username);
CREATE INDEX account_username_skeleton_idx ON account (username_skeleton);
