"""The job queue: Huey, embedded (SqliteHuey) or distributed (RedisHuey).

With ``REDIS_URL`` set, every worker on every machine shares one Redis queue;
otherwise the queue is a SQLite file beside the database (``REPORT_QUEUE_PATH``)
for the workers of one machine. Either way the message is only a job's id:
the job itself lives in the database, and the task code is the same. Huey
keeps no results (the database does) and never retries by itself: attempts
are counted on the job, so that a worker killed mid-job is noticed
(``reports.worker``). A web request enqueues with :func:`enqueue_job`, which
keeps the embedded queue's waits off a gevent worker's event loop.
"""

import redis
from huey import RedisHuey, SqliteHuey

from catalogue.threads import off_the_loop
from reports import tasks

TASK_NAME = "reports.run_job"
# Seconds a queue call may take; a Redis worker's blocking read waits 1 s of it.
QUEUE_SOCKET_TIMEOUT = 5.0
# Seconds a call to the embedded queue waits for its file's write lock.
QUEUE_LOCK_TIMEOUT = 5.0
# Threads of a web worker that call the embedded queue: Huey's SQLite storage
# takes one call at a time (a lock around its one connection), so one is enough.
QUEUE_THREADS = 1


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
                name,
                filename=config["REPORT_QUEUE_PATH"],
                results=False,
                timeout=QUEUE_LOCK_TIMEOUT,
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


def enqueue_job(app, job_id):
    """Put a job's id on the app's queue from a web request.

    The embedded queue waits for its file's write lock in SQLite's busy
    handler, which sleeps in C and never yields: under gevent it would freeze
    every request of the worker for as long as it waits (up to
    ``QUEUE_LOCK_TIMEOUT``). So the embedded queue is made (which writes its
    tables) and called in a real thread of the "queue" pool, and the worker's
    other requests go on meanwhile; outside gevent, or with Redis, whose
    sockets yield to the event loop, the queue is called where it is.
    """
    if app.config["REDIS_URL"]:
        get_queue(app).enqueue(job_id)
    else:
        off_the_loop("queue", QUEUE_THREADS, _enqueue, app, job_id)


def _enqueue(app, job_id):
    get_queue(app).enqueue(job_id)


def get_queue(app):
    """Return the app's queue, made on first use (never at import or start).

    ``app`` is the app itself, never the ``current_app`` proxy: the queue's task
    runs its jobs with it in the worker's threads, outside any request.
    """
    queue = app.extensions.get("reports-queue")
    if queue is None:
        queue = app.extensions["reports-queue"] = ReportQueue(app)
    return queue
