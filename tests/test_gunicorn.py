"""gunicorn.conf.py at work: a real gunicorn with two gevent workers."""

import contextlib
import os
import select
import socket
import subprocess
import sys
import time
from collections import Counter

import pytest

from tests.commands import ROOT, gunicorn
from tests.fixtures.redis import free_port

# A WSGI app that answers with a number its worker knows; PID_APP, the id of
# the worker process serving it.
NUMBER_APP = """
import {module}

def app(environ, start_response):
    body = str({module}.{number}()).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
"""
PID_APP = NUMBER_APP.format(module="os", number="getpid")


def ask_number(sock):
    """Send one keep-alive request on ``sock``; return the number it answers."""
    sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(4096)
    head, body = answer.split(b"\r\n\r\n", 1)
    length = int(
        next(
            line.split(b":")[1]
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
    )
    while len(body) < length:
        body += sock.recv(4096)
    return int(body)


@contextlib.contextmanager
def serving(tmp_path, source, workers):
    """Serve the app ``source`` with gunicorn.conf.py and ``workers`` workers.

    Yields the port and the log once every worker has answered (each opens
    its own listening socket once it has booted), with the numbers they
    answered.
    """
    (tmp_path / "number_app.py").write_text(source)
    port = free_port()
    env = dict(
        os.environ,
        BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS=str(workers),
        PYTHONPATH=str(tmp_path),
    )
    log = tmp_path / "gunicorn.log"
    with gunicorn("number_app:app", env, log) as server:
        seen, deadline = set(), time.monotonic() + 60
        while len(seen) < workers:
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail(f"gunicorn workers not serving:\n{log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                    seen.add(ask_number(sock))
            except OSError:
                time.sleep(0.1)
        yield port, log, seen


@pytest.fixture
def two_workers(tmp_path):
    """Port and log of gunicorn -c gunicorn.conf.py serving PID_APP, two workers."""
    with serving(tmp_path, PID_APP, workers=2) as (port, log, _):
        yield port, log


def connect_at_once(port, count):
    """Open ``count`` connections to ``port`` as one burst; return the sockets."""
    clients = []
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        clients.append(sock)
    # poll, not select: select refuses descriptors above 1,023.
    poller = select.poll()
    for sock in clients:
        poller.register(sock, select.POLLOUT)
    connected = set()
    deadline = time.monotonic() + 10
    while len(connected) < count and time.monotonic() < deadline:
        for fd, _ in poller.poll(1000):
            poller.unregister(fd)
            connected.add(fd)
    for sock in clients:
        sock.settimeout(10)
    return clients


def test_a_burst_of_keep_alive_clients_spreads_over_the_workers(two_workers):
    port, _ = two_workers
    clients = connect_at_once(port, 200)
    try:
        # Every client is connected before any asks, as with a load balancer's
        # pool or a burst of browsers; each connection stays with its worker.
        per_worker = Counter(ask_number(sock) for sock in clients)
        again = Counter(ask_number(sock) for sock in clients)
    finally:
        for sock in clients:
            sock.close()

    assert len(per_worker) == 2
    assert min(per_worker.values()) >= 70, per_worker
    assert again == per_worker


def test_a_second_server_on_a_busy_port_refuses_to_start(two_workers, tmp_path):
    port, _ = two_workers
    env = dict(
        os.environ,
        BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
        PYTHONPATH=str(tmp_path),
    )
    second = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "number_app:app"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert second.returncode != 0
    assert f"Address in use: another server listens on http://127.0.0.1:{port}" in (
        second.stderr
    )
    # The first goes on alone.
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        assert ask_number(sock) > 0


def test_the_log_says_where_the_server_listens(two_workers):
    port, log = two_workers

    assert f"Listening at: http://127.0.0.1:{port}, 2 workers" in log.read_text()


def raw_answer(port, request):
    """Send ``request`` bytes as they are; return the status line of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode()


def test_a_worker_leaves_its_loaded_app_out_of_full_collections(tmp_path):
    frozen_app = NUMBER_APP.format(module="gc", number="get_freeze_count")

    with serving(tmp_path, frozen_app, workers=1) as (_, _, answers):
        (frozen,) = answers

    # Everything the worker had loaded: gevent, gunicorn and the app.
    assert frozen > 10_000


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /?q=" + b"x" * 100_000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", "414"),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"y" * 10_000 + b"\r\n\r\n", "4"),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX-Bad: a\x00b\r\n\r\n", "400"),
    ],
    ids=["long line", "long header", "NUL in a header"],
)
def test_the_server_refuses_what_the_api_description_says(
    two_workers, request_bytes, status
):
    port, _ = two_workers

    assert raw_answer(port, request_bytes).split()[1].startswith(status)
