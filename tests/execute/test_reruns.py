"""``fastci run --reruns N``: a failed test runs again in a fresh worker; fail, pass: flaky."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from fastci.model import TestResult
from fastci.results.bundle import read_results
from tests.helpers.flaky import FLIP, write_flaky_suite
from tests.helpers.projects import Project


def run(project: Project, results: Path, *args: str) -> tuple[int, str, dict[str, TestResult]]:
    proc = project.fastci("run", "-j", "2", "--results", str(results), *args)
    bundle = results / "fastci-local"
    found = {r.id: r for r in read_results(bundle / "results.jsonl")}
    return proc.returncode, proc.stdout + proc.stderr, found


def test_a_test_that_fails_then_passes_on_a_fresh_worker_is_flaky(
    project: Project, tmp_path: Path
) -> None:
    write_flaky_suite(project)
    code, output, results = run(project, tmp_path / "r", "--reruns", "1")
    flip = results[FLIP]
    assert flip.outcome == "flaky"
    assert flip.attempts == 2
    assert "run 0 fails" in str(flip.longrepr)
    assert "1 passed, 1 flaky in" in output
    assert code == 1  # flaky fails the run unless the user allows it
    junit = ET.parse(tmp_path / "r" / "fastci-local" / "junit.xml")
    case = junit.find(".//testcase[@name='test_every_other_run']")
    assert case is not None
    assert case.find("failure") is None
    prop = case.find("properties/property[@name='fastci_flaky']")
    assert prop is not None
    assert prop.get("value") == "2"
    flaky_failure = case.find("flakyFailure")
    assert flaky_failure is not None
    assert "run 0 fails" in (flaky_failure.text or "")


def test_allow_flaky_exits_0_when_only_flaky_tests_failed(project: Project, tmp_path: Path) -> None:
    write_flaky_suite(project)
    code, output, results = run(project, tmp_path / "r", "--reruns", "1", "--allow-flaky")
    assert code == 0, output
    assert results[FLIP].outcome == "flaky"


def test_without_reruns_a_failure_is_a_failure(project: Project, tmp_path: Path) -> None:
    write_flaky_suite(project)
    code, _output, results = run(project, tmp_path / "r")
    assert code == 1
    assert results[FLIP].outcome == "failed"


def test_the_rerun_runs_in_a_new_process(project: Project, tmp_path: Path) -> None:
    project.write(
        "tests/test_pid.py",
        """
        import os
        from pathlib import Path

        def test_fails_in_the_first_process():
            seen = Path(__file__).with_name("pids.txt")
            pids = seen.read_text().split() if seen.exists() else []
            seen.write_text(" ".join([*pids, str(os.getpid())]))
            assert pids, "first attempt"
            assert str(os.getpid()) not in pids, "the rerun ran in the same process"
        """,
    )
    code, output, _results = run(project, tmp_path / "r", "--reruns", "1", "--allow-flaky")
    assert code == 0, output
    assert len(set((project.root / "tests" / "pids.txt").read_text().split())) == 2


def test_a_test_failing_every_attempt_fails_naming_the_attempts(
    project: Project, tmp_path: Path
) -> None:
    project.write("tests/test_broken.py", "def test_broken():\n    assert 1 == 2\n")
    code, _output, results = run(project, tmp_path / "r", "--reruns", "2")
    broken = results["tests/test_broken.py::test_broken"]
    assert code == 1
    assert broken.outcome == "failed"
    assert broken.attempts == 3
    assert "failed on every one of 3 attempts" in str(broken.longrepr)


def test_a_crash_during_a_rerun_is_reported_as_a_crash(project: Project, tmp_path: Path) -> None:
    project.write(
        "tests/test_dies.py",
        """
        import os
        from pathlib import Path

        def test_fails_then_kills_its_worker():
            state = Path(__file__).with_name("tried")
            if state.exists():
                os._exit(3)
            state.write_text("1")
            assert False, "first attempt fails"
        """,
    )
    project.write("tests/test_steady.py", "def test_steady():\n    pass\n")
    code, _output, results = run(project, tmp_path / "r", "--reruns", "1")
    dies = results["tests/test_dies.py::test_fails_then_kills_its_worker"]
    assert code == 1
    assert dies.outcome == "crashed"
    assert "crashed on rerun" in str(dies.longrepr)
    assert "exited with code 3" in str(dies.longrepr)
    assert "first attempt fails" in str(dies.longrepr)
    assert results["tests/test_steady.py::test_steady"].outcome == "passed"
