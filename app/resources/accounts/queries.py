"""The accounts' SQL: each read and each write one named function, raw SQL."""

import time
from dataclasses import dataclass

from catalogue.db import IntegrityError, get_db, transaction, utc_now

ROLES = ("user", "admin")


class UsernameTaken(Exception):
    """Another account has this username, whatever its case."""


@dataclass(frozen=True)
class Account:
    """One account, without its password hash."""

    id: int
    username: str
    role: str
    created: str

    @property
    def is_admin(self):
        """Whether the account may edit the catalogue."""
        return self.role == "admin"


_ACCOUNT_COLUMNS = "id, username, role, created"


def username_key(username):
    """Return the form of ``username`` that uniqueness is checked on."""
    return username.casefold()


def create_account(username, password_hash, role="user"):
    """Insert an account; return it. UsernameTaken if the name is in use."""
    try:
        with transaction() as conn:
            account_id = conn.execute(
                "INSERT INTO account (username, username_key, password_hash, role)"
                " VALUES (?, ?, ?, ?) RETURNING id",
                (username, username_key(username), password_hash, role),
            ).fetchone()[0]
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
    account = Account(row["id"], row["username"], row["role"], row["created"])
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
    """Record a revoked token until ``expires_at`` (Unix time); drop expired ones."""
    with transaction() as conn:
        conn.execute(
            "DELETE FROM revoked_token WHERE expires_at < ?", (int(time.time()),)
        )
        conn.execute(
            "INSERT INTO revoked_token (jti, expires_at) VALUES (?, ?)"
            " ON CONFLICT (jti) DO NOTHING",
            (jti, expires_at),
        )


def is_token_revoked(jti):
    """Whether the token ``jti`` was revoked."""
    row = (
        get_db().execute("SELECT 1 FROM revoked_token WHERE jti = ?", (jti,)).fetchone()
    )
    return row is not None
