"""Swagger UI at /docs, rendered by a real headless browser with no internet."""

import os
import re
import shutil
import subprocess
import threading

import pytest
from werkzeug.serving import make_server

from tests.settings import make_test_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The flags a sandboxed, offline machine needs: no background fetches to Google.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@pytest.fixture
def docs_url(tmp_path):
    """URL of /docs served by a real HTTP server (docs only, no data needed)."""
    app = make_test_app(tmp_path / "none", DOCS_ONLY=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/docs"
    server.shutdown()
    thread.join()


@pytest.fixture
def chromium():
    """The headless browser that scripts/install-test-deps installs."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail(
                "chromium is missing on CI: scripts/install-test-deps installs it"
            )
        pytest.skip("chromium is not installed: run scripts/install-test-deps")
    return CHROMIUM


def rendered_dom(chromium, url, profile):
    """The page's DOM once its scripts have run."""
    result = subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_swagger_ui_renders_every_operation_of_the_spec(chromium, docs_url, tmp_path):
    dom = rendered_dom(chromium, docs_url, tmp_path / "profile")

    app = make_test_app(tmp_path / "none", DOCS_ONLY=True)
    spec = app.test_client().get("/openapi.json").json
    assert set(re.findall(r'data-path="([^"]+)"', dom)) == set(spec["paths"])
    assert re.search(r'<h2 class="title">Movie catalogue', dom)
    # The Authorize button, and a lock on each operation that needs a token.
    assert re.search(r'<button class="btn authorize[^"]*"', dom)
    secured = [
        operation
        for path in spec["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict) and operation.get("security")
    ]
    assert secured
    assert len(re.findall(r'class="authorization__btn[^"]*"', dom)) == len(secured)
