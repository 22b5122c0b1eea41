"""Sharded --affected runs and their merge: the verdict says what was skipped, by whose data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers.affected import run_fastci
from tests.helpers.git import new_project

FILES = {
    "pkg/__init__.py": "",
    "pkg/a.py": "def a():\n    return 1\n",
    "pkg/b.py": "def b():\n    return 2\n",
    "tests/test_a.py": "from pkg.a import a\n\n\ndef test_a():\n    assert a() == 1\n",
    "tests/test_b.py": "from pkg.b import b\n\n\ndef test_b():\n    assert b() == 2\n",
}


def shards(root: Path, *args: str) -> None:
    for shard in ("1/2", "2/2"):
        run = run_fastci(root, "run", "--shard", shard, "--results", "out", *args)
        assert run.returncode == 0, run.stdout + run.stderr


def passing_merge(root: Path) -> Any:
    """``fastci merge`` of both shards' bundles in out/, which must pass."""
    merge = run_fastci(root, "merge", "out", "--expect-shards", "2")
    assert merge.returncode == 0, merge.stdout + merge.stderr
    return merge


def merged_affected_shards(root: Path) -> str:
    """Both shards run with --affected, then merged: the passing merge's output."""
    shards(root, "--affected")
    return str(passing_merge(root).stdout)


def recorded(tmp_path: Path) -> Path:
    root = new_project(tmp_path / "p", FILES)
    assert run_fastci(root, "run", "-j", "1", "--record-deps").returncode == 0
    return root


def test_the_merge_says_how_many_tests_were_skipped_and_by_which_commits_data(
    tmp_path: Path,
) -> None:
    root = recorded(tmp_path)
    (root / "pkg/a.py").write_text("def a():\n    return 2 - 1\n")  # same answer
    output = merged_affected_shards(root)
    assert "1 passed" in output
    assert "fastci: 1 tests skipped as unaffected, by the dependency data of commit" in output


def test_shards_that_select_nothing_pass_the_merge_with_a_line_saying_so(tmp_path: Path) -> None:
    root = recorded(tmp_path)
    (root / "README.md").write_text("# docs\n")
    output = merged_affected_shards(root)
    assert not list((root / "out").glob("fastci-shard-*"))
    assert "no test is affected by the changes since commit" in output
    assert "all 2 skipped" in output


def test_run_affected_without_any_data_runs_every_test(tmp_path: Path) -> None:
    root = new_project(tmp_path / "p", FILES)
    run = run_fastci(root, "run", "--affected", "-j", "1")
    assert run.returncode == 0
    assert "running every test" in run.stderr
    assert "2 passed" in run.stdout


def test_a_stale_nothing_affected_marker_never_hides_a_failing_bundle(tmp_path: Path) -> None:
    root = recorded(tmp_path)
    (root / "README.md").write_text("# docs\n")
    shards(root, "--affected")  # nothing affected: markers only
    (root / "pkg/a.py").write_text("def a():\n    return 0\n")
    run_fastci(root, "run", "-j", "1", "--results", "out")  # a later local run that fails
    merge = run_fastci(root, "merge", "out")
    assert merge.returncode == 1, merge.stdout + merge.stderr
    assert "no test is affected" not in merge.stdout
    assert "1 failed" in merge.stdout


def test_a_damaged_recording_in_a_bundle_costs_a_warning_not_the_verdict(tmp_path: Path) -> None:
    root = recorded(tmp_path)
    shards(root, "--record-deps")
    (root / "out/fastci-shard-1-of-2/deps.json").write_text("[]")
    merge = passing_merge(root)
    assert "2 passed" in merge.stdout
    assert "left out: not a dependency recording" in merge.stderr


def test_an_option_whose_value_is_an_existing_path_keeps_its_value(tmp_path: Path) -> None:
    root = recorded(tmp_path)
    (root / "report.xml").write_text("old")
    (root / "pkg/a.py").write_text("def a():\n    return 2 - 1\n")  # same answer
    run = run_fastci(root, "run", "--affected", "-j", "1", "--junitxml", "report.xml")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
    assert 'name="test_a"' in (root / "report.xml").read_text()
