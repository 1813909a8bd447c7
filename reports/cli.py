"""``flask reports worker`` and ``flask reports purge``: the reports' command line."""

import logging
import os

import click
from flask import current_app
from flask.cli import AppGroup

from reports import worker
from reports.queue import get_queue

reports_cli = AppGroup("reports", help="Run the report jobs' worker; purge results.")


@reports_cli.command("worker")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Jobs run at once (default: REPORT_WORKERS).",
)
def worker_command(workers):
    """Run queued report jobs until stopped (SIGINT or SIGTERM)."""
    app = current_app._get_current_object()
    logging.basicConfig(
        level=app.config["LOG_LEVEL"],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    os.nice(app.config["REPORT_NICENESS"])
    workers = workers or app.config["REPORT_WORKERS"]
    click.echo(
        f"report worker: {workers} at once, queue {get_queue(app).describe()}",
        err=True,
    )
    worker.run(app, workers)


@reports_cli.command("purge")
def purge_command():
    """Recover lost jobs and delete expired results now (the worker does it too)."""
    requeued, jobs_purged, results_purged = worker.sweep(
        current_app._get_current_object()
    )
    click.echo(
        f"requeued {len(requeued)} job(s); purged {jobs_purged} job(s)"
        f" and {results_purged} result(s)"
    )
