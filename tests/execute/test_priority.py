"""Failures first: real runs of fastci whose order comes from the store's last run and the files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fastci.results.bundle import read_results
from tests.helpers.git import commit, git
from tests.helpers.projects import Project

# Longest first puts the slow files first and the quick, many-test file (test_z) last.
SLOW_FILES = {
    f"tests/test_{name}.py": f"import time\n\ndef test_{name}():\n    time.sleep({seconds})\n"
    for name, seconds in (("a", 0.3), ("b", 0.25), ("c", 0.2), ("d", 0.15))
}
LATE_PASSING = "".join(f"def test_z{n}():\n    pass\n\n" for n in range(5))
FAILS_ON_FLAG = "def test_z_flag():\n    import os\n    assert not os.path.exists('fail-now')\n"
LATE_FAILING = LATE_PASSING + "def test_z_broken():\n    assert 1 == 2\n"


def write_suite(project: Project, late: str = LATE_PASSING) -> None:
    for path, text in SLOW_FILES.items():
        project.write(path, text)
    project.write("tests/test_z.py", late)


def run(project: Project, results: Path, *args: str) -> tuple[int, list[str], dict[str, Any]]:
    """``fastci run -j 1`` with a bundle: its exit code, the units in the order they started,
    and the manifest."""
    proc = project.fastci("run", "-j", "1", "--results", str(results), *args)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    bundle = results / "fastci-local"
    manifest: dict[str, Any] = json.loads((bundle / "manifest.json").read_text())
    spans = sorted(manifest["units"], key=lambda s: s["start"])
    return proc.returncode, [s["unit"] for s in spans], manifest


def ran_tests(results: Path) -> list[str]:
    return [r.id for r in read_results(results / "fastci-local" / "results.jsonl") if r.is_test]


def later(path: Path) -> None:
    """Mark a file modified after every run so far, whatever the file system's clock grain."""
    stamp = time.time() + 2
    os.utime(path, (stamp, stamp))


def test_the_file_that_failed_last_run_starts_first(project: Project, tmp_path: Path) -> None:
    write_suite(project, LATE_PASSING + FAILS_ON_FLAG)
    run(project, tmp_path / "r1")  # all pass: the store knows every file's duration
    (project.root / "fail-now").touch()  # the code under test breaks; no test file changes
    code, first_order, _ = run(project, tmp_path / "r2")
    assert code == 1
    assert first_order[-1] == "tests/test_z.py"  # longest first: the quick file last
    code, order, _ = run(project, tmp_path / "r3")
    assert code == 1
    assert order[0] == "tests/test_z.py"
    assert order[1:] == first_order[:-1]  # the rest keep the plan's longest-first order
    (project.root / "fail-now").unlink()
    run(project, tmp_path / "r4")  # fixed: the failure is no longer the newest run's
    _, order, _ = run(project, tmp_path / "r5")
    assert order == first_order


def test_order_longest_keeps_the_plan_order_after_a_failure(
    project: Project, tmp_path: Path
) -> None:
    write_suite(project, LATE_PASSING + FAILS_ON_FLAG)
    run(project, tmp_path / "r1")
    (project.root / "fail-now").touch()
    run(project, tmp_path / "r2")
    _, order, _ = run(project, tmp_path / "r3", "--order", "longest")
    assert order[-1] == "tests/test_z.py"


def test_a_new_untracked_test_file_starts_first(project: Project, tmp_path: Path) -> None:
    git(project.root, "init", "--quiet", "--initial-branch=main")
    write_suite(project)
    commit(project.root, {})
    run(project, tmp_path / "r1")
    project.write("tests/test_new.py", "def test_new():\n    pass\n")
    _, order, _ = run(project, tmp_path / "r2")
    assert order[0] == "tests/test_new.py"


def test_a_file_changed_since_the_recorded_commit_starts_first_and_a_touched_one_does_not(
    project: Project, tmp_path: Path
) -> None:
    git(project.root, "init", "--quiet", "--initial-branch=main")
    write_suite(project)
    commit(project.root, {})
    run(project, tmp_path / "r1")
    later(project.root / "tests/test_b.py")  # touched, but the same as the commit
    later(project.write("tests/test_c.py", SLOW_FILES["tests/test_c.py"] + "# edited\n"))
    _, order, _ = run(project, tmp_path / "r2")
    assert order[0] == "tests/test_c.py"
    assert order[1:] == ["tests/test_a.py", "tests/test_b.py", "tests/test_d.py", "tests/test_z.py"]


def test_with_x_a_failure_injected_into_a_late_file_stops_the_run_after_fewer_tests(
    project: Project, tmp_path: Path
) -> None:
    write_suite(project)
    run(project, tmp_path / "recorded")  # all pass: the store knows every file
    later(project.write("tests/test_z.py", LATE_FAILING))
    code, _, _ = run(project, tmp_path / "longest", "-x", "--order", "longest")
    in_plan_order = ran_tests(tmp_path / "longest")
    later(project.root / "tests/test_z.py")
    code_first, order, _ = run(project, tmp_path / "first", "-x")
    first = ran_tests(tmp_path / "first")
    assert (code, code_first) == (1, 1)
    assert order == ["tests/test_z.py"]
    assert len(first) <= len(LATE_FAILING.split("def ")) - 1
    assert len(first) < len(in_plan_order)
    in_file_order = subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly", "-p", "no:cacheprovider"],
        cwd=project.root, capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    assert "1 failed, 9 passed" in in_file_order  # the four slow files, then test_z's five
    assert len(first) < 9 + 1
    assert "tests/test_a.py::test_a" in in_plan_order
    assert "tests/test_a.py::test_a" not in first


def test_with_maxfail_the_unit_with_most_tests_per_second_starts_first(
    project: Project, tmp_path: Path
) -> None:
    write_suite(project)
    run(project, tmp_path / "recorded")
    _, order, _ = run(project, tmp_path / "stop", "--maxfail", "3")
    assert order[0] == "tests/test_z.py"  # five quick tests beat one slow one
    assert order[1:] == ["tests/test_d.py", "tests/test_c.py", "tests/test_b.py", "tests/test_a.py"]
