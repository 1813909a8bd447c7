"""Routes of reports: ``/api/v1/reports`` and ``/api/v1/report-types``.

The web side only records a job and enqueues its id; the report runs in
``flask reports worker``, never here. A user sees their own jobs, an admin
everyone's; a job is fetched by its id and its owner in one query, so someone
else's job is simply not found.
"""

import re
import time

import marshmallow as ma
from flask import current_app, request, url_for
from flask.views import MethodView
from flask_jwt_extended import current_user
from flask_smorest import abort
from werkzeug.wrappers import Response

from app.errors import ErrorSchema, retry_later_doc
from app.extensions.smorest import Blueprint
from app.resources.reports import export
from app.resources.reports.schemas import (
    ReportJobSchema,
    ReportRequestSchema,
    ReportRowSchema,
    ReportTypeSchema,
)
from catalogue.db import get_db
from reports import jobs
from reports.queue import enqueue_job
from reports.registry import find_report, get_registry

# Seconds a client should wait before polling an unfinished job again.
POLL_AFTER = 2
# Seconds between two looks at a job a request waits for (Prefer: wait=N).
WAIT_POLL = 0.1
PREFER_PARAMETER = {
    "in": "header",
    "name": "Prefer",
    "required": False,
    "schema": {"type": "string"},
    "description": "`wait=N` (RFC 7240): answer once the job has finished, or"
    " after N seconds, at most REPORT_MAX_WAIT (10 by default), whichever comes"
    " first; `Preference-Applied` says the wait applied. Other preferences are"
    " ignored.",
}
PREFERENCE_APPLIED = {
    "description": "`wait=N`: the wait applied, when `Prefer: wait` was sent.",
    "schema": {"type": "string"},
}
# What the reports are sometimes asked to filter by, which the catalogue has no
# data for: each a 422 saying so.
UNSERVABLE = {
    "movie_released_at": "movie_released_at cannot be served: the catalogue holds"
    " no release dates (the legacy data has none).",
    "comment_threshold": "comment_threshold cannot be served: the catalogue holds"
    " no comments (the legacy data has none).",
}
# Seconds to wait before asking again with too many jobs of one's own unfinished,
# and with the queue full.
TOO_MANY_RETRY_AFTER = 5
QUEUE_FULL_RETRY_AFTER = 30
JOB_ID_PARAMETER = {"in": "path", "name": "job_id", "description": "Job id."}
# The largest id a job can have (SQLite's INTEGER): a larger one is a 404.
MAX_JOB_ID = 2**63 - 1
NOT_FOUND_DOC = {
    "schema": ErrorSchema,
    "description": "No job of yours has this id.",
}
NOT_COMPLETED_DOC = {
    "schema": ErrorSchema,
    "description": "The job has not completed (queued, running or in error).",
}
RETRY_AFTER = {
    "description": "While the job is queued or running: seconds before polling again.",
    "schema": {"type": "integer"},
}

blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/api/v1",
    personal=True,
    description="Reports: asked for by name, run in the background, read when done.",
)


def _owner_filter():
    """Return whose jobs the caller may see: their own, or None (all) for an admin."""
    return None if current_user.is_admin else current_user.id


def job_or_404(job_id):
    """Return the caller's job with this id (any job for an admin), or answer 404."""
    job = jobs.get_job(get_db(), job_id, _owner_filter())
    if job is None:
        abort(404, message=f"No report job {job_id} of yours exists.")
    return job


def completed_or_409(job):
    """Answer 409 unless the job completed."""
    if job.status != "completed":
        abort(
            409,
            message=f"Report job {job.id} is {job.status}, not completed: its"
            " results can be read once GET on the job says completed.",
            headers={"Retry-After": str(POLL_AFTER)} if not job.finished else None,
        )


def refuse_query_parameters():
    """Answer 422 for a query string on ``POST``: it would be silently ignored."""
    if not request.args:
        return
    names = sorted(request.args)
    paging = {"page", "page_size"} & set(names)
    message = (
        "POST /api/v1/reports takes no query parameters; send the report's"
        " parameters in the JSON body."
    )
    if paging:
        message += (
            " page and page_size page a finished job's rows: GET"
            " /api/v1/reports/<id>/results?page=1&page_size=10."
        )
    abort(422, message=message, errors={"query": {name: [message] for name in names}})


def refuse_what_the_data_cannot_serve(name, body):
    """Answer 422 for an ask the catalogue has no data for, saying so."""
    if "comment" in name.lower():
        message = (
            "No report is about comments: the catalogue holds no comments (the"
            " legacy data has none)."
        )
        abort(422, message=message, errors={"json": {"report_name": [message]}})
    unservable = {field: UNSERVABLE[field] for field in body if field in UNSERVABLE}
    if unservable:
        abort(
            422,
            message=" ".join(unservable.values()),
            errors={"json": {field: [text] for field, text in unservable.items()}},
        )


def load_request(body):
    """Return ``(report, parameters)`` of a request, or answer 422 naming what is wrong."""
    name = body.pop("report_name")
    refuse_what_the_data_cannot_serve(name, body)
    report = find_report(current_app, name)
    if report is None:
        known = ", ".join(get_registry(current_app))
        message = f"Unknown report_name {name!r}; the reports are: {known}."
        abort(422, message=message, errors={"json": {"report_name": [message]}})
    try:
        parameters = report.parameters().load(body)
    except ma.ValidationError as exc:
        abort(422, errors={"json": exc.messages})
    return report, parameters


def unfinished_headers(job):
    """Retry-After while the job is not finished."""
    return {} if job.finished else {"Retry-After": str(POLL_AFTER)}


def preferred_wait():
    """Return the seconds of the request's ``Prefer: wait=N`` (RFC 7240), capped.

    None without one; a preference this service cannot read is ignored, as
    RFC 7240 asks. The cap is ``REPORT_MAX_WAIT``.
    """
    for header in request.headers.getlist("Prefer"):
        for preference in header.split(","):
            token = preference.split(";", 1)[0]
            name, _, value = token.partition("=")
            value = value.strip().strip('"')
            if name.strip().lower() == "wait" and re.fullmatch(r"[0-9]{1,9}", value):
                return min(int(value), current_app.config["REPORT_MAX_WAIT"])
    return None


def wait_for(job, seconds):
    """Return the job once it has finished, or as it is after ``seconds``.

    Each look is one short query; in between, the request sleeps, which
    under gevent lets the worker answer its other requests.
    """
    deadline = time.monotonic() + seconds
    while not job.finished:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        time.sleep(min(WAIT_POLL, remaining))
        job = jobs.get_job(get_db(), job.id) or job
    return job


def waited(job):
    """Return the job after the wait the client prefers, and the headers saying so."""
    seconds = preferred_wait()
    if seconds is None:
        return job, {}
    return wait_for(job, seconds), {"Preference-Applied": f"wait={seconds}"}


@blp.route("/reports")
class ReportViews(MethodView):
    """The caller's report jobs."""

    @blp.login_required()
    @blp.arguments(ReportRequestSchema)
    @blp.response(
        202,
        ReportJobSchema,
        headers={
            "Location": {"description": "The job.", "schema": {"type": "string"}},
            "Retry-After": RETRY_AFTER,
            "Preference-Applied": PREFERENCE_APPLIED,
        },
    )
    @blp.doc(parameters=[PREFER_PARAMETER])
    @blp.alt_response(
        422, schema=ErrorSchema, description="Unknown report or bad parameters."
    )
    @blp.alt_response(
        429,
        **retry_later_doc(
            "You have REPORT_JOBS_PER_USER (5) report jobs queued or running"
            " already; ask again once one has finished (a reused result is"
            " always answered)."
        ),
    )
    @blp.alt_response(
        503,
        **retry_later_doc(
            "The report queue holds as many jobs as it may (REPORT_QUEUE_LIMIT);"
            " ask again later."
        ),
    )
    def post(self, body):
        """Ask for a report; it runs in the background (or a finished identical result is reused)."""
        refuse_query_parameters()
        report, parameters = load_request(body)
        conn = get_db()
        config = current_app.config
        try:
            job, reused = jobs.submit(
                conn,
                current_user.id,
                report.name,
                parameters,
                report.data_version(conn),
                config["REPORT_RESULT_TTL"],
                per_owner=config["REPORT_JOBS_PER_USER"],
                queue_limit=config["REPORT_QUEUE_LIMIT"],
            )
        except jobs.TooManyJobs as exc:
            abort(
                429,
                message=f"You have {exc.allowed} report jobs queued or running;"
                " ask again once one has finished, or delete a queued one.",
                headers={"Retry-After": str(TOO_MANY_RETRY_AFTER)},
            )
        except jobs.QueueFull:
            abort(
                503,
                message="The report queue is full; ask again in a little while.",
                headers={"Retry-After": str(QUEUE_FULL_RETRY_AFTER)},
            )
        if not reused:
            try:
                enqueue_job(current_app._get_current_object(), job.id)
            except Exception:
                jobs.fail(conn, job.id, "The job queue could not take this report.")
                raise
        job, preference = waited(job)
        location = url_for("reports.ReportJobViews", job_id=job.id)
        return job, {"Location": location, **unfinished_headers(job), **preference}

    @blp.login_required()
    @blp.response(200, ReportJobSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """List your report jobs (an admin: everyone's), newest first."""
        found, total = jobs.list_jobs(
            get_db(),
            _owner_filter(),
            pagination_parameters.first_item,
            pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return found


@blp.route(f"/reports/<int(max={MAX_JOB_ID}):job_id>", parameters=[JOB_ID_PARAMETER])
class ReportJobViews(MethodView):
    """One report job."""

    @blp.login_required()
    @blp.response(
        200,
        ReportJobSchema,
        headers={"Retry-After": RETRY_AFTER, "Preference-Applied": PREFERENCE_APPLIED},
    )
    @blp.alt_response(404, **NOT_FOUND_DOC)
    @blp.doc(parameters=[PREFER_PARAMETER])
    def get(self, job_id):
        """Get a report job: its status, and when completed its row count."""
        job, preference = waited(job_or_404(job_id))
        return job, {**unfinished_headers(job), **preference}

    @blp.login_required()
    @blp.response(204)
    @blp.alt_response(404, **NOT_FOUND_DOC)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="The job is running; it cannot be cancelled.",
    )
    def delete(self, job_id):
        """Cancel a queued report job, or delete a finished one and its results."""
        status = jobs.delete(get_db(), job_id, _owner_filter())
        if status is None:
            abort(404, message=f"No report job {job_id} of yours exists.")
        if status == "running":
            abort(
                409,
                message=f"Report job {job_id} is running and cannot be cancelled;"
                " delete it once it has finished.",
            )


@blp.route(
    f"/reports/<int(max={MAX_JOB_ID}):job_id>/results", parameters=[JOB_ID_PARAMETER]
)
class ReportResultsViews(MethodView):
    """The rows of a completed report job."""

    @blp.login_required()
    @blp.response(200, ReportRowSchema(many=True))
    @blp.alt_response(404, **NOT_FOUND_DOC)
    @blp.alt_response(409, **NOT_COMPLETED_DOC)
    @blp.paginate()
    def get(self, job_id, pagination_parameters):
        """List the rows of a completed report job, in the report's order."""
        job = job_or_404(job_id)
        completed_or_409(job)
        conn = get_db()
        columns = jobs.result_columns(conn, job.result_id)
        rows = jobs.result_rows(
            conn,
            job.result_id,
            pagination_parameters.first_item,
            pagination_parameters.page_size,
        )
        pagination_parameters.item_count = job.row_count
        return [dict(zip(columns, row, strict=True)) for row in rows]


@blp.route(
    f"/reports/<int(max={MAX_JOB_ID}):job_id>/results.csv",
    parameters=[JOB_ID_PARAMETER],
)
class ReportCsvViews(MethodView):
    """The rows of a completed report job, as a CSV file."""

    @blp.login_required()
    @blp.response(
        200,
        {"type": "string", "format": "binary"},
        content_type="text/csv",
        description="A header row, then every row; RFC 4180 quoting, UTF-8.",
    )
    @blp.alt_response(404, **NOT_FOUND_DOC)
    @blp.alt_response(409, **NOT_COMPLETED_DOC)
    def get(self, job_id):
        """Download every row of a completed report job as CSV, streamed."""
        job = job_or_404(job_id)
        completed_or_409(job)
        body = export.csv_chunks(current_app.config, job.result_id)
        return Response(
            body,
            content_type="text/csv; charset=utf-8; header=present",
            headers={
                "Content-Disposition": (
                    f'attachment; filename="{job.report_name}-{job.id}.csv"'
                ),
            },
        )


@blp.route("/report-types")
class ReportTypeViews(MethodView):
    """The reports that can be asked for."""

    @blp.login_required()
    @blp.response(200, ReportTypeSchema(many=True))
    def get(self):
        """List every report: its name, what it answers and its parameters' JSON schema."""
        return [
            {
                "name": report.name,
                "aliases": list(report.aliases),
                "description": report.description,
                "parameters": report.json_schema(),
                "columns": list(report.columns),
            }
            for report in get_registry(current_app).values()
        ]


def _request_component(spec, report):
    """Register the schema of a request for ``report``; return its reference."""
    name = "".join(part.title() for part in report.name.split("-")) + "Request"
    if name not in spec.components.schemas:
        schema = type(
            name,
            (report.parameters,),
            {
                "report_name": ma.fields.String(
                    required=True,
                    validate=ma.validate.OneOf([report.name]),
                    metadata={"enum": [report.name]},
                ),
                "__doc__": report.description,
            },
        )
        spec.components.schema(name, schema=schema)
    return f"#/components/schemas/{name}"


def document_report_requests(doc, doc_info, *, spec, app, method, **kwargs):
    """Document the body of ``POST /reports`` as one of the registered reports."""
    content = doc.get("requestBody", {}).get("content", {}).get("application/json")
    if not content or content.get("schema") is not ReportRequestSchema:
        return doc
    refs = {
        report.name: _request_component(spec, report)
        for report in get_registry(app).values()
    }
    content["schema"] = {
        "oneOf": [{"$ref": ref} for ref in refs.values()],
        "discriminator": {"propertyName": "report_name", "mapping": refs},
    }
    return doc


blp._prepare_doc_cbks.append(document_report_requests)
