"""The task: run one job in the worker, its rows stored in batches.

A job is claimed (queued → running, one more attempt), its report's query
runs on a read connection in one read transaction (so its rows and the data
version agree), the rows are written a chunk per transaction, and the job is
completed. Meanwhile a thread beats the job's heart; a worker killed with
SIGKILL stops beating, and a sweeping worker notices (``reports.worker``).
A report that raises ends the job in error, with a message and no traceback
(which goes to the worker's log).
"""

import json
import logging
import threading
from contextlib import closing
from itertools import islice

from catalogue.db import open_catalogue, snapshot
from reports import jobs
from reports.registry import get_registry

logger = logging.getLogger("reports")


def failed_message(job_id):
    """Return what a user reads of a job whose report raised."""
    return (
        f"The report failed on our side; quote job {job_id} when you report it,"
        " or try it again later."
    )


def open_connection(config, readonly=False):
    """Open a worker's own connection to the catalogue database.

    A report's query may run long: it has no statement timeout.
    """
    return open_catalogue(
        config,
        readonly=readonly,
        statement_timeout=0,
        write_timeout=config["REPORT_WRITE_TIMEOUT"],
    )


class Heartbeat:
    """A thread that marks a running job alive every ``interval`` seconds."""

    def __init__(self, config, job, interval):
        self.config, self.job, self.interval = config, job, interval
        self.stopped = threading.Event()
        self.thread = threading.Thread(
            target=self._beat, name=f"heartbeat-{job.id}", daemon=True
        )

    def _beat(self):
        conn = open_connection(self.config)
        try:
            while not self.stopped.wait(self.interval):
                try:
                    jobs.heartbeat(conn, self.job.id, self.job.attempts)
                except Exception:  # a missed beat is retried at the next one
                    logger.warning("heartbeat of job %s failed", self.job.id)
        finally:
            conn.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopped.set()
        self.thread.join()


def run_job(app, job_id):
    """Run the job ``job_id`` if it is still queued; record how it ended."""
    config = app.config
    conn = open_connection(config)
    try:
        job = jobs.claim(conn, job_id, config["REPORT_MAX_ATTEMPTS"])
        if job is None:
            return
        report = get_registry(app).get(job.report_name)
        if report is None:
            jobs.fail(conn, job.id, "This report no longer exists.", job.attempts)
            return
        interval = config["REPORT_HEARTBEAT_TIMEOUT"] / 3
        with app.app_context(), Heartbeat(config, job, interval):
            try:
                result_id, count = produce(config, conn, report, job)
            except Exception:
                logger.exception("report job %s (%s) failed", job.id, report.name)
                jobs.fail(conn, job.id, failed_message(job.id), job.attempts)
                return
        jobs.complete(conn, job, result_id, count)
        logger.info("report job %s (%s): %d rows", job.id, report.name, count)
    finally:
        conn.close()


def produce(config, conn, report, job):
    """Run the report's query and store its rows; return ``(result_id, rows)``."""
    with closing(open_connection(config, readonly=True)) as reader, snapshot(reader):
        data_version = report.data_version(reader)
        result_id = jobs.start_result(conn, job, report.columns, data_version)
        rows = report.rows(reader, job.parameters)
        if not report.json_rows:
            rows = (json.dumps(list(row), ensure_ascii=False) for row in rows)
        count = 0
        while chunk := list(islice(rows, jobs.CHUNK_ROWS)):
            jobs.write_chunk(conn, result_id, count // jobs.CHUNK_ROWS, chunk)
            count += len(chunk)
    return result_id, count
