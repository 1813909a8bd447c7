"""The migration files of each engine, and how a ledger of applied ones is read."""

import hashlib
import time
from pathlib import Path

import click

from catalogue.db import transaction

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


def apply_each(conn, todo, run_script, errors, echo=None, prepare=None):
    """Apply the migrations ``todo``, each in its own transaction; return them.

    ``run_script(conn, text)`` runs one file; ``prepare(version, path)``, if
    given, runs before its transaction. A migration that raises one of
    ``errors`` is rolled back whole and raises MigrationError; earlier ones
    stay applied, each recorded in ``schema_migrations``.
    """
    applied = []
    for version, path in todo:
        started = time.perf_counter()
        try:
            if prepare is not None:
                prepare(version, path)
            with transaction(conn):
                run_script(conn, path.read_text(encoding="utf-8"))
                conn.execute(
                    "INSERT INTO schema_migrations (version, checksum) VALUES (?, ?)",
                    (version, checksum(path)),
                )
        except errors as exc:
            raise MigrationError(
                f"migration {version} failed and was rolled back: {exc}"
            ) from None
        applied.append(version)
        if echo:
            echo(f"applied {version} in {time.perf_counter() - started:.1f} s")
    return applied
