"""Reports that exist only in the tests: one that waits at a gate, one that raises.

``gated`` writes ``started-<n>`` into its ``gate`` folder at each run, then waits
until ``release`` appears there: a test kills its worker while it waits.
"""

import threading
from pathlib import Path

import marshmallow as ma

from reports.parameters import ReportParametersSchema
from reports.registry import Report, discover


class GateSchema(ma.Schema):
    """The folder the gated report waits in."""

    gate = ma.fields.String(required=True)


class GatedParametersSchema(ReportParametersSchema, GateSchema):
    """A gate, and the usual limit."""


def gated_rows(conn, parameters):
    """Record the run, wait for the release, then answer one row per film."""
    gate = Path(parameters["gate"])
    runs = len(list(gate.glob("started-*")))
    (gate / f"started-{runs + 1}").touch()
    pause = threading.Event()
    while not (gate / "release").exists():
        pause.wait(0.02)
    yield from conn.execute("SELECT id, title FROM film ORDER BY id")


def broken_rows(conn, parameters):
    """Raise, as a report with a bug would."""
    raise RuntimeError("secret internal detail of a broken report")
    yield


GATED = Report(
    name="gated",
    description="Waits at a gate, then lists the films.",
    parameters=GatedParametersSchema,
    columns=("id", "title"),
    rows=gated_rows,
)
BROKEN = Report(
    name="broken",
    description="Always raises.",
    parameters=ReportParametersSchema,
    columns=("id",),
    rows=broken_rows,
)


def with_extra_reports():
    """The registered reports and these two."""
    return (*discover().values(), GATED, BROKEN)
