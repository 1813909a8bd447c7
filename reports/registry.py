"""The registry of reports: each one a module of ``reports.definitions``.

A module that defines ``REPORT = Report(...)`` is a report, found by name with
no change to any other code. A report has a marshmallow schema of its
parameters (every report also takes ``limit``), its columns, and ``rows``: a
function of a read connection and the loaded parameters that returns the rows,
in order, as tuples. The catalogue's ``data_version`` tells whether the data a
report reads changed since an earlier result; a report that reads other tables
passes a function of its own.
"""

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

import reports.definitions


def catalogue_version(conn):
    """Return the catalogue's fingerprint: it changes with every write to it.

    Triggers keep ``modified`` current on films (their genres and people count
    as the film), genres and persons, and deletions leave tombstones; each
    maximum is one step down an index.
    """
    row = conn.execute(
        "SELECT (SELECT max(modified) FROM film),"
        " (SELECT max(modified) FROM genre),"
        " (SELECT max(modified) FROM person),"
        " (SELECT max(deleted_at) FROM tombstone)"
    ).fetchone()
    return "|".join("" if value is None else str(value) for value in row)


@dataclass(frozen=True)
class Report:
    """A report: its name, what it answers, its parameters and its query."""

    name: str
    description: str
    parameters: type
    columns: tuple
    rows: Callable
    data_version: Callable = catalogue_version
    # True when ``rows`` yields each row as the text of a JSON array, built by
    # its SQL (json_array): the worker then stores it without decoding it.
    json_rows: bool = False
    # Other names it is asked for by (a spelling of the brief, say).
    aliases: tuple = ()

    def json_schema(self):
        """Return the JSON schema of the report's parameters, nested parts inline."""
        spec = APISpec(
            "report", "1", "3.0.3", plugins=[MarshmallowPlugin(lambda schema: None)]
        )
        converter = spec.plugins[0].converter
        return converter.schema2jsonschema(self.parameters())


def discover(package=reports.definitions):
    """Return the reports of ``package``'s modules, by name, in name order."""
    found = {}
    for module_info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        report = getattr(module, "REPORT", None)
        if isinstance(report, Report):
            if report.name in found:
                raise RuntimeError(f"two reports are called {report.name!r}")
            found[report.name] = report
    return dict(sorted(found.items()))


def get_registry(app):
    """Return the reports of ``app``: ``{name: Report}``."""
    return app.extensions["reports"]


def find_report(app, name):
    """Return the report of ``app`` called ``name`` or one of its aliases, or None."""
    reports = get_registry(app)
    if name in reports:
        return reports[name]
    return next((r for r in reports.values() if name in r.aliases), None)


def init_app(app):
    """Give the app its reports: those discovered, or the ``REPORTS`` it was made with.

    ``REPORTS`` is a factory argument, not an environment setting: a test app
    adds a report of its own with it.
    """
    reports_given = app.config.get("REPORTS")
    app.extensions["reports"] = (
        {report.name: report for report in reports_given}
        if reports_given is not None
        else discover()
    )
