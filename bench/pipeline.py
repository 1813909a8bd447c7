"""Time the data pipeline on a large catalogue: generate, migrate, full ETL.

    python bench/pipeline.py --films 200000 [--elasticsearch-url URL]

Each step runs as the real CLI command in a subprocess; the script reports its
wall time and peak memory (VmHWM of the process). The full ETL runs into the
embedded index and into Elasticsearch: the URL given, or the Elasticsearch test
server (osmem behind the tests' proxy) started for the run.
"""

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def peak_rss_mib(pid):
    """Peak resident memory of a live process, in MiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def timed(env, *args):
    """Run ``flask ARGS``; return (seconds, peak MiB, stdout)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, peak_rss_mib(proc.pid))
        time.sleep(0.2)
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    if proc.returncode:
        sys.exit(f"flask {' '.join(args)} failed:\n{err[-2000:]}")
    return seconds, peak, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--films", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--elasticsearch-url", help="a real cluster; default: osmem")
    parser.add_argument("--workdir", type=Path, help="keep files here (default: temp)")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ELASTICSEARCH_", "REDIS_", "DATABASE_", "EMBEDDED_"))
    }
    env["DATABASE_PATH"] = str(workdir / "movies.sqlite")
    env["EMBEDDED_SEARCH_PATH"] = str(workdir / "movies.search.sqlite")

    rows = []
    seconds, peak, _ = timed(
        env,
        "data",
        "generate",
        "--films",
        str(args.films),
        "--seed",
        str(args.seed),
        "--force",
    )
    rows.append(("generate", seconds, peak, args.films))
    seconds, peak, _ = timed(env, "db", "upgrade")
    rows.append(("migrate", seconds, peak, args.films))
    seconds, peak, out = timed(env, "etl", "run", "--full")
    rows.append(("etl embedded", seconds, peak, documents(out)))

    server = None
    url = args.elasticsearch_url
    if not url:
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "es_test_server.py")],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        url = server.stdout.readline().strip()
    try:
        # A node on Elasticsearch must be given a signing key; the ETL signs nothing.
        es_env = dict(
            env,
            ELASTICSEARCH_URL=url,
            ELASTICSEARCH_INDEX_PREFIX="bench_",
            JWT_SECRET_KEY=secrets.token_urlsafe(48),
        )
        seconds, peak, out = timed(es_env, "etl", "run", "--full")
        label = "etl elasticsearch" if args.elasticsearch_url else "etl osmem+proxy"
        rows.append((label, seconds, peak, documents(out)))
    finally:
        if server:
            server.terminate()
            server.wait()

    print(
        f"\n{args.films} films, seed {args.seed}, {os.cpu_count()} CPUs, files in {workdir}"
    )
    print(f"{'step':<20}{'seconds':>9}{'peak MiB':>10}{'items':>10}{'items/s':>10}")
    for step, seconds, peak, items in rows:
        print(
            f"{step:<20}{seconds:>9.1f}{peak:>10.0f}{items:>10}{items / seconds:>10.0f}"
        )


def documents(output):
    """The document total from ``flask etl run``'s summary line."""
    for line in output.splitlines():
        if "documents in" in line:
            return int(line.split()[0])
    return 0


if __name__ == "__main__":
    main()
