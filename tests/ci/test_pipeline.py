"""``fastci pipeline``: the CI pipeline run locally, on real git repositories and real processes."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from fastci.ci.pipeline import installed_lint
from fastci.results.bundle import read_results
from tests.helpers.git import git
from tests.helpers.projects import Project
from tests.helpers.workflows import generate, make_project


def make_repo(project: Project, failing: bool = False) -> None:
    project.write("src/shop/__init__.py", "")
    project.write("src/shop/prices.py", "def vat(cents):\n    return cents * 120 // 100\n")
    for n in range(4):
        project.write(
            f"tests/test_part{n}.py",
            "import os, time\n"
            "from shop.prices import vat\n"
            f"def test_vat_{n}():\n"
            "    time.sleep(float(os.environ.get('SLOW', '0')))\n"
            f"    assert vat(100) == {121 if failing and n == 2 else 120}\n",
        )
    project.write("README.md", "# shop\n")
    project.write(
        "pyproject.toml",
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["src"]\n',
    )
    git(project.root, "init", "-q", "-b", "main")
    git(project.root, "add", "-A")
    git(project.root, "commit", "-q", "-m", "first")


def last_pipeline(project: Project) -> tuple[Path, dict[str, Any]]:
    runs = sorted(p for p in (project.root / ".fastci" / "pipeline").iterdir() if p.is_dir())
    data: dict[str, Any] = json.loads((runs[-1] / "pipeline.json").read_text())
    return runs[-1], data


def outcomes(bundles: Path) -> dict[str, str]:
    return {
        r.id: r.outcome
        for results in sorted(bundles.glob("fastci-shard-*/results.jsonl"))
        for r in read_results(results)
    }


def test_a_pipeline_gives_the_verdict_and_bundles_of_the_steps_run_by_hand(
    project: Project, tmp_path: Path
) -> None:
    make_repo(project, failing=True)
    proc = project.fastci("pipeline", "--shards", "2", "--skip", "deps", "--force")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    directory, state = last_pipeline(project)
    assert state["status"] == "failed"
    names = [s["name"] for s in state["steps"]]
    assert names[0] == "gate"
    assert state["steps"][0]["status"] == "passed"  # --force runs on past the gate's skip
    assert {"shard 1/2", "shard 2/2", "merge"} <= set(names)
    by_hand = tmp_path / "by-hand"
    env = {"FASTCI_RUN_ID": "by-hand"}
    for k in (1, 2):
        project.fastci("run", "--shard", f"{k}/2", "--results", str(by_hand), env=env)
    merged = project.fastci("merge", "--expect-shards", "2", str(by_hand), "-o",
                            str(tmp_path / "merged"), "--no-store")  # fmt: skip
    assert merged.returncode == proc.returncode
    assert outcomes(directory / "shards") == outcomes(by_hand)
    assert outcomes(by_hand)["tests/test_part2.py::test_vat_2"] == "failed"
    assert (directory / "report.html").exists()
    assert (directory / "merged" / "junit.xml").exists()


def test_a_docs_only_change_skips_the_pipeline(project: Project) -> None:
    make_repo(project)
    git(project.root, "checkout", "-q", "-b", "docs")
    project.write("README.md", "# shop\n\nNow with words.\n")
    git(project.root, "commit", "-q", "-am", "docs")
    proc = project.fastci("pipeline", "--shards", "2", "--skip", "deps")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _, state = last_pipeline(project)
    assert state["status"] == "skipped"
    assert [s["name"] for s in state["steps"]] == ["gate"]
    assert state["steps"][0]["status"] == "passed"  # saying "skip" is the gate doing its job
    assert "failed" not in proc.stdout
    assert "skip:" in proc.stdout


def test_a_second_pipeline_of_a_group_cancels_the_first_which_reports_cancelled(
    project: Project,
) -> None:
    make_repo(project)
    first = subprocess.Popen(
        [sys.executable, "-m", "fastci", "pipeline", "--shards", "2", "--skip", "deps",
         "--skip", "lint", "--force", "--group", "main"],
        cwd=project.root, env={**os.environ, "SLOW": "20"}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    pipelines = project.root / ".fastci" / "pipeline"
    while not list(pipelines.glob("*/logs/shard-1-of-2.log")):
        assert time.monotonic() < deadline, "the first pipeline never reached its shards"
        time.sleep(0.2)
    time.sleep(3)  # its shards are running their slow tests now
    second = project.fastci(
        "pipeline", "--shards", "2", "--skip", "deps", "--skip", "lint", "--force",
        "--group", "main",
    )  # fmt: skip
    out, err = first.communicate(timeout=120)
    assert first.returncode == 2, out + err
    assert "fastci pipeline cancelled" in out
    assert second.returncode == 0, second.stdout + second.stderr
    runs = sorted(p for p in pipelines.iterdir() if p.is_dir())
    states = [json.loads((r / "pipeline.json").read_text()) for r in runs]
    assert [s["status"] for s in states] == ["cancelled", "passed"]
    assert "cancelled by pipeline" in json.dumps(states[0])


MYPY_CONFIGS = {
    "mypy-names-its-files": '[tool.mypy]\nfiles = ["src"]\n',
    "mypy-on-the-project": "[tool.mypy]\nstrict = true\n",
    "no-mypy": "",
}


@pytest.mark.usefixtures("no_ci")
@pytest.mark.parametrize("mypy", MYPY_CONFIGS)
def test_the_pipeline_lints_with_the_very_commands_both_workflows_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mypy: str
) -> None:
    root = make_project(tmp_path / "project", MYPY_CONFIGS[mypy])
    local = [shlex.join(command.argv) for command in installed_lint(root)]
    github = generate(capsys, root, "github")["jobs"]["lint"]["steps"]
    gitlab = generate(capsys, root, "gitlab")["lint"]["script"]

    assert local == [s["run"] for s in github if s["name"] in ("ruff", "mypy")]
    assert local == [line for line in gitlab if line.startswith(("ruff", "mypy"))]
    assert len(local) == (1 if mypy == "no-mypy" else 2)  # both linters are installed here
