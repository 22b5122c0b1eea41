"""Recording in workers: what each test is charged with, shards folding through fastci merge,
coverage runs recording nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastci.affected import storage
from fastci.plan.store import TimingsStore
from fastci.plugin.launch import SPAWNED
from tests.helpers.affected import FILES, affected, run_fastci
from tests.helpers.git import new_project


def recorded_tests(root: Path) -> dict[str, list[str]]:
    with TimingsStore(root / ".fastci/timings.db") as store:
        commits = storage.recorded_commits(store)
        if not commits:
            return {}
        data = storage.load(store, commits[0][0])
    return {test: sorted(deps.files) for test, deps in data.tests.items()}


def test_shards_record_into_their_bundles_and_merge_folds_them_into_the_store(
    tmp_path: Path,
) -> None:
    root = new_project(tmp_path / "p", FILES)
    for shard in ("1/2", "2/2"):
        run = run_fastci(root, "run", "--shard", shard, "--results", "out", "--record-deps")
        assert run.returncode in (0, 1), run.stderr
    assert recorded_tests(root) == {}  # shards leave the store to the merge
    assert run_fastci(root, "merge", "out").returncode == 1  # test_broken fails
    tests = recorded_tests(root)
    assert len(tests) == 12
    assert tests["tests/test_db.py::test_two"] == [
        "pkg/__init__.py::", "pkg/db.py::", "pkg/db.py::connect",
        "tests/conftest.py::", "tests/conftest.py::db",
        "tests/test_db.py::", "tests/test_db.py::test_two",
    ]  # fmt: skip
    (root / "pkg/db.py").write_text("def connect():\n    return {}\n")
    assert "tests/test_db.py" in affected(root)["selected"]  # both tests: the whole file


def test_a_coverage_run_records_nothing_so_every_test_runs(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p", {"tests/test_a.py": "def test_a():\n    pass\n"})
    assert run_fastci(root, "run", "-j", "1", "--record-deps", "--cov=tests").returncode == 0
    assert recorded_tests(root) == {}


def test_recording_is_off_unless_asked(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p", {"tests/test_a.py": "def test_a():\n    pass\n"})
    assert run_fastci(root, "run", "-j", "1").returncode == 0
    assert recorded_tests(root) == {}
    assert run_fastci(root, "run", "-j", "1", "--record-deps").returncode == 0
    assert recorded_tests(root) == {
        "tests/test_a.py::test_a": ["tests/test_a.py::", "tests/test_a.py::test_a"]
    }


def test_a_sqlite_database_a_test_opens_is_recorded(tmp_path: Path) -> None:
    files = {
        "tests/test_db.py": "import sqlite3\n\n\ndef test_db():\n"
        "    sqlite3.connect('data.db').close()\n",
        "data.db": "",
    }
    root = new_project(tmp_path / "p", files)
    assert run_fastci(root, "run", "-j", "1", "--record-deps").returncode == 0
    assert recorded_tests(root) == {
        "tests/test_db.py::test_db": ["data.db", "tests/test_db.py::", "tests/test_db.py::test_db"]
    }


SERVED = {
    "lib/__init__.py": "",
    "lib/srv.py": "def work():\n    return 5\n",
    "tests/conftest.py": """\
import queue
import sys
import threading

import pytest


@pytest.fixture(scope="session")
def server():
    inbox, outbox = queue.Queue(), queue.Queue()

    def serve():
        while True:
            outbox.put(sys.modules[inbox.get()].work())  # no import: only the code runs

    threading.Thread(target=serve, daemon=True).start()
    return inbox, outbox
""",
    "tests/test_a.py": "import lib.srv  # noqa: F401\n\n\ndef test_load():\n    pass\n",
    "tests/test_b.py": """\
def test_start(server):
    pass


def test_served(server):
    inbox, outbox = server
    inbox.put("lib.srv")
    assert outbox.get(timeout=30) == 5
""",
}


def test_code_a_thread_started_by_an_earlier_test_runs_is_charged_to_the_running_test(
    tmp_path: Path,
) -> None:
    root = new_project(tmp_path / "p", SERVED)
    assert run_fastci(root, "run", "-j", "1", "--record-deps").returncode == 0
    tests = recorded_tests(root)
    assert "lib/srv.py::work" in tests["tests/test_b.py::test_served"]
    assert "lib/srv.py::work" not in tests["tests/test_b.py::test_start"]


PACKAGE = {
    "lib/__init__.py": "",
    "lib/b.py": "B = 2\n",
    "lib/c.py": "C = 3\n",
    "tests/conftest.py": "import pytest\n\n\n@pytest.fixture\ndef two():\n    return 2\n",
    "tests/test_b.py": "import lib.b\n\n\ndef test_b(two):\n    assert lib.b.B == two\n",
    "tests/test_c.py": "import lib.c\n\n\ndef test_c():\n    assert lib.c.C == 3\n",
}


@pytest.mark.parametrize("mode", ["prepend", "importlib"])
def test_a_package_init_and_a_conftest_are_charged_only_with_what_they_ran(
    tmp_path: Path, mode: str
) -> None:
    # A module body's record ends when its import does: a package's __init__ must not keep
    # the submodule imported after it, nor a conftest (imported outside importlib's loader
    # in importlib mode) what pytest ran after importing it.
    config = f'[tool.pytest.ini_options]\naddopts = "--import-mode={mode}"\n'
    root = new_project(tmp_path / "p", {**PACKAGE, "pyproject.toml": config})
    assert run_fastci(root, "run", "-j", "1", "--record-deps").returncode == 0
    assert recorded_tests(root) == {
        "tests/test_b.py::test_b": [
            "lib/__init__.py::", "lib/b.py::", "tests/conftest.py::", "tests/conftest.py::two",
            "tests/test_b.py::", "tests/test_b.py::test_b",
        ],
        "tests/test_c.py::test_c": [
            "lib/__init__.py::", "lib/c.py::", "tests/test_c.py::", "tests/test_c.py::test_c"
        ],
    }  # fmt: skip


def test_a_worker_that_dies_keeps_the_records_of_the_test_files_it_finished(
    tmp_path: Path,
) -> None:
    files = {
        "lib/__init__.py": "def one():\n    return 1\n",
        "tests/test_a.py": "import lib\n\n\ndef test_one():\n    assert lib.one() == 1\n",
        "tests/test_z.py": "import os\n\n\ndef test_dies():\n    os._exit(3)\n",
    }
    root = new_project(tmp_path / "p", files)
    run = run_fastci(root, "run", "-j", "1", "--record-deps")
    assert run.returncode == 1, run.stdout + run.stderr
    assert recorded_tests(root) == {
        "tests/test_a.py::test_one": [
            "lib/__init__.py::", "lib/__init__.py::one", "tests/test_a.py::",
            "tests/test_a.py::test_one",
        ]
    }  # fmt: skip


def test_a_test_that_measures_coverage_itself_depends_on_everything(tmp_path: Path) -> None:
    # Its coverage.py measurement pauses the recorder's until it stops: what ran is unseen.
    files = {
        "lib/__init__.py": "def one():\n    return 1\n",
        "tests/test_cov.py": """\
import coverage

import lib


def test_measures():
    measurement = coverage.Coverage(data_file=None)
    measurement.start()
    try:
        assert lib.one() == 1
    finally:
        measurement.stop()


def test_after():
    assert lib.one() == 1
""",
    }
    root = new_project(tmp_path / "p", files)
    assert run_fastci(root, "run", "-j", "1", "--record-deps").returncode == 0
    tests = recorded_tests(root)
    assert SPAWNED in tests["tests/test_cov.py::test_measures"]
    assert tests["tests/test_cov.py::test_after"] == [
        "lib/__init__.py::", "lib/__init__.py::one", "tests/test_cov.py::",
        "tests/test_cov.py::test_after",
    ]  # fmt: skip


def test_recording_changes_no_warning_a_test_sees(tmp_path: Path) -> None:
    # An import-time warning points at the importer, not at fastci's import wrappers, and
    # coverage.py's tracer under the recorder adds no warning of its own.
    files = {
        "lib/__init__.py": "",
        "lib/old.py": "import warnings\n\nwarnings.warn('old', DeprecationWarning, stacklevel=2)\n",
        "tests/test_old.py": """\
import pytest


def test_points_at_the_importer(tmp_path):
    with pytest.warns(DeprecationWarning) as caught:
        import lib.old  # noqa: F401
    assert caught[0].filename == __file__
""",
    }
    root = new_project(tmp_path / "p", files)
    run = run_fastci(root, "run", "-j", "1", "--record-deps")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Warning" not in run.stdout + run.stderr
    assert recorded_tests(root) == {
        "tests/test_old.py::test_points_at_the_importer": [
            "lib/__init__.py::", "lib/old.py::", "tests/test_old.py::",
            "tests/test_old.py::test_points_at_the_importer",
        ]
    }  # fmt: skip
