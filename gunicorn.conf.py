"""Gunicorn settings: gevent workers sized for 10,000 concurrent keep-alive clients."""

import errno
import gc
import math
import multiprocessing
import os
import re
import resource
import socket
import sys
from urllib.parse import unquote_plus as _unquote_plus

import gevent
from gunicorn.glogging import Logger as _Logger

_TRUE = {"1", "true", "yes", "on"}
# The concurrency target plus 20% for health checks, monitoring and clients that
# reconnect while their old connection is still being closed.
_TARGET_CONNECTIONS = 12_000

# The gevent worker monkey-patches the standard library in each worker's
# init_process, then loads the app. Preloading would import the app, and with it
# urllib3 (Elasticsearch) and redis-py, in the unpatched master: their sockets
# would block a worker's whole event loop instead of yielding.
preload_app = False
worker_class = "gevent"

# SQLite calls and JSON encoding hold the GIL and never yield, so parallelism
# comes from processes: one per CPU, each running many greenlets.
workers = int(os.environ.get("GUNICORN_WORKERS") or multiprocessing.cpu_count())

# A worker stops accepting once it holds worker_connections clients and its
# siblings take the rest, so capacity is workers x worker_connections. The cap
# also keeps one process from hoarding clients it cannot serve on its one CPU.
# Gunicorn's default, 1000, is the floor on hosts with many cores.
worker_connections = max(1000, math.ceil(_TARGET_CONNECTIONS / workers))

# Idle keep-alive clients wait this long for their next request. The 2 s default
# closes 10,000 idle benchmark clients within seconds and they all reconnect at
# once; 75 s also outlives the 60 s idle timeout of common load balancers, so
# the balancer closes an idle connection before we do (no 502 on a reused one).
keepalive = 75

# A worker whose event loop stalls this long (a runaway query never yields) is
# killed and replaced; requests here take milliseconds.
timeout = 30

# On SIGTERM, busy connections close after their current request, but idle
# keep-alive ones would hold a worker for the full keepalive: stop waiting after
# 15 s, inside docker compose's stop_grace_period for the app (20 s).
graceful_timeout = 15

bind = os.environ.get("BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"

# Each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads
# new connections over them. On one shared socket a gevent worker accepts up to
# 100 pending connections per wake-up, so a burst of keep-alive clients lands on
# one worker: 100 clients measured 0/100 over two workers, one CPU left idle.
# A second server started on the same port would bind too and share the traffic
# silently: on_starting refuses to start when the port is taken (see there).
reuse_port = True

# 10,000 clients connecting at once overflow the 2048 default before the workers
# accept them. The kernel caps this at net.core.somaxconn (4096 on Linux >= 5.4).
backlog = 4096

# What the HTTP server refuses itself, with its own HTML answer (documented in the
# API's description): gunicorn's defaults, on purpose. No request needs more (a
# search text is at most 200 characters), and larger ones only cost memory.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# A log line per request is a write per request: off unless asked for.
accesslog = "-" if os.environ.get("GUNICORN_ACCESSLOG", "").lower() in _TRUE else None

# Query parameters whose values are secrets: the access log writes [redacted].
_SECRET_PARAMETERS = frozenset(
    {"jwt", "token", "password", "access_token", "refresh_token"}
)
_PAIR_SEPARATORS = re.compile(r"([&;])")


def _redact_query(query):
    """Return the query string ``query`` with each secret parameter's value hidden.

    A name counts as the client's framework would read it: percent-decoded,
    ``+`` as a space, in any case.
    """
    parts = _PAIR_SEPARATORS.split(query)
    for index in range(0, len(parts), 2):
        name, equals, _ = parts[index].partition("=")
        if equals and _unquote_plus(name).strip().lower() in _SECRET_PARAMETERS:
            parts[index] = f"{name}=[redacted]"
    return "".join(parts)


def _redact(text):
    """Return a URL, or a request line, with each secret parameter's value hidden."""
    if not text or "?" not in text:
        return text
    head, _, rest = text.partition("?")
    query, space, tail = rest.partition(" ")
    query, hash_sign, fragment = query.partition("#")
    return f"{head}?{_redact_query(query)}{hash_sign}{fragment}{space}{tail}"


class _RedactingLogger(_Logger):
    """gunicorn's logger, writing no secret query parameter's value in the access log.

    The request line, the query string and the referer all carry query strings:
    a client that sends a token as ``?jwt=...`` must not find it in a log.
    """

    def atoms(self, resp, req, environ, request_time):
        """Return gunicorn's atoms with the secret values redacted."""
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("r", "f", "{referer}i"):
            if isinstance(atoms.get(name), str):
                atoms[name] = _redact(atoms[name])
        if isinstance(atoms.get("q"), str):
            atoms["q"] = _redact_query(atoms["q"])
        return atoms


logger_class = _RedactingLogger
proc_name = "movie-catalogue"

# Gunicorn's control socket (gunicornc) sits at one path per user, so a second
# server on the machine (a test, another checkout) would take it over and remove
# it on exit; nothing here uses it.
control_socket_disable = True


def on_starting(server):
    """Refuse a port another server holds; raise the open-files limit."""
    _refuse_a_port_in_use(server)
    _raise_open_files_limit(server)


def when_ready(server):
    """Say where the server listens: with reuse_port only the workers bind."""
    addresses = ", ".join(_describe(address) for address in server.cfg.address)
    server.log.info("Listening at: %s, %d workers", addresses, server.cfg.workers)


def post_worker_init(worker):
    """Leave the loaded app out of the garbage collector's full passes."""
    # The app's objects (modules, classes, functions: about 85,000) live as
    # long as the worker, and a full collection traversed them all: 38 to 84
    # ms, every few seconds under load, during which the worker answers
    # nothing. Frozen (gc.freeze), a full collection took 2 to 8 ms.
    gc.freeze()


def _refuse_a_port_in_use(server):
    """Exit with "address in use" if a server already listens on our port.

    The workers bind with SO_REUSEPORT, which any socket of the same user with
    it set may share: a plain bind here fails where something listens.
    """
    for address in server.cfg.address:
        if not isinstance(address, tuple):
            continue  # a Unix socket: the master binds it, and fails if taken
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # A port left in TIME_WAIT by a server that stopped is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                server.log.error(
                    "Address in use: another server listens on %s; stop it or"
                    " set BIND or PORT.",
                    _describe(address),
                )
                sys.exit(1)


def _describe(address):
    if isinstance(address, tuple):
        host, port = address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    return f"unix:{address}"


def _raise_open_files_limit(server):
    """Raise the open-files limit so every worker can hold its connections."""
    # Workers inherit the master's limits; a shell's usual soft limit of 1024
    # would refuse clients long before worker_connections is reached.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    # Besides its clients a worker holds Elasticsearch, Redis and SQLite handles.
    needed = worker_connections + 512
    if soft != resource.RLIM_INFINITY and soft < needed:
        server.log.warning(
            "Open-files limit %d is below the %d a worker may need: raise it "
            "with ulimit -n, or set GUNICORN_WORKERS higher so each holds fewer.",
            soft,
            needed,
        )


def post_request(worker, req, environ, resp):
    """Yield to the event loop after each request, once the response is sent."""
    # A greenlet serving a keep-alive connection whose next request has already
    # arrived reads and answers it without blocking, so it never yields: a few
    # busy clients starve all the others (p99 above 1 s at 64 connections).
    gevent.sleep(0)
