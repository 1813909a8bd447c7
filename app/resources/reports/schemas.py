"""Schemas of the reports resource: a request, a job, rows, report types."""

import marshmallow as ma
from flask import url_for

STATUSES = ("queued", "running", "completed", "error")


class ReportRequestSchema(ma.Schema):
    """A report by name, and its parameters beside the name."""

    class Meta:
        """Keep the fields it does not name."""

        unknown = ma.INCLUDE

    report_name = ma.fields.String(
        required=True,
        metadata={"description": "A name from `GET /api/v1/report-types`."},
    )


class ReportLinksSchema(ma.Schema):
    """Where to follow a job."""

    self = ma.fields.String(required=True)
    results = ma.fields.String(required=True)
    csv = ma.fields.String(required=True)


class ReportJobSchema(ma.Schema):
    """A job: one asked-for report, its state and where its results are."""

    id = ma.fields.Integer(required=True)
    report_name = ma.fields.String(required=True)
    status = ma.fields.String(
        required=True,
        metadata={"enum": list(STATUSES)},
    )
    report_date = ma.fields.String(
        required=True, metadata={"description": "When it was asked for (UTC)."}
    )
    parameters = ma.fields.Dict(
        required=True, metadata={"description": "As loaded, defaults included."}
    )
    reused = ma.fields.Boolean(
        required=True,
        metadata={
            "description": "Whether the finished result of the same report with"
            " the same parameters on unchanged data was reused."
        },
    )
    started_at = ma.fields.String(allow_none=True)
    completed_at = ma.fields.String(
        allow_none=True, metadata={"description": "When it completed or failed."}
    )
    row_count = ma.fields.Integer(
        allow_none=True, metadata={"description": "Rows of a completed job."}
    )
    attempts = ma.fields.Integer(
        required=True, metadata={"description": "Runs started (a killed one counts)."}
    )
    message = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "What went wrong (error), or that a result was reused."
        },
    )
    links = ma.fields.Method("job_links", dump_only=True)

    def job_links(self, job):
        """Return the URLs of the job, its rows and its CSV."""
        return {
            "self": url_for("reports.ReportJobViews", job_id=job.id),
            "results": url_for("reports.ReportResultsViews", job_id=job.id),
            "csv": url_for("reports.ReportCsvViews", job_id=job.id),
        }

    @ma.post_dump(pass_original=True)
    def add_message(self, data, job, **kwargs):
        """Say what a user can do about an error, or that a result was reused."""
        if job.status == "error":
            data["message"] = job.error
        elif job.reused:
            data["message"] = (
                "The finished result of the same report with the same parameters"
                " on unchanged data was reused."
            )
        else:
            data["message"] = None
        return data


class ReportRowSchema(ma.Schema):
    """One row of a result: its report's columns and their values."""

    class Meta:
        """Keep the fields it does not name."""

        unknown = ma.INCLUDE

    @ma.post_dump(pass_original=True)
    def keep_row(self, data, row, **kwargs):
        """Answer the row as it is: its columns depend on the report."""
        return row


class ReportTypeSchema(ma.Schema):
    """A report that can be asked for."""

    name = ma.fields.String(required=True)
    aliases = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "Other names it may be asked for by."},
    )
    description = ma.fields.String(required=True)
    parameters = ma.fields.Dict(
        required=True, metadata={"description": "The JSON schema of its parameters."}
    )
    columns = ma.fields.List(ma.fields.String(), required=True)
