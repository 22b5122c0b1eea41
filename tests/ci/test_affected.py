"""The generated workflows' test step records on the default branch and runs --affected
elsewhere: the very shell line of the workflow, run as CI would run it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.workflows import generate, make_project

pytestmark = pytest.mark.usefixtures("no_ci")


def shard_step(document: dict[str, Any]) -> str:
    steps = document["jobs"]["test"]["steps"]
    line: str = next(s["run"] for s in steps if "fastci run" in s.get("run", ""))
    return line


def run_line(project: Path, line: str, trusted: bool) -> subprocess.CompletedProcess[str]:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, "PATH": path, "SHARD": "1/1", "FASTCI_TRUSTED": str(trusted).lower()}
    return subprocess.run(
        ["bash", "-c", line], cwd=project, env=env, capture_output=True, text=True, check=False
    )


def merge(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fastci", "merge", "--expect-shards", "1", "results"],
        cwd=project, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_the_default_branch_records_and_a_pull_request_runs_only_the_affected_tests(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project = make_project(tmp_path / "shop")
    line = shard_step(generate(capsys, project, "github", "--shards", "1"))
    default_branch = run_line(project, line, trusted=True)
    assert "1 passed" in default_branch.stdout
    assert merge(project).returncode == 0  # folds the shard's recording into the store
    shutil.rmtree(project / "results")
    pull_request = run_line(project, line, trusted=False)
    assert pull_request.returncode == 0
    assert "no test is affected by the changes since commit" in pull_request.stdout
    verdict = merge(project)
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    assert "all 1 skipped" in verdict.stdout


@pytest.mark.parametrize(
    ("mode", "trusted", "other"),
    [
        ("always", "--record-deps --affected", "--affected"),
        ("never", "--record-deps", ""),
    ],
)
def test_the_affected_setting_chooses_where_tests_are_selected(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mode: str, trusted: str, other: str
) -> None:
    project = make_project(tmp_path / "shop")
    line = shard_step(generate(capsys, project, "github", "--shards", "1", "--affected", mode))
    command = 'fastci run --shard "$SHARD" --results results'
    assert line == (
        f'if [ "$FASTCI_TRUSTED" = true ]; then {command} {trusted}; '
        f"else {command}{' ' + other if other else ''}; fi"
    )


def test_gitlab_records_on_the_default_branch_and_selects_elsewhere(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project = make_project(tmp_path / "shop")
    document = generate(capsys, project, "gitlab", "--shards", "1")
    script = " ".join(document["test-py3.12"]["script"])
    assert (
        'if [ "$CI_COMMIT_BRANCH" = "$CI_DEFAULT_BRANCH" ]; then fastci run --results '
        "results/py3.12 --record-deps; else fastci run --results results/py3.12 --affected; fi"
    ) in script
