"""The layers' direction: every import of the service's packages points down.

On top, the entry points: the HTTP API (``app``), the ETL (``etl``), the report
jobs (``reports``) and the data generator (``datagen``); the composition root
(``service``, ``wsgi``) puts them together. Below them all, the core
(``catalogue``), which imports none of them. The entry points stand on the core
and beside each other: only the API may use the reports (it records and
enqueues jobs), and none of them imports the composition root.
"""

import ast

import pytest

from tests.commands import ROOT

PACKAGES = ("app", "catalogue", "etl", "reports", "datagen")
ROOTS = ("service", "wsgi")
# What each package must never import, by top-level name.
FORBIDDEN = {
    "catalogue": {"app", "etl", "reports", "datagen", *ROOTS},
    "app": {"etl", "datagen", *ROOTS},
    "etl": {"app", "reports", "datagen", *ROOTS},
    "reports": {"app", "etl", "datagen", *ROOTS},
    "datagen": {"app", "etl", "reports", *ROOTS},
}


def imported_modules(path):
    """Yield ``(line, module)`` for every absolute import in the file at ``path``.

    Imports inside functions count too. A relative import never leaves its own
    top-level package, so it cannot run against the layers.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and not node.level:
            yield node.lineno, node.module


def violations(root):
    """Return ``file:line imports module`` for each import against the layers."""
    found = []
    for package, forbidden in FORBIDDEN.items():
        for path in sorted((root / package).rglob("*.py")):
            for line, module in imported_modules(path):
                if module.partition(".")[0] in forbidden:
                    found.append(f"{path.relative_to(root)}:{line} imports {module}")
    return found


def test_every_import_of_the_packages_points_down():
    assert violations(ROOT) == []


def test_every_package_of_the_layers_exists():
    for package in PACKAGES:
        assert (ROOT / package / "__init__.py").is_file(), package


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        (
            "catalogue/db.py",
            "from app.errors import x\n",
            "catalogue/db.py:1 imports app.errors",
        ),
        (
            "catalogue/search/x.py",
            "def f():\n    import etl.cli\n",
            "catalogue/search/x.py:2 imports etl.cli",
        ),
        ("catalogue/x.py", "import service\n", "catalogue/x.py:1 imports service"),
        (
            "app/resources/x.py",
            "from etl import runner\n",
            "app/resources/x.py:1 imports etl",
        ),
        (
            "app/x.py",
            "from datagen.cli import data_cli\n",
            "app/x.py:1 imports datagen.cli",
        ),
        ("etl/x.py", "from app import caching\n", "etl/x.py:1 imports app"),
        (
            "reports/x.py",
            "from app.db import get_db\n",
            "reports/x.py:1 imports app.db",
        ),
        ("datagen/x.py", "import app.legacy\n", "datagen/x.py:1 imports app.legacy"),
    ],
)
def test_an_import_against_the_layers_is_found(tmp_path, path, source, expected):
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    file = tmp_path / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(source)

    assert violations(tmp_path) == [expected]


def test_imports_that_point_down_are_allowed(tmp_path):
    allowed = {
        "app/x.py": "from catalogue.db import get_db\nfrom reports import jobs\n",
        "etl/x.py": "from catalogue.indexing import extract\nfrom . import state\n",
        "reports/x.py": "from catalogue.threads import off_the_loop\n",
        "datagen/x.py": "from catalogue.legacy import create_legacy_tables\n",
        "catalogue/x.py": "from catalogue.search import get_search\nimport flask\n",
    }
    for package in PACKAGES:
        (tmp_path / package).mkdir()
    for path, source in allowed.items():
        (tmp_path / path).write_text(source)

    assert violations(tmp_path) == []
