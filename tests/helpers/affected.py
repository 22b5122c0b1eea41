"""A recorded project for fastci affected: real git, a real recorded run, copies to change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LEAKY_VARIABLES
from tests.helpers.cli import fastci_process
from tests.helpers.git import commit, git, new_project

QUIET_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "NO_COLOR": "1"}

# One file per kind of dependency; tests/test_calc.py imports pkg.consts first, so when
# tests/test_limits.py imports it too the import finds it loaded and runs no code.
FILES = {
    "pyproject.toml": """\
[tool.pytest.ini_options]
testpaths = ["tests"]
markers = ["slow: a slow test"]

[tool.fastci]
always_run = ["slow"]
affected_env = ["SHOP_MODE"]

[tool.fastci.inputs]
"templates/*.html" = ["tests/test_words.py"]
"schema/*.sql" = []
""",
    "README.md": "# shop\n",
    "pkg/__init__.py": "VERSION = 1\n",
    "pkg/consts.py": "LIMIT = 10\n",
    "pkg/calc.py": "from pkg.consts import LIMIT\n\n\ndef add(a, b):\n"
    "    return min(a + b, LIMIT)\n",
    "pkg/shapes.py": "class Box:\n    size = 3\n",
    "pkg/users.py": "def make_user():\n    return {'name': 'ann'}\n",
    "pkg/db.py": "def connect():\n    return {'rows': 2}\n",
    "pkg/old.py": "def old():\n    return 1\n",
    "pkg/plugins/__init__.py": "",
    "pkg/plugins/greet.py": "def greet():\n    return 'hi'\n",
    "data/words.txt": "apple\npear\n",
    "templates/page.html": "<p>hi</p>\n",
    "schema/db.sql": "CREATE TABLE t (x);\n",
    "tests/conftest.py": """\
import pytest


@pytest.fixture
def user():
    from pkg.users import make_user
    return make_user()


@pytest.fixture(scope="session")
def db():
    from pkg.db import connect
    return connect()
""",
    "tests/test_calc.py": "from pkg.calc import add\n\n\ndef test_add():\n"
    "    assert add(1, 2) == 3\n",
    "tests/test_limits.py": "from pkg.consts import LIMIT\n\n\ndef test_limit():\n"
    "    assert LIMIT == 10\n",
    "tests/test_shapes.py": """\
import pytest

from pkg.shapes import Box


def test_box():
    assert Box.size == 3


@pytest.mark.slow
def test_slow():
    pass
""",
    "tests/test_users.py": "def test_user(user):\n    assert user['name'] == 'ann'\n",
    "tests/test_db.py": "def test_one(db):\n    assert db['rows'] == 2\n\n\n"
    "def test_two(db):\n    assert db['rows'] > 0\n",
    "tests/test_words.py": "def test_words():\n"
    "    with open('data/words.txt') as f:\n        assert 'pear' in f.read().split()\n",
    "tests/test_plugins.py": "import importlib\n\n\ndef test_greet():\n"
    "    assert importlib.import_module('pkg.plugins.greet').greet() == 'hi'\n",
    "tests/test_old.py": "from pkg.old import old\n\n\ndef test_old():\n    assert old() == 1\n",
    "tests/test_fails.py": "def test_broken():\n    assert False\n\n\ndef test_fine():\n    pass\n",
}


def run_fastci(root: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return fastci_process(root, *args, env={**QUIET_ENV, **(env or {})}, timeout=180)


def recorded_project(base: Path) -> Path:
    """The project, committed and run once with --record-deps on one worker."""
    with pytest.MonkeyPatch.context() as patch:
        for name in LEAKY_VARIABLES:
            patch.delenv(name, raising=False)
        root = new_project(base / "recorded", FILES)
        run = run_fastci(root, "run", "-j", "1", "--record-deps")
        assert run.returncode == 1, run.stdout + run.stderr  # test_broken fails
    return root


def recorded(tmp_path: Path, files: dict[str, str]) -> Path:
    """The project, after one recorded run of its whole suite."""
    with pytest.MonkeyPatch.context() as patch:
        for name in LEAKY_VARIABLES:
            patch.delenv(name, raising=False)
        root = new_project(tmp_path / "recorded", files)
        run = run_fastci(root, "run", "-j", "1", "--record-deps")
        assert run.returncode == 0, run.stdout + run.stderr
    return root


def changed_copy(recorded: Path, target: Path, files: dict[str, str | None]) -> Path:
    """A copy of the recorded project (its store and git too) with ``files`` written or,
    for None, deleted."""
    shutil.copytree(recorded, target, symlinks=True)
    for name, text in files.items():
        path = target / name
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return target


def affected(root: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    proc = run_fastci(root, "affected", "--json", *args, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


__all__ = [
    "affected",
    "changed_copy",
    "commit",
    "git",
    "recorded",
    "recorded_project",
    "run_fastci",
]
