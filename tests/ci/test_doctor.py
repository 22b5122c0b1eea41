"""``fastci doctor``: what it finds in real projects, and its exit code."""

from __future__ import annotations

from fastci.results.timings import ReportWriter, RunHeader, TestRecord
from tests.ci.test_pipeline import make_repo
from tests.helpers.git import git
from tests.helpers.projects import Project


def findings(output: str) -> list[tuple[str, str]]:
    return [(line.split()[0], line.split()[1]) for line in output.splitlines() if "  " in line]


def test_a_fresh_project_gets_notes_not_problems(project: Project) -> None:
    make_repo(project)
    proc = project.fastci("doctor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ("note", "timings") in findings(proc.stdout)
    assert ("note", "deps") in findings(proc.stdout)
    assert proc.stdout.splitlines()[-1] == "0 problems found"


def test_a_test_that_passes_and_fails_on_one_tree_in_different_shards_is_a_problem(
    project: Project,
) -> None:
    make_repo(project)
    report = project.root / "runs.jsonl"
    for n, (outcome, shard) in enumerate([("passed", "1/2"), ("failed", "2/2")]):
        header = RunHeader(f"r{n}", f"run{n}", float(n), True, shard, commit="c1", tree="t1")
        writer = ReportWriter(report, header)
        writer.test(TestRecord("tests/test_part0.py::test_vat_0", "tests/test_part0.py",
                               0.0, 0.1, 0.0, outcome))  # fmt: skip
        writer.end(complete=True)
        writer.close()
    assert project.fastci("timings", "import", str(report)).returncode == 0
    proc = project.fastci("doctor")
    assert proc.returncode == 1
    line = next(x for x in proc.stdout.splitlines() if x.startswith("problem  outcomes"))
    assert "1 flaky tests: passed and failed on the same code" in line
    assert "1 of them in different shards" in line
    assert "tests/test_part0.py::test_vat_0" in line


def test_a_gate_pattern_that_matches_nothing_is_a_problem(project: Project) -> None:
    make_repo(project)
    pyproject = (project.root / "pyproject.toml").read_text()
    project.write("pyproject.toml", pyproject + '\n[tool.fastci.gate]\nextend-include = ["app/"]\n')
    git(project.root, "commit", "-qam", "gate")
    proc = project.fastci("doctor")
    assert proc.returncode == 1
    assert "[tool.fastci.gate] include pattern 'app/' matches no tracked file" in proc.stdout


def test_a_hand_edited_workflow_is_drift_and_an_untouched_one_is_not(project: Project) -> None:
    make_repo(project)
    assert project.fastci("workflow", "github", "--shards", "2").returncode == 0
    fine = project.fastci("doctor")
    assert any(f == ("ok", "workflow") for f in findings(fine.stdout)), fine.stdout
    workflow = project.root / ".github" / "workflows" / "ci.yml"
    workflow.write_text(workflow.read_text().replace("timeout-minutes: 60", "timeout-minutes: 90"))
    drifted = project.fastci("doctor")
    assert drifted.returncode == 1
    line = next(x for x in drifted.stdout.splitlines() if x.startswith("problem  workflow"))
    assert "edited by hand" in line
    assert "fastci workflow github --shards 2" in line
