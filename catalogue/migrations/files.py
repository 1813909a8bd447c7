"""The migration files of each engine, and how a ledger of applied ones is read."""

import hashlib
from pathlib import Path

import click

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations_sql"
POSTGRESQL_DIR = MIGRATIONS_DIR / "postgresql"


class MigrationError(click.ClickException):
    """A migration cannot be applied; nothing was changed."""


def discover(directory=MIGRATIONS_DIR):
    """Return ``(version, path)`` pairs for the migration files, in order."""
    files = sorted(Path(directory).glob("*.sql"))
    return [(path.stem, path) for path in files]


def checksum(path):
    """Return the SHA-256 of a migration file, to detect edits after it ran."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def not_applied(done, directory):
    """Return the files of ``directory`` that ``done`` ({version: checksum}) lacks.

    Refuses (MigrationError) if a file was edited after it was applied.
    """
    todo = []
    for version, path in discover(directory):
        if version in done:
            if done[version] != checksum(path):
                raise MigrationError(
                    f"migration {version} changed after it was applied; "
                    "restore the file or start from the legacy database again"
                )
            continue
        todo.append((version, path))
    return todo
