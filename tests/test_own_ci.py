"""fastci's own CI: .ci/run and the GitHub workflow fastci wrote for itself agree."""

from __future__ import annotations

import re
from pathlib import Path

from fastci.ci.doctor import check_workflows
from fastci.config import load_config

REPO = Path(__file__).resolve().parent.parent
WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"


def readme_test_command() -> str:
    """The second command of README.md's opening code block: the one that runs the tests."""
    block = re.search(r"```sh\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    assert block is not None, "README.md must open with a sh block of the two commands"
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(commands) == 2
    return commands[1]


def test_the_workflow_is_exactly_what_fastci_workflow_writes_for_this_repository() -> None:
    (finding,) = check_workflows(load_config(root=REPO))
    assert finding.level == "ok", finding.message


def test_ci_run_runs_the_readme_test_command_and_every_lint_the_workflow_runs() -> None:
    ci_run = (REPO / ".ci" / "run").read_text()
    assert readme_test_command() in ci_run.splitlines()
    workflow = WORKFLOW.read_text()
    for lint in ("ruff check", "mypy"):
        assert f"run: {lint}" in workflow
        assert any(line.startswith(lint) for line in ci_run.splitlines()), lint


def test_both_run_the_suite_with_fastci() -> None:
    assert readme_test_command().endswith("fastci run")
    assert 'fastci run --shard "$SHARD"' in WORKFLOW.read_text()
