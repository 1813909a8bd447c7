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
nothing writes to ``--source`` (a folder) or ``--database`` (a file and its
embedded index).

With ``--stores sqlite,postgresql`` the parts run on each store in turn (see
bench/load.py's catalogue_store: the copy's catalogue imported into a new
PostgreSQL database, read with PostgreSQL's own embedded index), the worker
and the service both on it, with the service's defaults: DATABASE_POOL_SIZE
10 connections per process, no statement timeout for the worker. A last
table puts the stores side by side. Needs wrk.
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
    STORE_COLUMN,
    Service,
    add_store_arguments,
    base_env,
    catalogue_store,
    copy_files,
    fill_caches,
    machine_line,
    print_table,
    raise_open_files_limit,
    run_wrk,
    search_index_path,
    stores_of,
    summary,
    write_paths,
)

REPORTS = ("top-movies-per-rating", "top-directors-per-movie-rating", "genres-summary")
# Seconds a report over the whole catalogue may take in the worker.
RUNTIME_TARGETS = {"top-movies-per-rating": 5}
WHOLE_CATALOGUE = {
    "top-movies-per-rating": {"rating": {"gte": 0}},
    "top-directors-per-movie-rating": {},
    "genres-summary": {},
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--source",
        type=Path,
        help="folder of a migrated, indexed movies.sqlite (copied, never written)",
    )
    source.add_argument(
        "--database",
        type=Path,
        help="a migrated, indexed database file (copied with its embedded index)",
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
    add_store_arguments(parser)
    args = parser.parse_args()
    parts = args.parts.split(",")
    stores = stores_of(args)
    args.database = args.database or args.source / "movies.sqlite"
    args.search_index = None
    raise_open_files_limit()
    print(machine_line(), flush=True)
    rows = []
    for store in stores:
        print(f"\n[{store}]", flush=True)
        rows += [(store, *row) for row in measure(args, parts, store)]
    print()
    print(machine_line())
    print(
        f"{args.report_workers} report(s) at once in the worker; wrk"
        f" -c{args.connections} -d{args.duration}s, think 0 and {args.think_ms} ms"
    )
    print_table((STORE_COLUMN, *COLUMNS), rows)


COLUMNS = (
    ("part", "<"),
    ("measurement", "<"),
    ("result", ">"),
    ("target", "<"),
)


def measure(args, parts, store):
    """Run the parts on a copy of the catalogue served from ``store``; return rows."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    try:
        if args.source:
            database = copy_source(args.source, workdir)
        else:
            database = workdir / "movies.sqlite"
            index = search_index_path(args).resolve()
            copy_files(
                ((args.database, database), (index, workdir / "movies.search.sqlite"))
            )
        env = base_env(argparse.Namespace(**dict(vars(args), database=database)))
        env.update(
            FLASK_APP="wsgi",
            LOG_LEVEL="WARNING",
            REPORT_WORKERS=str(args.report_workers),
            # One user submits each burst; the service lets a user queue 5.
            REPORT_JOBS_PER_USER=str(max(args.burst, 5)),
            REPORT_QUEUE_PATH=str(workdir / "queue.sqlite"),
            JWT_SECRET_PATH=str(workdir / "jwt-secret"),
            REQUEST_COUNT_PATH=str(workdir / "request-count"),
            ETL_STATE_PATH=str(workdir / "movies.etl.sqlite"),
        )
        flask(env, "db", "upgrade")
        # The copy is served; PostgreSQL's own index is kept beside the original.
        with catalogue_store(args, store, source=database) as settings:
            return run(args, parts, env | settings, workdir)
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
    """Run the parts against one server and worker; return the table's rows."""
    log = workdir / "worker.log"
    rows = []
    with Service("wsgi:app", env) as service, Worker(env, log):
        url = service.url
        token = account(url)
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
                target = RUNTIME_TARGETS.get(name)
                rows.append(
                    (
                        "runtimes",
                        f"{name} ({job['status']}, {job['row_count']} rows)",
                        f"{seconds:.2f} s",
                        target_text(seconds, target, "s") if target else "",
                    )
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
            rows.append(
                (
                    "burst",
                    f"{len(ids)} reports: {states.count('completed')} completed,"
                    f" {states.count('error')} error; the last done after",
                    f"{elapsed:.1f} s",
                    "",
                )
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
                rows.append(
                    wrk_row(
                        "polling", f"GET /api/v1/reports/<id>, think {think} ms", result
                    )
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
                rows.append(wrk_row("page", f"worker idle, think {think} ms", idle))
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
                rows.append(
                    wrk_row(
                        "page",
                        f"{args.burst} reports running, think {think} ms"
                        f" ({running.count('completed')} done meanwhile)",
                        busy,
                    )
                )
                wait_all(url, token, burst)
    return rows


def target_text(value, target, unit):
    """``< target unit: met`` or ``MISSED``."""
    return f"< {target} {unit}: {'met' if value < target else 'MISSED'}"


def wrk_row(part, measurement, result):
    """A row of the table for a wrk run: rps, p50, p99 and errors."""
    return (
        part,
        measurement,
        f"{result.rps:,.0f} rps, p50 {result.p50_us / 1000:.1f} ms,"
        f" p99 {result.p99_us / 1000:.1f} ms, {result.errors} errors",
        "",
    )


def wrk(url, paths, args, think):
    """One measured wrk run after a warm-up, with ``think`` ms between requests."""
    run_args = argparse.Namespace(**vars(args))
    run_args.think_ms = think
    run_wrk(url, paths, run_args, duration=args.warmup)
    return run_wrk(url, paths, run_args)


if __name__ == "__main__":
    main()
