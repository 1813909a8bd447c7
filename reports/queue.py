"""The job queue: Huey, embedded (SqliteHuey) or distributed (RedisHuey).

With ``REDIS_URL`` set, every worker on every machine shares one Redis queue;
otherwise the queue is a SQLite file beside the database (``REPORT_QUEUE_PATH``)
for the workers of one machine. Either way the message is only a job's id:
the job itself lives in the database, and the task code is the same. Huey
keeps no results (the database does) and never retries by itself: attempts
are counted on the job, so that a worker killed mid-job is noticed
(``reports.worker``).
"""

import redis
from huey import RedisHuey, SqliteHuey

from reports import tasks

TASK_NAME = "reports.run_job"
# Seconds a queue call may take; a Redis worker's blocking read waits 1 s of it.
QUEUE_SOCKET_TIMEOUT = 5.0


class ReportQueue:
    """The app's Huey and its one task, which runs a job by id."""

    def __init__(self, app):
        config = app.config
        name = config["REPORT_QUEUE_NAME"]
        if config["REDIS_URL"]:
            pool = redis.ConnectionPool.from_url(
                config["REDIS_URL"],
                socket_timeout=QUEUE_SOCKET_TIMEOUT,
                socket_connect_timeout=QUEUE_SOCKET_TIMEOUT,
            )
            self.huey = RedisHuey(name, connection_pool=pool, results=False)
        else:
            self.huey = SqliteHuey(
                name, filename=config["REPORT_QUEUE_PATH"], results=False
            )

        @self.huey.task(name=TASK_NAME)
        def run_job(job_id):
            tasks.run_job(app, job_id)

        self.task = run_job

    def describe(self):
        """Name the kind of queue: ``redis`` or ``sqlite:<path>``."""
        if isinstance(self.huey, RedisHuey):
            return "redis"
        return f"sqlite:{self.huey.storage.filename}"

    def enqueue(self, job_id):
        """Put a job's id on the queue."""
        self.task(job_id)

    def pending(self):
        """Return how many messages wait on the queue."""
        return self.huey.pending_count()

    def pending_job_ids(self):
        """Return the ids of the jobs whose messages wait on the queue."""
        return {task.args[0] for task in self.huey.pending()}


def get_queue(app):
    """Return the app's queue, made on first use (never at import or start).

    ``app`` is the app itself, never the ``current_app`` proxy: the queue's task
    runs its jobs with it in the worker's threads, outside any request.
    """
    queue = app.extensions.get("reports-queue")
    if queue is None:
        queue = app.extensions["reports-queue"] = ReportQueue(app)
    return queue
