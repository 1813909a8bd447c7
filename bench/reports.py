"""Reports on 200,000 films: run times, a burst of 50, polling, a page meanwhile.

Serves a copy of a migrated and indexed database with ``gunicorn -c
gunicorn.conf.py wsgi:app`` and ``flask reports worker`` beside it (the embedded
queue, REPORT_WORKERS jobs at once, niced as deployed), then:

- ``runtimes``: each report over the whole catalogue, alone: the worker's time
  from start to completed (query and stored rows), and the rows;
- ``burst``: 50 reports submitted at once (the three reports with distinct
  parameters, so none is reused): all completed, and the time from the first
  submission until the last one completed;
- ``polling``: 100 wrk connections polling ``GET /api/v1/reports/<id>`` of the
  burst's jobs with an access token (closed loop, and with ``--think-ms``);
- ``page``: a cached catalogue page with 100 wrk connections while another burst
  of 50 reports runs in the worker, and the same page with the worker idle.

The database is copied (``cp --reflink=auto``) into a temporary folder first:
nothing writes to ``--source``. Needs wrk.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from load import (
    CACHED_PAGE,
    ROOT,
    Service,
    base_env,
    fill_caches,
    machine_line,
    raise_open_files_limit,
    run_wrk,
    summary,
    write_paths,
)

REPORTS = ("top-movies-per-rating", "top-directors-per-movie-rating", "genres-summary")
WHOLE_CATALOGUE = {
    "top-movies-per-rating": {"rating": {"gte": 0}},
    "top-directors-per-movie-rating": {},
    "genres-summary": {},
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        type=Path,
        required=True,
        help="folder of a migrated, indexed movies.sqlite (copied, never written)",
    )
    parser.add_argument("--parts", default="runtimes,burst,polling,page")
    parser.add_argument("--burst", type=int, default=50, help="reports at once")
    parser.add_argument("--report-workers", type=int, default=1)
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers")
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--think-ms", type=int, default=100)
    parser.add_argument("--pause-ms", type=int, default=1000)
    parser.add_argument("--timeout", type=int, default=10)
    args = parser.parse_args()
    parts = args.parts.split(",")
    raise_open_files_limit()
    workdir = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    try:
        database = copy_source(args.source, workdir)
        args.database, args.search_index = database, None
        env = base_env(args)
        env.update(
            FLASK_APP="wsgi",
            LOG_LEVEL="WARNING",
            REPORT_WORKERS=str(args.report_workers),
            REPORT_QUEUE_PATH=str(workdir / "queue.sqlite"),
            JWT_SECRET_PATH=str(workdir / "jwt-secret"),
            REQUEST_COUNT_PATH=str(workdir / "request-count"),
            ETL_STATE_PATH=str(workdir / "movies.etl.sqlite"),
        )
        flask(env, "db", "upgrade")
        run(args, parts, env, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def copy_source(source, workdir):
    """Copy the database and its live search index; return the copy's database."""
    for item in source.iterdir():
        if item.name.endswith((".lock", "-wal", "-shm")):
            continue
        target = workdir / item.name
        if item.is_symlink():
            target.symlink_to(os.readlink(item))
        else:
            subprocess.run(["cp", "--reflink=auto", str(item), str(target)], check=True)
    return workdir / "movies.sqlite"


def flask(env, *arguments):
    """Run ``flask ARGUMENTS``; exit if it fails."""
    command = [sys.executable, "-m", "flask", "--app", "wsgi", *arguments]
    if subprocess.run(command, cwd=ROOT, env=env, check=False).returncode:
        sys.exit(f"flask {' '.join(arguments)} failed")


class Worker:
    """``flask reports worker`` while in use."""

    def __init__(self, env, log_path):
        self.env, self.log_path = env, log_path

    def __enter__(self):
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "reports", "worker"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def __exit__(self, *exc_info):
        self.process.terminate()
        self.process.wait(timeout=120)


def call(base_url, method, path, token=None, body=None):
    """Send a JSON request; return the decoded answer."""
    request = urllib.request.Request(
        base_url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def account(base_url):
    """Register a user; return its access token."""
    name = f"bench{time.time_ns()}"
    body = {"username": name, "password": "correct horse battery"}
    return call(base_url, "POST", "/register/", body=body)["access_token"]


def wait_all(base_url, token, ids, interval=0.2):
    """Poll jobs until all finished; return them."""
    pending, done = set(ids), {}
    while pending:
        for job_id in sorted(pending):
            job = call(base_url, "GET", f"/api/v1/reports/{job_id}", token)
            if job["status"] in ("completed", "error"):
                done[job_id] = job
                pending.discard(job_id)
        if pending:
            time.sleep(interval)
    return [done[job_id] for job_id in ids]


def seconds_between(start, end):
    """Seconds between two ISO 8601 UTC times of the jobs."""
    from datetime import datetime

    parse = datetime.fromisoformat
    return (parse(end) - parse(start)).total_seconds()


def burst_bodies(count, salt):
    """``count`` distinct report requests over the three reports."""
    bodies = []
    for n in range(count):
        kind = REPORTS[n % 3]
        if kind == "top-movies-per-rating":
            body = {"rating": {"gt": round(5 + (n % 45) / 10, 1)}, "limit": 1000 + salt}
        elif kind == "top-directors-per-movie-rating":
            body = {"min_films": 1 + n % 5, "limit": 500 + n + salt}
        else:
            body = {"limit": 1 + n + salt}
        bodies.append({"report_name": kind, **body})
    return bodies


def submit_burst(base_url, token, count, salt):
    """Submit ``count`` reports at once (one after the other, no wait); return ids."""
    return [
        call(base_url, "POST", "/api/v1/reports", token, body)["id"]
        for body in burst_bodies(count, salt)
    ]


def run(args, parts, env, workdir):
    """Run the parts against one server and worker."""
    log = workdir / "worker.log"
    with Service("wsgi:app", env) as service, Worker(env, log):
        url = service.url
        token = account(url)
        print(machine_line(), flush=True)
        if "runtimes" in parts:
            print(
                "\nreport over the whole catalogue, alone (worker: start to completed):"
            )
            for name in REPORTS:
                body = {"report_name": name, **WHOLE_CATALOGUE[name]}
                job_id = call(url, "POST", "/api/v1/reports", token, body)["id"]
                (job,) = wait_all(url, token, [job_id])
                seconds = seconds_between(job["started_at"], job["completed_at"])
                print(
                    f"  {name:<32} {job['status']:<9} {job['row_count']:>8} rows"
                    f" {seconds:7.2f} s",
                    flush=True,
                )
        ids = []
        if "burst" in parts or "polling" in parts:
            started = time.monotonic()
            ids = submit_burst(url, token, args.burst, salt=1)
            submitted = time.monotonic() - started
            jobs = wait_all(url, token, ids)
            elapsed = time.monotonic() - started
            states = [job["status"] for job in jobs]
            print(
                f"\nburst: {len(ids)} reports submitted in {submitted:.2f} s;"
                f" {states.count('completed')} completed, {states.count('error')}"
                f" error; the last completed {elapsed:.1f} s after the first"
                f" submission ({args.report_workers} at once)",
                flush=True,
            )
        if "polling" in parts:
            os.environ["BENCH_AUTHORIZATION"] = f"Bearer {token}"
            paths = write_paths(
                workdir / "poll.txt", [f"/api/v1/reports/{i}" for i in ids]
            )
            for think in (0, args.think_ms):
                result = wrk(url, paths, args, think)
                print(
                    f"polling GET /api/v1/reports/<id>, think {think} ms: {summary(result)}",
                    flush=True,
                )
            del os.environ["BENCH_AUTHORIZATION"]
        if "page" in parts:
            fill_caches(service, CACHED_PAGE)
            paths = write_paths(workdir / "page.txt", [CACHED_PAGE])
            for think in (0, args.think_ms):
                idle = wrk(url, paths, args, think)
                print(
                    f"cached page, worker idle, think {think} ms: {summary(idle)}",
                    flush=True,
                )
                burst = submit_burst(url, token, args.burst, salt=1000 + think)
                busy = wrk(url, paths, args, think)
                running = [
                    job["status"]
                    for job in (
                        call(url, "GET", f"/api/v1/reports/{i}", token) for i in burst
                    )
                ]
                print(
                    f"cached page, {args.burst} reports submitted, think {think} ms:"
                    f" {summary(busy)}; after it {running.count('completed')} of"
                    f" {len(burst)} completed",
                    flush=True,
                )
                wait_all(url, token, burst)


def wrk(url, paths, args, think):
    """One measured wrk run after a warm-up, with ``think`` ms between requests."""
    run_args = argparse.Namespace(**vars(args))
    run_args.think_ms = think
    run_wrk(url, paths, run_args, duration=args.warmup)
    return run_wrk(url, paths, run_args)


if __name__ == "__main__":
    main()
