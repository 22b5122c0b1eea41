"""Recording in workers: shards fold through fastci merge; coverage runs record nothing."""

from __future__ import annotations

from pathlib import Path

from fastci.affected import storage
from fastci.plan.store import TimingsStore
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
        "pkg/__init__.py", "pkg/db.py", "tests/conftest.py", "tests/test_db.py"
    ]  # fmt: skip
    (root / "pkg/db.py").write_text("def connect():\n    return {}\n")
    assert "tests/test_db.py::test_one" in affected(root)["selected"]


def test_a_coverage_run_records_nothing_so_every_test_runs(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p", {"tests/test_a.py": "def test_a():\n    pass\n"})
    assert run_fastci(root, "run", "-j", "1", "--record-deps", "--cov=tests").returncode == 0
    assert recorded_tests(root) == {}


def test_recording_is_off_unless_asked(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p", {"tests/test_a.py": "def test_a():\n    pass\n"})
    assert run_fastci(root, "run", "-j", "1").returncode == 0
    assert recorded_tests(root) == {}
    assert run_fastci(root, "run", "-j", "1", "--record-deps").returncode == 0
    assert recorded_tests(root) == {"tests/test_a.py::test_a": ["tests/test_a.py"]}


def test_a_sqlite_database_a_test_opens_is_recorded(tmp_path: Path) -> None:
    files = {
        "tests/test_db.py": "import sqlite3\n\n\ndef test_db():\n"
        "    sqlite3.connect('data.db').close()\n",
        "data.db": "",
    }
    root = new_project(tmp_path / "p", files)
    assert run_fastci(root, "run", "-j", "1", "--record-deps").returncode == 0
    assert recorded_tests(root) == {"tests/test_db.py::test_db": ["data.db", "tests/test_db.py"]}
