"""The accounts' SQL: each read and each write one named function, raw SQL."""

import time
import uuid
from dataclasses import dataclass

from catalogue import usernames
from catalogue.db import IntegrityError, get_db, transaction, utc_now

ROLES = ("user", "admin")


class UsernameTaken(Exception):
    """Another account has this username, whatever its case and width."""


class UsernameLookalike(UsernameTaken):
    """Another account's username reads like this one (confusable characters)."""


@dataclass(frozen=True)
class Account:
    """One account, without its password hash."""

    id: int
    public_id: str
    username: str
    role: str
    created: str

    @property
    def is_admin(self):
        """Whether the account may edit the catalogue."""
        return self.role == "admin"


_ACCOUNT_COLUMNS = "id, public_id, username, role, created"


def username_key(username):
    """Return the form of ``username`` that uniqueness is checked on."""
    return usernames.key(username)


def create_account(username, password_hash, role="user"):
    """Insert an account; return it. UsernameTaken if the name is in use.

    The name is kept in its NFKC form; UsernameLookalike (a UsernameTaken) if
    it reads like another account's name (``catalogue.usernames``).

    Its id is the next of a sequence that never goes back (never one a deleted
    account had), its public id a new random UUID: the subject of its tokens.
    """
    public_id = str(uuid.uuid4())
    username = usernames.shown(username)
    skeleton = usernames.skeleton(username)
    try:
        with transaction() as conn:
            # The id first: its row is locked until the commit, so of two
            # registrations at once the second checks the names after the first.
            (account_id,) = conn.execute(
                "UPDATE account_id_sequence SET next_id = next_id + 1 WHERE id = 1"
                " RETURNING next_id - 1"
            ).fetchone()
            # The same name in other letters is taken; only another one reads alike.
            lookalike = conn.execute(
                "SELECT username_key = ? FROM account WHERE username_skeleton = ?"
                " ORDER BY username_key = ? DESC LIMIT 1",
                (username_key(username), skeleton, username_key(username)),
            ).fetchone()
            if lookalike is not None:
                raise (
                    UsernameTaken(username)
                    if lookalike[0]
                    else UsernameLookalike(username)
                )
            conn.execute(
                "INSERT INTO account (id, public_id, username, username_key,"
                " username_skeleton, password_hash, role)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    account_id,
                    public_id,
                    username,
                    username_key(username),
                    skeleton,
                    password_hash,
                    role,
                ),
            )
    except IntegrityError:
        raise UsernameTaken(username) from None
    return get_account(account_id)


def get_account(account_id):
    """Return the account with this id, or None."""
    row = (
        get_db()
        .execute(f"SELECT {_ACCOUNT_COLUMNS} FROM account WHERE id = ?", (account_id,))
        .fetchone()
    )
    return Account(**row) if row else None


def get_account_by_public_id(public_id):
    """Return the account whose public id (its tokens' subject) this is, or None."""
    row = (
        get_db()
        .execute(
            f"SELECT {_ACCOUNT_COLUMNS} FROM account WHERE public_id = ?",
            (public_id,),
        )
        .fetchone()
    )
    return Account(**row) if row else None


def find_credentials(username):
    """Return ``(account, password_hash)`` of the username, or ``(None, None)``."""
    row = (
        get_db()
        .execute(
            f"SELECT {_ACCOUNT_COLUMNS}, password_hash FROM account"
            " WHERE username_key = ?",
            (username_key(username),),
        )
        .fetchone()
    )
    if row is None:
        return None, None
    account = Account(
        row["id"], row["public_id"], row["username"], row["role"], row["created"]
    )
    return account, row["password_hash"]


def set_password_hash(account_id, password_hash):
    """Replace an account's password hash (after a rehash at a new cost)."""
    with transaction() as conn:
        conn.execute(
            "UPDATE account SET password_hash = ?, modified = ? WHERE id = ?",
            (password_hash, utc_now(), account_id),
        )


def set_role(username, role):
    """Give the account of ``username`` the ``role``; return it, or None."""
    with transaction() as conn:
        changed = conn.execute(
            "UPDATE account SET role = ?, modified = ? WHERE username_key = ?",
            (role, utc_now(), username_key(username)),
        ).rowcount
    return find_credentials(username)[0] if changed else None


def list_accounts():
    """Return every account, oldest first."""
    rows = get_db().execute(f"SELECT {_ACCOUNT_COLUMNS} FROM account ORDER BY id")
    return [Account(**row) for row in rows]


def revoke_token(jti, expires_at):
    """Record a revoked token until ``expires_at`` (Unix time); drop expired ones.

    Returns whether it was recorded now: False if it was on the list already.
    """
    with transaction() as conn:
        conn.execute(
            "DELETE FROM revoked_token WHERE expires_at < ?", (int(time.time()),)
        )
        return bool(
            conn.execute(
                "INSERT INTO revoked_token (jti, expires_at) VALUES (?, ?)"
                " ON CONFLICT (jti) DO NOTHING",
                (jti, expires_at),
            ).rowcount
        )


def revoked_among(keys):
    """Return which of ``keys`` (token ids, families) are on the revoked list."""
    placeholders = ", ".join("?" * len(keys))
    rows = get_db().execute(
        f"SELECT jti FROM revoked_token WHERE jti IN ({placeholders})", tuple(keys)
    )
    return {row[0] for row in rows}
