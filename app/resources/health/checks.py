"""Readiness checks: whether each dependency of the API is reachable right now.

Each check returns a short detail on success and raises on failure; the message
of the exception is what the probe reports.
"""

from flask import current_app

from app import caching
from catalogue.db import DatabaseError, open_catalogue
from catalogue.migrations import MigrationError, applied_versions, pending
from catalogue.search import SearchError, get_search


class NotReady(Exception):
    """A dependency is not reachable or not usable."""


def check_database():
    """Check that the catalogue database can be reached and is migrated."""
    config = current_app.config
    try:
        # Read-only, and never created: a probe must not make an empty database.
        conn = open_catalogue(config, readonly=True)
    except DatabaseError as exc:
        raise NotReady(f"cannot open the database: {exc}") from None
    try:
        behind = pending(conn)
        applied = len(applied_versions(conn))
    except (*DatabaseError, MigrationError) as exc:
        raise NotReady(f"not migrated (run flask db upgrade): {exc}") from None
    finally:
        conn.close()
    if behind:
        raise NotReady(f"{len(behind)} migrations pending: run flask db upgrade")
    return f"{conn.engine}, {applied} migrations applied"


def check_search():
    """Check that the search engine answers."""
    try:
        backend = get_search()
        backend.ping()
    except SearchError as exc:
        raise NotReady(str(exc)) from None
    return backend.describe()


def check_cache():
    """Check that the response cache accepts a write."""
    try:
        caching.ping()
    except Exception as exc:  # any failure, whatever the cache backend raises
        raise NotReady(f"{type(exc).__name__}: {exc}") from None
    return "redis" if current_app.config["REDIS_URL"] else "in-process"


CHECKS = {"database": check_database, "search": check_search, "cache": check_cache}


def run_checks():
    """Run every check; return ``(all_ok, {name: {"ok": bool, "detail": str}})``."""
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = {"ok": True, "detail": check()}
        except NotReady as exc:
            results[name] = {"ok": False, "detail": str(exc)}
    return all(result["ok"] for result in results.values()), results
