"""fastci affected and fastci run --affected as a user runs them: real processes, real git."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.affected import FILES, changed_copy, recorded_project, run_fastci
from tests.helpers.git import new_project


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return recorded_project(tmp_path_factory.mktemp("affected"))


def test_run_affected_runs_only_the_selected_tests(recorded: Path, tmp_path: Path) -> None:
    copy = changed_copy(recorded, tmp_path / "copy", {"data/words.txt": "apple\n"})
    run = run_fastci(copy, "run", "--affected", "-j", "1")
    # test_words now fails; test_broken failed at the data's commit; test_slow is always_run
    assert "2 failed, 1 passed" in run.stdout, run.stdout + run.stderr
    assert "3 selected, 9 skipped as unaffected" in run.stderr
    assert run.returncode == 1


def test_run_affected_with_nothing_selected_says_so_and_exits_0(tmp_path: Path) -> None:
    files = {k: v for k, v in FILES.items() if k != "tests/test_fails.py"}
    files["pyproject.toml"] = "[tool.pytest.ini_options]\ntestpaths = ['tests']\n"
    files["tests/test_shapes.py"] = "from pkg.shapes import Box\n\n\ndef test_box():\n    pass\n"
    root = new_project(tmp_path / "p", files)
    assert run_fastci(root, "run", "-j", "1", "--record-deps").returncode == 0
    (root / "README.md").write_text("# changed\n")
    run = run_fastci(root, "run", "--affected")
    assert run.returncode == 0
    assert "no test is affected by the changes since commit" in run.stdout
    assert "passed" not in run.stdout


def test_explain_names_the_changed_file_and_why_skipped_files_are_safe(
    recorded: Path, tmp_path: Path
) -> None:
    copy = changed_copy(
        recorded, tmp_path / "copy", {"pkg/db.py": "def connect():\n    return {}\n"}
    )
    lines = [
        " ".join(line.split())
        for line in run_fastci(copy, "affected", "--explain").stdout.splitlines()
    ]
    assert "tests/test_db.py every test in it: pkg/db.py: connect() changed" in lines
    assert "tests/test_words.py safe: none of its 1 tests ran or read changed code" in lines


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("no git", "is not in a git repository"),
        ("no store", "no timings store at"),
        ("no data", "holds no dependency data"),
    ],
)
def test_affected_without_data_is_a_usage_error(tmp_path: Path, setup: str, message: str) -> None:
    root = tmp_path / "p"
    if setup == "no git":
        root.mkdir()
        (root / "pyproject.toml").write_text("")
    else:
        root = new_project(root, {"tests/test_a.py": "def test_a():\n    pass\n"})
    if setup == "no data":
        assert run_fastci(root, "run", "-j", "1").returncode == 0
    proc = run_fastci(root, "affected")
    assert proc.returncode == 4
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_base_names_a_recorded_commit_or_fails_in_one_line(recorded: Path, tmp_path: Path) -> None:
    copy = changed_copy(recorded, tmp_path / "copy", {})
    assert run_fastci(copy, "affected", "--base", "HEAD").returncode == 0
    proc = run_fastci(copy, "affected", "--base", "HEAD~1")
    assert proc.returncode == 4
    assert "no dependency data recorded at HEAD~1" in proc.stderr
