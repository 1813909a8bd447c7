"""The jobs' and results' SQL: each read and each write one named function.

The web side records and reads jobs on its request's connection; the worker
claims, runs and finishes them on connections of its own. Every write is one
short transaction (``catalogue.db.transaction``): a result's rows go a chunk at a time.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from catalogue.db import transaction

# Rows in one stored chunk (one insert), and chunks deleted per purge transaction.
CHUNK_ROWS = 1000
PURGE_CHUNKS = 20
_JOB_COLUMNS = (
    "j.id, j.owner_id, j.report_name, j.parameters, j.status, j.attempts, j.reused,"
    " j.error, j.result_id, j.report_date, j.started_at, j.completed_at,"
    " r.row_count"
)
_JOB_FROM = "report_job j LEFT JOIN report_result r ON r.id = j.result_id"


class TooManyJobs(Exception):
    """The owner already has as many jobs queued or running as allowed."""

    def __init__(self, allowed):
        super().__init__(allowed)
        self.allowed = allowed


class QueueFull(Exception):
    """As many jobs as the queue may hold are waiting on it."""

    def __init__(self, allowed):
        super().__init__(allowed)
        self.allowed = allowed


@dataclass(frozen=True)
class Job:
    """One asked-for report: who asked, what, and how far it got."""

    id: int
    owner_id: int
    report_name: str
    parameters: dict
    status: str
    attempts: int
    reused: bool
    error: str
    result_id: int
    report_date: str
    started_at: str
    completed_at: str
    row_count: int

    @property
    def finished(self):
        """Whether the job will not change any more."""
        return self.status in ("completed", "error")


def timestamp(moment=None):
    """Return ``moment`` (default now) as the UTC ISO 8601 text the tables hold."""
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parameters_key(report_name, parameters):
    """Return the key of a report and its loaded parameters: equal asks, equal keys."""
    canonical = json.dumps(
        [report_name, parameters], sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _job(row):
    if row is None:
        return None
    values = dict(row)
    values["parameters"] = json.loads(values["parameters"])
    values["reused"] = bool(values["reused"])
    if values["status"] != "completed":
        values["row_count"] = None
    return Job(**values)


def submit(
    conn,
    owner_id,
    report_name,
    parameters,
    data_version,
    ttl_seconds,
    per_owner=None,
    queue_limit=None,
):
    """Record a job; reuse a finished result of the same ask on the same data.

    Returns ``(job, reused)``: a reused job is completed at once; another is
    queued and must be enqueued. A result older than ``ttl_seconds`` is not
    reused: it is about to be purged. A job that is not reused raises
    TooManyJobs when its owner has ``per_owner`` jobs queued or running, and
    QueueFull when ``queue_limit`` jobs are queued; a reused one costs nothing
    and always passes. Counted in the write transaction that records the job,
    so racing asks cannot pass the bounds together.
    """
    key = parameters_key(report_name, parameters)
    moment = datetime.now(UTC)
    now = timestamp(moment)
    fresh = timestamp(moment - timedelta(seconds=ttl_seconds))
    with transaction(conn):
        result = conn.execute(
            "SELECT id FROM report_result WHERE report_name = ? AND parameters_key = ?"
            " AND data_version = ? AND complete = 1 AND created >= ?"
            " ORDER BY id DESC LIMIT 1",
            (report_name, key, data_version, fresh),
        ).fetchone()
        if result is None:
            _check_bounds(conn, owner_id, per_owner, queue_limit)
            job_id = conn.execute(
                "INSERT INTO report_job (owner_id, report_name, parameters,"
                " parameters_key, report_date, queued_at) VALUES (?, ?, ?, ?, ?, ?)"
                " RETURNING id",
                (owner_id, report_name, json.dumps(parameters), key, now, now),
            ).fetchone()[0]
        else:
            job_id = conn.execute(
                "INSERT INTO report_job (owner_id, report_name, parameters,"
                " parameters_key, status, reused, result_id, report_date,"
                " started_at, completed_at)"
                " VALUES (?, ?, ?, ?, 'completed', 1, ?, ?, ?, ?) RETURNING id",
                (owner_id, report_name, json.dumps(parameters), key, result[0])
                + (now,) * 3,
            ).fetchone()[0]
    return get_job(conn, job_id), result is not None


def _check_bounds(conn, owner_id, per_owner, queue_limit):
    """Raise TooManyJobs or QueueFull if one more job would pass a bound."""
    if per_owner is not None:
        (active,) = conn.execute(
            "SELECT count(*) FROM report_job WHERE owner_id = ?"
            " AND status IN ('queued', 'running')",
            (owner_id,),
        ).fetchone()
        if active >= per_owner:
            raise TooManyJobs(per_owner)
    if queue_limit is not None:
        (queued,) = conn.execute(
            "SELECT count(*) FROM report_job WHERE status = 'queued'"
        ).fetchone()
        if queued >= queue_limit:
            raise QueueFull(queue_limit)


def get_job(conn, job_id, owner_id=None):
    """Return the job with this id (and this owner, unless None), or None."""
    sql = f"SELECT {_JOB_COLUMNS} FROM {_JOB_FROM} WHERE j.id = ?"
    args = [job_id]
    if owner_id is not None:
        sql += " AND j.owner_id = ?"
        args.append(owner_id)
    return _job(conn.execute(sql, args).fetchone())


def list_jobs(conn, owner_id, offset, limit):
    """Return ``(jobs, total)``: the owner's jobs (everyone's if None), newest first."""
    where, args = "", []
    if owner_id is not None:
        where, args = " WHERE j.owner_id = ?", [owner_id]
    total = conn.execute(f"SELECT count(*) FROM report_job j{where}", args)
    rows = conn.execute(
        f"SELECT {_JOB_COLUMNS} FROM {_JOB_FROM}{where} ORDER BY j.id DESC"
        " LIMIT ? OFFSET ?",
        (*args, limit, offset),
    )
    return [_job(row) for row in rows], total.fetchone()[0]


def delete(conn, job_id, owner_id=None):
    """Delete a job unless it is running; return its status before, or None.

    The rows of a result no job needs any more are purged by the worker, so
    this write stays one short statement.
    """
    owner_clause = "" if owner_id is None else " AND owner_id = ?"
    args = (job_id,) if owner_id is None else (job_id, owner_id)
    with transaction(conn):
        row = conn.execute(
            f"SELECT status FROM report_job WHERE id = ?{owner_clause}", args
        ).fetchone()
        if row is None or row[0] == "running":
            return None if row is None else row[0]
        conn.execute("DELETE FROM report_job WHERE id = ?", (job_id,))
    return row[0]


def result_rows(conn, result_id, first, count):
    """Return the rows ``first`` to ``first + count - 1`` of a result, decoded."""
    size = conn.execute(
        "SELECT chunk_rows FROM report_result WHERE id = ?", (result_id,)
    ).fetchone()[0]
    chunks = conn.execute(
        "SELECT rows FROM report_chunk WHERE result_id = ?"
        " AND chunk BETWEEN ? AND ? ORDER BY chunk",
        (result_id, first // size, (first + count - 1) // size),
    )
    rows = [row for (text,) in chunks for row in json.loads(text)]
    start = first - (first // size) * size
    return rows[start : start + count]


def result_chunks(conn, result_id):
    """Yield the rows of a result a chunk at a time, decoded, in order."""
    chunk = 0
    while True:
        found = conn.execute(
            "SELECT rows FROM report_chunk WHERE result_id = ? AND chunk = ?",
            (result_id, chunk),
        ).fetchone()
        if found is None:
            return
        yield json.loads(found[0])
        chunk += 1


def result_columns(conn, result_id):
    """Return the column names of a result."""
    row = conn.execute(
        "SELECT columns FROM report_result WHERE id = ?", (result_id,)
    ).fetchone()
    return json.loads(row[0])


def claim(conn, job_id, max_attempts):
    """Mark a queued job running for this attempt; return it, or None.

    None when the job was cancelled, is already taken (a duplicate message),
    or is no longer queued. A queued job that has used up ``max_attempts``
    (the setting was lowered while it waited) ends in error instead.
    """
    now = timestamp()
    with transaction(conn):
        changed = conn.execute(
            "UPDATE report_job SET status = 'running', attempts = attempts + 1,"
            " started_at = ?, heartbeat_at = ?, error = NULL"
            " WHERE id = ? AND status = 'queued' AND attempts < ?",
            (now, now, job_id, max_attempts),
        ).rowcount
        spent = None
        if not changed:
            spent = conn.execute(
                "SELECT attempts FROM report_job"
                " WHERE id = ? AND status = 'queued' AND attempts >= ?",
                (job_id, max_attempts),
            ).fetchone()
        if spent is not None:
            conn.execute(
                "UPDATE report_job SET status = 'error', completed_at = ?, error = ?"
                " WHERE id = ?",
                (now, interrupted_message(spent[0]), job_id),
            )
    return get_job(conn, job_id) if changed else None


def heartbeat(conn, job_id, attempt):
    """Say that the attempt ``attempt`` of a running job is alive."""
    with transaction(conn):
        conn.execute(
            "UPDATE report_job SET heartbeat_at = ?"
            " WHERE id = ? AND status = 'running' AND attempts = ?",
            (timestamp(), job_id, attempt),
        )


def start_result(conn, job, columns, data_version):
    """Begin the result of a job's attempt (dropping an earlier attempt's link)."""
    with transaction(conn):
        result_id = conn.execute(
            "INSERT INTO report_result (report_name, parameters_key, data_version,"
            " columns, chunk_rows, created) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (
                job.report_name,
                parameters_key(job.report_name, job.parameters),
                data_version,
                json.dumps(columns),
                CHUNK_ROWS,
                timestamp(),
            ),
        ).fetchone()[0]
        conn.execute(
            "UPDATE report_job SET result_id = ? WHERE id = ?", (result_id, job.id)
        )
    return result_id


def write_chunk(conn, result_id, chunk, row_texts):
    """Store one chunk of a result: its rows, each already a JSON array's text."""
    with transaction(conn):
        conn.execute(
            "INSERT INTO report_chunk (result_id, chunk, rows) VALUES (?, ?, ?)",
            (result_id, chunk, "[" + ",".join(row_texts) + "]"),
        )


def complete(conn, job, result_id, row_count):
    """Finish a job's attempt: its result is whole and can be served and reused."""
    now = timestamp()
    with transaction(conn):
        conn.execute(
            "UPDATE report_result SET complete = 1, row_count = ? WHERE id = ?",
            (row_count, result_id),
        )
        conn.execute(
            "UPDATE report_job SET status = 'completed', completed_at = ?"
            " WHERE id = ? AND status = 'running' AND attempts = ?",
            (now, job.id, job.attempts),
        )


def fail(conn, job_id, message, attempt=None):
    """End a job in error with ``message`` (of one attempt, if given)."""
    sql = (
        "UPDATE report_job SET status = 'error', error = ?, completed_at = ?"
        " WHERE id = ? AND status IN ('queued', 'running')"
    )
    args = [message, timestamp(), job_id]
    if attempt is not None:
        sql += " AND attempts = ?"
        args.append(attempt)
    with transaction(conn):
        conn.execute(sql, args)


def recover_stale(conn, heartbeat_timeout, max_attempts, now=None):
    """Find running jobs whose worker went silent; requeue or fail each.

    Returns the ids requeued (queued since ``now``), for the caller to enqueue
    again. The update is conditional, so of several workers sweeping at once
    only one acts.
    """
    now = now or datetime.now(UTC)
    cutoff = timestamp(now - timedelta(seconds=heartbeat_timeout))
    stale = conn.execute(
        "SELECT id, attempts FROM report_job"
        " WHERE status = 'running' AND heartbeat_at < ?",
        (cutoff,),
    ).fetchall()
    requeued = []
    for job_id, attempts in stale:
        with transaction(conn):
            if attempts < max_attempts:
                changed = conn.execute(
                    "UPDATE report_job SET status = 'queued', heartbeat_at = NULL,"
                    " queued_at = ? WHERE id = ? AND status = 'running'"
                    " AND attempts = ? AND heartbeat_at < ?",
                    (timestamp(now), job_id, attempts, cutoff),
                ).rowcount
                if changed:
                    requeued.append(job_id)
            else:
                conn.execute(
                    "UPDATE report_job SET status = 'error', error = ?,"
                    " completed_at = ? WHERE id = ? AND status = 'running'"
                    " AND attempts = ? AND heartbeat_at < ?",
                    (
                        interrupted_message(attempts),
                        timestamp(now),
                        job_id,
                        attempts,
                        cutoff,
                    ),
                )
    return requeued


def waiting_too_long(conn, timeout, now=None):
    """Return ``(id, queued_at)`` of the jobs queued more than ``timeout`` s ago.

    Such a job is either waiting its turn behind a long queue or has lost its
    message; the caller tells which by looking at the queue.
    """
    now = now or datetime.now(UTC)
    cutoff = timestamp(now - timedelta(seconds=timeout))
    rows = conn.execute(
        "SELECT id, queued_at FROM report_job"
        " WHERE status = 'queued' AND queued_at < ? ORDER BY id",
        (cutoff,),
    )
    return [(job_id, queued_at) for job_id, queued_at in rows]


def requeue_lost(conn, job_id, queued_at, now=None):
    """Mark a job whose message was lost as queued again at ``now``.

    Returns whether the caller is to enqueue it: the update is conditional on
    the job being still queued since ``queued_at``, so of several workers that
    found the same lost message only one enqueues it again.
    """
    with transaction(conn):
        changed = conn.execute(
            "UPDATE report_job SET queued_at = ?"
            " WHERE id = ? AND status = 'queued' AND queued_at = ?",
            (timestamp(now), job_id, queued_at),
        ).rowcount
    return bool(changed)


def interrupted_message(attempts):
    """Return what a user reads of a job whose worker stopped under it every time."""
    times = "once" if attempts == 1 else f"{attempts} times"
    return (
        f"The worker running this report stopped {times} before it finished;"
        " ask for the report again, or narrow it with limit or filters."
    )


def purge_expired(conn, ttl_seconds, now=None):
    """Delete jobs finished more than ``ttl_seconds`` ago, then unneeded results.

    Returns ``(jobs, results)`` deleted. Rows go in batches, each its own
    short transaction, so a large result never holds the write lock long.
    """
    now = now or datetime.now(UTC)
    cutoff = timestamp(now - timedelta(seconds=ttl_seconds))
    with transaction(conn):
        jobs = conn.execute(
            "DELETE FROM report_job WHERE status IN ('completed', 'error')"
            " AND completed_at < ?",
            (cutoff,),
        ).rowcount
        # A result no job points at, or one that expired, goes; an incomplete
        # result is still being written unless its job moved on to another.
        unneeded = conn.execute(
            "SELECT r.id FROM report_result r WHERE r.created < ? OR NOT EXISTS"
            " (SELECT 1 FROM report_job j WHERE j.result_id = r.id)",
            (cutoff,),
        ).fetchall()
    results = 0
    for (result_id,) in unneeded:
        if _purge_result(conn, result_id, cutoff):
            results += 1
    return jobs, results


def _purge_result(conn, result_id, cutoff):
    """Delete a result in batches unless a live job still needs it."""
    while True:
        with transaction(conn):
            needed = conn.execute(
                "SELECT 1 FROM report_job j JOIN report_result r ON r.id = j.result_id"
                " WHERE r.id = ? AND r.created >= ?",
                (result_id, cutoff),
            ).fetchone()
            if needed:
                return False
            deleted = conn.execute(
                "DELETE FROM report_chunk WHERE result_id = ? AND chunk IN"
                " (SELECT chunk FROM report_chunk WHERE result_id = ? LIMIT ?)",
                (result_id, result_id, PURGE_CHUNKS),
            ).rowcount
            if not deleted:
                # Jobs that reused an expired result expire with it.
                conn.execute("DELETE FROM report_job WHERE result_id = ?", (result_id,))
                conn.execute("DELETE FROM report_result WHERE id = ?", (result_id,))
                return True
