"""Fixtures the resource tests share: the small catalogue, a rebuilt legacy
catalogue and an app whose search engine is down.
"""

import functools

import pytest

from tests.app.resources.catalogue import REBUILDS, load_catalogue, rebuilt
from tests.fixtures.search import BACKENDS


@pytest.fixture
def api(search_app, indexer):
    """A client of the app under test, its backend holding the small catalogue."""
    load_catalogue(indexer)
    return search_app.test_client()


@pytest.fixture(params=REBUILDS)
def rebuild(request, search_app, search_config, tmp_path):
    """Build the legacy catalogue of ``search_app`` again, each way of REBUILDS.

    ``with rebuild() as client`` gives a client of the rebuilt catalogue.
    """
    return functools.partial(
        rebuilt, request.param, search_app, search_config, tmp_path / "rebuilt"
    )


@pytest.fixture(params=BACKENDS)
def unreachable_client(request, make_app, tmp_path):
    """A client of an app whose search engine cannot be reached.

    The embedded index was never built, or Elasticsearch is on a closed port.
    """
    if request.param == "embedded":
        app = make_app(EMBEDDED_SEARCH_PATH=str(tmp_path / "never-built.sqlite"))
    else:
        app = make_app(ELASTICSEARCH_URL="http://127.0.0.1:9")
    return app.test_client()
