"""``fastci flaky``: flaky tests from the store's history of outcomes per git tree."""

from __future__ import annotations

from tests.helpers.flaky import EVERY_OTHER_RUN, FLIP, commit_all, write_flaky_suite
from tests.helpers.git import git
from tests.helpers.projects import Project

NONE_FOUND = "no flaky tests: none passed and failed on the same code in the stored runs"


def flaky_lines(project: Project, *args: str) -> list[str]:
    proc = project.fastci("flaky", *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_a_test_that_passed_and_failed_on_one_commit_is_listed_with_its_rate_and_commit(
    project: Project,
) -> None:
    write_flaky_suite(project)
    for _ in range(3):  # fails, passes, fails
        project.fastci("run", "-j", "1")
    lines = flaky_lines(project)
    head = git(project.root, "rev-parse", "HEAD").strip()
    row = next(line for line in lines if line.endswith(FLIP))
    assert row.split()[:3] == ["67%", "2/3", head[:10]]
    assert lines[-1] == "1 flaky test"
    doctor = project.fastci("doctor")
    assert "1 flaky tests: passed and failed on the same code" in doctor.stdout
    assert f"{FLIP} (2/3)" in doctor.stdout


def test_a_failure_fixed_by_a_new_commit_is_not_flaky(project: Project) -> None:
    project.write("tests/test_fixed.py", "def test_fixed():\n    assert 1 == 2\n")
    write_flaky_suite(project)
    project.fastci("run", "-j", "1", "tests/test_fixed.py")
    project.write("tests/test_fixed.py", "def test_fixed():\n    assert 1 == 1\n")
    commit_all(project, "fix it")
    project.fastci("run", "-j", "1", "tests/test_fixed.py")
    assert flaky_lines(project) == [NONE_FOUND]
    assert "no test both passed and failed on the same code" in project.fastci("doctor").stdout


def test_an_uncommitted_fix_is_other_code_too(project: Project) -> None:
    project.write("tests/test_fixed.py", "def test_fixed():\n    assert 1 == 2\n")
    write_flaky_suite(project)
    project.fastci("run", "-j", "1", "tests/test_fixed.py")
    project.write("tests/test_fixed.py", "def test_fixed():\n    assert 1 == 1\n")
    project.fastci("run", "-j", "1", "tests/test_fixed.py")
    assert flaky_lines(project) == [NONE_FOUND]


def test_a_flake_proven_by_a_rerun_counts_without_git(project: Project) -> None:
    project.write("tests/test_flip.py", EVERY_OTHER_RUN)
    project.fastci("run", "-j", "1", "--reruns", "1")
    row = next(line for line in flaky_lines(project) if line.endswith(FLIP))
    assert row.split()[:4] == ["100%", "1/1", "no", "git"]


def test_quarantine_writes_the_flaky_tests_into_pyproject_and_the_run_then_passes(
    project: Project,
) -> None:
    write_flaky_suite(project)
    for _ in range(2):  # fails, passes
        project.fastci("run", "-j", "1")
    proc = project.fastci("flaky", "--quarantine")
    assert proc.returncode == 0, proc.stderr
    assert "quarantined 1 test in" in proc.stdout
    assert f'quarantine = [\n    "{FLIP}",\n]' in (project.root / "pyproject.toml").read_text()
    assert f"{FLIP} (quarantined)" in project.fastci("flaky").stdout
    run = project.fastci("run", "-j", "1")  # its third run: it fails, in quarantine
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"quarantined, failing nothing: FAILED {FLIP}" in run.stdout
    assert "1 failed, 1 passed in" in run.stdout
    assert "; 1 quarantined, 1 of them not passed" in run.stdout


def test_a_quarantined_test_that_kept_passing_is_ready_to_release(project: Project) -> None:
    write_flaky_suite(project)
    steady = "tests/test_steady.py::test_steady"
    project.write(
        "pyproject.toml",
        f'[tool.pytest.ini_options]\ntestpaths = ["tests"]\n\n'
        f'[tool.fastci]\nquarantine = ["{steady}"]\n',
    )
    project.fastci("run", "-j", "1", "tests/test_steady.py")
    assert "ready to release" not in flaky_lines(project, "--release-after", "2")[-1]
    project.fastci("run", "-j", "1", "tests/test_steady.py")
    assert flaky_lines(project, "--release-after", "2")[-1] == (
        f"ready to release: {steady} passed its last 2 runs in quarantine; "
        "remove it from [tool.fastci] quarantine"
    )


def test_a_pyproject_fastci_cannot_edit_gets_the_lines_to_paste_and_exit_4(
    project: Project,
) -> None:
    write_flaky_suite(project)
    project.write("pyproject.toml", '[tool]\npytest.ini_options = { testpaths = ["tests"] }\n'
                  "fastci = { jobs = 1 }\n")  # fmt: skip
    for _ in range(2):
        project.fastci("run")
    before = (project.root / "pyproject.toml").read_text()
    proc = project.fastci("flaky", "--quarantine")
    assert proc.returncode == 4
    assert f'[tool.fastci]\nquarantine = [\n    "{FLIP}",\n]' in proc.stdout
    assert "was left as it is: [tool.fastci] is written inline or with dotted keys" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert (project.root / "pyproject.toml").read_text() == before
