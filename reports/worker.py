"""The worker: Huey's consumer, and a sweeper beside it.

The consumer runs ``REPORT_WORKERS`` threads, each taking job ids off the
queue. The sweeper, every third of ``REPORT_HEARTBEAT_TIMEOUT``, recovers the
jobs that would otherwise never finish:

- running jobs whose heartbeat is older than that timeout (their worker was
  killed, or its machine died): each goes back on the queue for another
  attempt, or, after ``REPORT_MAX_ATTEMPTS``, ends in error with a message;
- queued jobs whose message is gone (a worker took it and died before it
  claimed the job, or the API died between recording a job and enqueuing it):
  a job queued longer than the timeout whose id is not among the messages
  waiting on the queue is enqueued again, its attempts unchanged.

So such a job is noticed within 4/3 of the timeout (40 s by default). The
sweeper also deletes what ``REPORT_RESULT_TTL`` let expire. Several workers may
sweep at once: each change is conditional on the state it saw, so only one
acts; and a job is only ever run by the worker that claimed it, so a message
enqueued once too often finds it claimed and does nothing.
"""

import logging
import os
import threading
import time

from huey.consumer import ConsumerStopped

from reports import jobs
from reports.queue import get_queue
from reports.tasks import open_connection

logger = logging.getLogger("reports")


def sweep(app, now=None):
    """Recover lost jobs and purge expired results, once.

    Returns ``(requeued ids, jobs purged, results purged)``: the ids are those
    of the jobs of silent workers, then those of the jobs whose message was lost.
    """
    config = app.config
    timeout = config["REPORT_HEARTBEAT_TIMEOUT"]
    queue = get_queue(app)
    conn = open_connection(config)
    try:
        requeued = jobs.recover_stale(
            conn, timeout, config["REPORT_MAX_ATTEMPTS"], now=now
        )
        for job_id in requeued:
            logger.warning("report job %s lost its worker: queued again", job_id)
            queue.enqueue(job_id)
        requeued += recover_lost_messages(conn, queue, timeout, now=now)
        purged = jobs.purge_expired(conn, config["REPORT_RESULT_TTL"], now=now)
    finally:
        conn.close()
    return requeued, *purged


def recover_lost_messages(conn, queue, timeout, now=None):
    """Enqueue again the jobs queued over ``timeout`` s whose message is gone.

    Returns their ids. The queue is read only when some job has waited that
    long, and a job whose message still waits its turn is left alone, so a
    long queue gets no duplicates. A worker may take a job's message between
    the two reads: if it has not claimed the job by the update, the job is
    enqueued once more, and that extra message finds it claimed and does nothing.
    """
    waiting = jobs.waiting_too_long(conn, timeout, now=now)
    if not waiting:
        return []
    on_queue = queue.pending_job_ids()
    requeued = []
    for job_id, queued_at in waiting:
        if job_id in on_queue or not jobs.requeue_lost(conn, job_id, queued_at, now):
            continue
        logger.warning("report job %s lost its message: queued again", job_id)
        queue.enqueue(job_id)
        requeued.append(job_id)
    return requeued


class Sweeper:
    """A thread that sweeps every ``interval`` seconds until stopped."""

    def __init__(self, app, interval):
        self.app, self.interval = app, interval
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="sweeper", daemon=True)

    def _run(self):
        while True:
            try:
                sweep(self.app)
            except Exception:  # the next sweep tries again
                logger.exception("sweeping report jobs failed")
            if self.stopped.wait(self.interval):
                return

    def start(self):
        """Start sweeping."""
        self.thread.start()

    def stop(self):
        """Stop sweeping and wait for the current sweep."""
        self.stopped.set()
        self.thread.join()


def make_consumer(app, workers):
    """Return Huey's consumer of the app's queue with ``workers`` threads."""
    return get_queue(app).huey.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=False,
        initial_delay=0.05,
        max_delay=1.0,
        check_worker_health=True,
        # SIGTERM (docker stop, systemd) lets the running jobs finish first.
        graceful_signal="TERM",
    )


def run(app, workers):
    """Consume the queue and sweep until SIGTERM (graceful) or SIGINT.

    Huey's own ``Consumer.run``, but saying when its signal handlers are set:
    from "ready" on, SIGTERM lets the running jobs finish and exits 0.
    """
    sweeper = Sweeper(app, app.config["REPORT_HEARTBEAT_TIMEOUT"] / 3)
    consumer = make_consumer(app, workers)
    # The last connection to close checkpoints the whole WAL under an exclusive
    # lock, which a request's read then waits on: after a large result, that
    # can outlast the read's short busy timeout. This one stays open until the
    # worker stops, so the jobs' own connections are never the last.
    keeper = open_connection(app.config)
    sweeper.start()
    try:
        consumer.start()
        logger.info("report worker ready (pid %d)", os.getpid())
        health_checked = time.monotonic()
        while True:
            try:
                health_checked = consumer.loop(health_checked)
            except ConsumerStopped:
                break
    finally:
        sweeper.stop()
        keeper.close()
    logger.info("report worker stopped")
