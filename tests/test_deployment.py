"""Deployment files: docker-compose.yml, Dockerfile, gunicorn.conf.py, .env.example.

No Docker engine runs where the tests run, so these read the files and check
that they fit together and agree with the settings app/config.py reads.
"""

import json
import re
import runpy
from inspect import ismodule
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import gevent
import pytest
import yaml
from gunicorn.config import Config

from app import API_DESCRIPTION
from catalogue import config as settings

ROOT = Path(__file__).resolve().parent.parent
SERVICES = {"postgres", "elasticsearch", "redis", "loader", "app", "worker"}
LONG_RUNNING = ("postgres", "elasticsearch", "redis", "app")
# Built from our Dockerfile: they run the catalogue and read app/config.py.
CATALOGUE_SERVICES = ("loader", "app", "worker")
GUNICORN_ENV = ("GUNICORN_WORKERS", "BIND", "PORT", "GUNICORN_ACCESSLOG")


# --- readers -------------------------------------------------------------------


# ${NAME:-default} and ${NAME:?message}, as compose interpolates them.
_INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*)|:\?[^}]*)\}")


@pytest.fixture(scope="module")
def compose():
    """docker-compose.yml as compose reads it with nothing set in the shell.

    A required variable reads as ``<required>``.
    """
    text = (ROOT / "docker-compose.yml").read_text()
    text = _INTERPOLATION.sub(
        lambda m: m[2] if m[2] is not None else "<required>", text
    )
    return yaml.safe_load(text)


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


def environment(service):
    """A service's environment as a dict, from either form compose allows."""
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {name: "" if value is None else str(value) for name, value in env.items()}


def container_ports(service):
    """The container-side ports a service publishes."""
    ports = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ports.add(int(port["target"]))
        else:
            ports.add(int(str(port).rsplit(":", 1)[-1].split("/")[0]))
    return ports


def mounts(service):
    """``{container path: source}`` of a service's volumes."""
    found = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            found[volume["target"]] = volume.get("source")
        else:
            source, target = volume.split(":")[:2]
            found[target] = source
    return found


def depends_on(service):
    """``{service: condition}`` a service waits for."""
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: dep.get("condition", "service_started") for name, dep in deps.items()}


def command_text(service):
    command = service["command"]
    return command if isinstance(command, str) else " ".join(command)


def dockerfile():
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


@pytest.fixture
def load_gunicorn_conf(monkeypatch):
    """Run gunicorn.conf.py under the given environment; return its names."""

    def load(**env):
        for name in GUNICORN_ENV:
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(ROOT / "gunicorn.conf.py"))

    return load


def documented_settings():
    """``{NAME: value}`` of the ``NAME=value`` lines in .env.example."""
    pattern = re.compile(r"#?\s*([A-Z][A-Z0-9_]*)=(.*)")
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {m[1]: m[2].strip() for m in map(pattern.fullmatch, lines) if m}


# --- docker-compose.yml --------------------------------------------------------


def test_compose_defines_the_six_services(services):
    assert set(services) == SERVICES


def test_elasticsearch_is_an_8x_single_node_without_security(services):
    elasticsearch = services["elasticsearch"]
    env = environment(elasticsearch)
    assert elasticsearch["image"].startswith(
        "docker.elastic.co/elasticsearch/elasticsearch:8."
    )
    assert env["discovery.type"] == "single-node"
    assert env["xpack.security.enabled"].lower() == "false"


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_services_have_a_healthcheck(services, name):
    healthcheck = services[name].get("healthcheck", {})
    assert healthcheck.get("test")
    assert not healthcheck.get("disable", False)


def test_healthchecks_probe_each_service(services):
    assert "pg_isready" in str(services["postgres"]["healthcheck"]["test"])
    assert "_cluster/health" in str(services["elasticsearch"]["healthcheck"]["test"])
    assert "ping" in str(services["redis"]["healthcheck"]["test"])
    assert "/healthz" in str(services["app"]["healthcheck"]["test"])


def test_loader_runs_once(services):
    loader = services["loader"]
    assert loader["restart"] == "no"
    assert "ports" not in loader
    # Nothing listens there: the image's healthcheck must not mark it unhealthy.
    assert loader["healthcheck"] == {"disable": True}


def test_loader_and_app_share_one_image_built_once(services):
    assert services["loader"]["image"] == services["app"]["image"]
    assert "build" in services["loader"]
    assert "build" not in services["app"]
    assert services["app"]["pull_policy"] == "never"


def test_the_app_listens_publishes_and_is_checked_on_port(compose):
    app = compose["services"]["app"]
    assert environment(app)["PORT"] == "8000"
    assert app["ports"] == ["8000:8000"]
    check = " ".join(app["healthcheck"]["test"])
    assert "os.environ['PORT']" in check
    raw = (ROOT / "docker-compose.yml").read_text()
    assert '"${PORT:-8000}:${PORT:-8000}"' in raw
    assert "PORT: ${PORT:-8000}" in raw


def test_every_required_variable_is_marked(services):
    for name in CATALOGUE_SERVICES:
        assert environment(services[name])["JWT_SECRET_KEY"] == "<required>"
    assert environment(services["postgres"])["POSTGRES_PASSWORD"] == "<required>"


@pytest.mark.parametrize(
    ("name", "port"),
    [("app", 8000), ("postgres", 5432), ("elasticsearch", 9200), ("redis", 6379)],
)
def test_services_publish_their_port(services, name, port):
    assert port in container_ports(services[name])


def test_app_waits_for_the_loader_and_healthy_backends(services):
    assert depends_on(services["app"]) == {
        "loader": "service_completed_successfully",
        "postgres": "service_healthy",
        "elasticsearch": "service_healthy",
        "redis": "service_healthy",
    }
    assert depends_on(services["loader"]) == {
        "postgres": "service_healthy",
        "elasticsearch": "service_healthy",
        "redis": "service_healthy",
    }


@pytest.mark.parametrize("name", CATALOGUE_SERVICES)
def test_elasticsearch_url_names_the_elasticsearch_service(services, name):
    url = urlsplit(environment(services[name])["ELASTICSEARCH_URL"])
    assert url.hostname == "elasticsearch"
    assert url.port in container_ports(services["elasticsearch"])


@pytest.mark.parametrize("name", CATALOGUE_SERVICES)
def test_redis_url_names_the_redis_service(services, name):
    url = urlsplit(environment(services[name])["REDIS_URL"])
    assert url.scheme == "redis"
    assert url.hostname == "redis"
    assert url.port in container_ports(services["redis"])


@pytest.mark.parametrize("name", CATALOGUE_SERVICES)
def test_database_url_names_the_postgres_service_and_its_user(services, name):
    url = urlsplit(environment(services[name])["DATABASE_URL"])
    postgres = environment(services["postgres"])
    assert url.scheme == "postgresql"
    assert url.hostname == "postgres"
    assert url.port in container_ports(services["postgres"])
    assert url.username == postgres["POSTGRES_USER"]
    assert url.password == postgres["POSTGRES_PASSWORD"]
    assert url.path == f"/{postgres['POSTGRES_DB']}"


def test_the_worker_runs_reports_on_the_apps_queue(services):
    worker = services["worker"]
    assert command_text(worker) == "flask reports worker"
    assert worker["image"] == services["app"]["image"]
    assert environment(worker)["REDIS_URL"] == environment(services["app"])["REDIS_URL"]
    assert depends_on(worker) == {
        "loader": "service_completed_successfully",
        "postgres": "service_healthy",
        "redis": "service_healthy",
    }
    assert worker["healthcheck"] == {"disable": True}


def test_redis_keeps_the_queue_across_restarts_and_evictions(services):
    command = command_text(services["redis"])
    assert "--appendonly yes" in command
    assert "--maxmemory-policy volatile-lru" in command
    assert "/data" in mounts(services["redis"])


@pytest.mark.parametrize("name", ("app", "worker"))
def test_the_api_and_the_workers_share_no_file(services, name):
    # Any number of them run on machines of their own: PostgreSQL, Elasticsearch
    # and Redis hold all they share.
    assert "volumes" not in services[name]
    assert "DATABASE_PATH" not in environment(services[name])


def test_the_legacy_file_is_the_loaders_alone(compose, services):
    database = PurePosixPath(environment(services["loader"])["DATABASE_PATH"])
    holding = [
        source
        for target, source in mounts(services["loader"]).items()
        if PurePosixPath(target) in database.parents
    ]
    assert len(holding) == 1
    assert holding[0] in compose["volumes"]
    assert "/var/lib/postgresql/data" in mounts(services["postgres"])


def test_loader_generates_then_upgrades_then_imports_then_indexes(services):
    script = command_text(services["loader"])
    steps = [
        "flask data generate",
        "flask db upgrade",
        'flask db import "$$DATABASE_PATH"',
        "flask etl run",
    ]
    positions = [script.index(step) for step in steps]
    assert positions == sorted(positions)
    assert "set -e" in script, "a failed step must stop the loader and the app"
    assert re.search(r"\[ ! -f \"?\$+DATABASE_PATH\"? \]", script), (
        "generation must be skipped when the database exists"
    )


@pytest.mark.parametrize("name", CATALOGUE_SERVICES)
def test_compose_sets_only_settings_the_app_reads(services, name):
    # from_environment() rather than app.config: the latter also holds keys that
    # are not read from the environment, which compose could not change.
    known = set(settings.from_environment()) | set(GUNICORN_ENV)
    assert set(environment(services[name])) <= known


def test_app_may_open_a_file_per_connection(services, load_gunicorn_conf):
    one_worker = load_gunicorn_conf(GUNICORN_WORKERS="1")
    nofile = services["app"]["ulimits"]["nofile"]
    soft = nofile["soft"] if isinstance(nofile, dict) else nofile
    assert soft > one_worker["worker_connections"]


def test_app_stop_waits_longer_than_gunicorn_drains(services, load_gunicorn_conf):
    grace = services["app"]["stop_grace_period"]
    assert re.fullmatch(r"\d+s", grace)
    assert int(grace[:-1]) > load_gunicorn_conf()["graceful_timeout"]


# --- Dockerfile -----------------------------------------------------------------


def test_image_is_python_slim():
    bases = [arguments for keyword, arguments in dockerfile() if keyword == "FROM"]
    assert bases[-1] == "python:3.11-slim"


def test_image_runs_as_a_non_root_user():
    keywords = [keyword for keyword, _ in dockerfile()]
    users = [arguments for keyword, arguments in dockerfile() if keyword == "USER"]
    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}
    start = min(keywords.index(k) for k in ("CMD", "ENTRYPOINT") if k in keywords)
    assert max(i for i, k in enumerate(keywords) if k == "USER") < start


def test_image_starts_gunicorn_as_pid_1():
    instructions = dict(dockerfile())
    # Exec (JSON) form: gunicorn itself receives docker's SIGTERM and drains.
    for keyword in ("ENTRYPOINT", "CMD"):
        assert instructions.get(keyword, "[").startswith("["), f"{keyword} shell form"
    command = json.loads(instructions.get("ENTRYPOINT", "[]"))
    command += json.loads(instructions.get("CMD", "[]"))
    assert command == ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]


def test_image_exposes_8000_and_checks_healthz():
    instructions = dict(dockerfile())
    assert instructions["EXPOSE"] == "8000"
    assert "/healthz" in instructions["HEALTHCHECK"]


def test_build_context_leaves_out_local_state():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "var", "node_modules", ".env"} <= set(ignored)


# --- gunicorn.conf.py -------------------------------------------------------------


def test_gunicorn_runs_gevent_without_preloading(load_gunicorn_conf):
    conf = load_gunicorn_conf()
    assert conf["worker_class"] == "gevent"
    assert conf["preload_app"] is False


@pytest.mark.parametrize("workers", [None, "1", "2", "3", "8", "64"])
def test_gunicorn_holds_ten_thousand_connections(load_gunicorn_conf, workers):
    conf = load_gunicorn_conf(**({"GUNICORN_WORKERS": workers} if workers else {}))
    if workers:
        assert conf["workers"] == int(workers)
    assert conf["workers"] * conf["worker_connections"] >= 10_000


def test_gunicorn_keeps_idle_clients(load_gunicorn_conf):
    assert load_gunicorn_conf()["keepalive"] >= 30


def test_gunicorn_accepts_every_setting(load_gunicorn_conf):
    conf = load_gunicorn_conf()
    cfg = Config()
    for name, value in conf.items():
        if name.startswith("_") or ismodule(value):
            continue
        assert name in cfg.settings, f"gunicorn has no setting {name!r}"
        cfg.set(name, value)
    assert cfg.worker_class.__name__ == "GeventWorker"


@pytest.mark.parametrize(
    ("env", "bind"),
    [
        ({}, "0.0.0.0:8000"),
        ({"PORT": "9000"}, "0.0.0.0:9000"),
        ({"PORT": "9000", "BIND": "127.0.0.1:8001"}, "127.0.0.1:8001"),
    ],
)
def test_gunicorn_binds_from_the_environment(load_gunicorn_conf, env, bind):
    assert load_gunicorn_conf(**env)["bind"] == bind


def test_gunicorn_access_log_is_off_unless_asked(load_gunicorn_conf):
    assert load_gunicorn_conf()["accesslog"] is None
    assert load_gunicorn_conf(GUNICORN_ACCESSLOG="true")["accesslog"] == "-"


def test_gunicorn_yields_after_each_request(load_gunicorn_conf, monkeypatch):
    sleeps = []
    monkeypatch.setattr(gevent, "sleep", sleeps.append)
    load_gunicorn_conf()["post_request"](None, None, {}, None)
    assert sleeps == [0]


class RecordingLog:
    def __init__(self):
        self.warnings = []

    def warning(self, message, *args):
        self.warnings.append(message % args)


class FakeServer:
    def __init__(self):
        self.log = RecordingLog()


@pytest.mark.parametrize(
    ("limits", "raised", "warns"),
    [
        ((1024, 65536), (65536, 65536), False),
        ((65536, 65536), None, False),
        ((1024, 2048), (2048, 2048), True),
    ],
)
def test_gunicorn_raises_the_open_files_limit(
    load_gunicorn_conf, monkeypatch, limits, raised, warns
):
    conf = load_gunicorn_conf(GUNICORN_WORKERS="2")
    calls = []
    monkeypatch.setattr("resource.getrlimit", lambda _: limits)
    monkeypatch.setattr("resource.setrlimit", lambda _, value: calls.append(value))
    server = FakeServer()
    conf["_raise_open_files_limit"](server)
    assert calls == ([raised] if raised else [])
    assert bool(server.log.warnings) == warns


# --- .env.example ------------------------------------------------------------------


def test_env_example_documents_every_setting():
    assert set(settings.from_environment()) <= set(documented_settings())


def test_env_example_shows_the_defaults(monkeypatch):
    for name in settings.from_environment():
        monkeypatch.delenv(name, raising=False)
    documented = documented_settings()
    for name, default in settings.from_environment().items():
        shown = documented[name]
        if default is None:
            assert shown == "", name
        elif isinstance(default, bool):
            assert shown == str(default).lower(), name
        elif name.endswith("_PATH"):
            assert settings.PROJECT_ROOT / shown == Path(default), name
        elif isinstance(default, tuple):
            assert tuple(item.strip() for item in shown.split(",")) == default, name
        else:
            assert type(default)(shown) == default, name


def test_env_example_documents_gunicorn_variables():
    source = (ROOT / "gunicorn.conf.py").read_text()
    read = set(re.findall(r"environ\.get\(\s*[\"']([A-Z0-9_]+)[\"']", source))
    assert read == set(GUNICORN_ENV)
    assert read <= set(documented_settings())


def test_env_example_explains_every_variable():
    lines = (ROOT / ".env.example").read_text().splitlines()
    for i, line in enumerate(lines):
        if re.fullmatch(r"#?\s*[A-Z][A-Z0-9_]*=.*", line):
            comment = lines[i - 1]
            assert comment.startswith("# "), line
            assert not re.fullmatch(r"#\s*[A-Z][A-Z0-9_]*=.*", comment), line


# --- test tools -------------------------------------------------------------------


def test_newman_is_pinned_exactly():
    package = json.loads((ROOT / "postman" / "package.json").read_text())
    assert package["private"] is True
    assert re.fullmatch(r"\d+\.\d+\.\d+", package["dependencies"]["newman"])


def test_the_api_description_states_the_server_s_own_limits(load_gunicorn_conf):
    conf = load_gunicorn_conf()
    for limit in ("limit_request_line", "limit_request_field_size"):
        assert f"{conf[limit]:,} bytes" in API_DESCRIPTION
    assert f"more than {conf['limit_request_fields']} headers" in API_DESCRIPTION
