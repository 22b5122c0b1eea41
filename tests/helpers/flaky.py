"""Flaky tests on demand, for the tests of reruns, flakiness history and quarantine."""

from __future__ import annotations

from tests.helpers.git import git
from tests.helpers.projects import Project

# Fails on even-numbered runs, passes on odd ones: the count lives in an untracked file
# beside it (so the git tree stays the same from run to run).
EVERY_OTHER_RUN = """
from pathlib import Path

def test_every_other_run():
    state = Path(__file__).with_name("runs.txt")
    n = int(state.read_text()) if state.exists() else 0
    state.write_text(str(n + 1))
    assert n % 2 == 1, f"run {n} fails"
"""
FLIP = "tests/test_flip.py::test_every_other_run"


def write_flaky_suite(project: Project) -> None:
    """A flaky test beside a steady one, committed to a new git repository."""
    project.write("tests/test_flip.py", EVERY_OTHER_RUN)
    project.write("tests/test_steady.py", "def test_steady():\n    pass\n")
    project.write(".gitignore", ".fastci/\nruns.txt\n__pycache__/\n")
    git(project.root, "init", "-q")
    commit_all(project, "a flaky suite")


def commit_all(project: Project, message: str) -> str:
    git(project.root, "add", "-A")
    git(project.root, "commit", "-q", "-m", message)
    return git(project.root, "rev-parse", "HEAD").strip()
