"""A damaged, unbounded or unwritable timings store never fails a command it only caches for."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.projects import Project, write_report
from tests.helpers.shop import ShardedRun

STORE = ".fastci/timings.db"


def warnings(stderr: str) -> list[str]:
    assert "Traceback" not in stderr
    assert "internal error" not in stderr
    return [line for line in stderr.splitlines() if line.startswith("fastci: warning:")]


@pytest.fixture
def known(project: Project) -> Project:
    """Two test files and a store that holds one run of them."""
    project.write("tests/test_a.py", "def test_a1(): pass\ndef test_a2(): pass\n")
    project.write("tests/test_b.py", "def test_b1(): pass\n")
    report = project.root / "report.jsonl"
    write_report(report, {"tests/test_a.py::test_a1": 1.0, "tests/test_b.py::test_b1": 2.0})
    proc = project.fastci("timings", "import", str(report))
    assert proc.returncode == 0, proc.stderr
    return project


def test_a_damaged_schema_version_is_moved_aside_and_the_plan_goes_on(known: Project) -> None:
    db = sqlite3.connect(known.root / STORE)
    db.execute("UPDATE meta SET value = 'abc' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    proc = known.fastci("plan")
    assert proc.returncode == 0, proc.stderr
    (line,) = warnings(proc.stderr)
    assert "its schema_version is 'abc', not a number); moved it to timings.db.corrupt-" in line


def damage_page_of(path: Path, name: str) -> None:
    """Write garbage over the first page of a table or index, as a bad disk or copy would."""
    db = sqlite3.connect(path)
    (root,) = db.execute("SELECT rootpage FROM sqlite_schema WHERE name = ?", (name,)).fetchone()
    (size,) = db.execute("PRAGMA page_size").fetchone()
    db.close()
    with path.open("r+b") as f:
        f.seek((root - 1) * size)
        f.write(b"\xde\xad\xbe\xef" * (size // 4))


@pytest.mark.parametrize("name", ["samples", "reports", "tests_by_file"])
def test_exporting_a_store_damaged_in_its_pages_fails_with_exit_7_and_moves_it_aside(
    known: Project, name: str
) -> None:
    damage_page_of(known.root / STORE, name)
    proc = known.fastci("timings", "export", "-o", "out.jsonl")
    assert proc.returncode == 7, proc.stdout + proc.stderr
    assert proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert line.startswith("fastci: error: timings store ")
    assert "malformed" in line
    assert line.endswith("; nothing was exported")
    assert not (known.root / "out.jsonl").exists()
    assert len(list((known.root / ".fastci").glob("timings.db.corrupt-*"))) == 1
    assert known.fastci("plan").returncode == 0


@pytest.mark.parametrize(
    "where", ["--estimate-window=99999999999999999999", "--estimate-window=1001", "pyproject"]
)
def test_an_estimate_window_beyond_1000_is_a_one_line_usage_error(
    known: Project, where: str
) -> None:
    args = [where]
    if where == "pyproject":
        with (known.root / "pyproject.toml").open("a") as f:
            f.write("\n[tool.fastci]\nestimate_window = 99999999999999999999\n")
        args = []
    proc = known.fastci("plan", *args)
    assert proc.returncode == 4, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert "estimate" in line
    assert "must be a whole number from 1 to 1000" in line


@contextlib.contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """Make ``path`` truly unwritable, also for root: chattr +i there, file modes elsewhere."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(mode & 0o555)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"root cannot make {path} immutable here: {made.stderr.strip()!r}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@contextlib.contextmanager
def blocked_store(project: Project, how: str) -> Iterator[None]:
    state = project.root / ".fastci"
    if how == "a file where the state directory belongs":
        for path in state.iterdir():
            path.unlink()
        state.rmdir()
        state.write_text("not a directory\n")
        yield
        return
    assert not list(state.glob("timings.db-*")), "no journal left: SQLite needs to make one"
    with unwritable(state / "timings.db" if how == "read-only store file" else state):
        yield


@pytest.mark.parametrize(
    "how",
    [
        "read-only store file",
        "read-only state directory",
        "a file where the state directory belongs",
    ],
)
def test_a_store_that_cannot_be_written_costs_run_plan_and_merge_one_warning_line(
    known: Project, three_shards: ShardedRun, how: str
) -> None:
    with blocked_store(known, how):
        ran = known.fastci("run")
        planned = known.fastci("plan", "--estimate-window", "3")
        merged = known.fastci(
            "merge", str(three_shards.results), "-o", str(known.root / "merged"),
            "--root", str(three_shards.root), "--store", str(known.root / STORE),
        )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    (line,) = warnings(ran.stderr)
    assert line.startswith("fastci: warning: this run's timings were not stored: ")
    assert planned.returncode == 0, planned.stderr
    assert warnings(planned.stderr) == []
    assert merged.returncode == 0, merged.stdout + merged.stderr
    (line,) = warnings(merged.stderr)
    assert line.startswith("fastci: warning: the shards' timings were not stored: ")
    assert (known.root / "merged" / "junit.xml").exists()
