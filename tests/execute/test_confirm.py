"""A failure that comes only from fastci importing fewer test modules than pytest is undone."""

from __future__ import annotations

import json
from pathlib import Path

from fastci.results.bundle import read_results
from tests.helpers.projects import Project, write_report

# tests/test_a.py uses pkg.sub without importing it; tests/test_b.py imports it. Under pytest
# both modules are imported before the first test runs, so test_a passes.
LEANS_ON_ANOTHER_MODULE = {
    "pkg/__init__.py": "",
    "pkg/sub.py": "VALUE = 1\n",
    # Its last test runs after the worker has taken the next unit: the first cannot.
    "tests/test_a.py": "import pkg\n\ndef test_uses_sub():\n    assert pkg.sub.VALUE == 1\n\n"
    "def test_last():\n    pass\n",
    "tests/test_b.py": "import pkg.sub\n\ndef test_b():\n    pass\n",
}


def leaning_project(project: Project) -> None:
    """The suite above, with timings that make the one worker run test_a first."""
    for path, text in LEANS_ON_ANOTHER_MODULE.items():
        project.write(path, text)
    report = project.root / "report.jsonl"
    durations = {"tests/test_a.py::test_uses_sub": 5.0, "tests/test_a.py::test_last": 0.1}
    write_report(report, {**durations, "tests/test_b.py::test_b": 1.0})
    assert project.fastci("timings", "import", str(report)).returncode == 0


def outcomes(bundle: Path) -> dict[str, str]:
    return {r.id: r.outcome for r in read_results(bundle / "results.jsonl")}


def run(project: Project, results: Path, *args: str) -> tuple[int, str]:
    proc = project.fastci(
        "run", "-j", "1", "--order", "longest", "--results", str(results), *args,
        "-p", "no:randomly", "--junitxml", str(results / "junit.xml"),
    )  # fmt: skip
    return proc.returncode, proc.stdout + proc.stderr


def test_a_test_that_passes_once_the_whole_suite_is_imported_passes_as_in_pytest(
    project: Project, tmp_path: Path
) -> None:
    leaning_project(project)
    assert project.fastci("run", "--help").stdout.count("--confirm-failures") == 1
    code, out = run(project, tmp_path / "off", "--confirm-failures", "false")
    assert code == 1, out  # what a worker importing only test_a.py sees
    code, out = run(project, tmp_path / "on")
    assert code == 0, out
    assert "3 passed" in out
    assert "1 failed test passed when run again after importing the whole suite" in out
    assert "tests/test_a.py::test_uses_sub" in out
    bundle = tmp_path / "on" / "fastci-local"
    assert set(outcomes(bundle).values()) == {"passed"}
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["confirmed"] == ["tests/test_a.py::test_uses_sub"]
    assert "<failure" not in (tmp_path / "on" / "junit.xml").read_text()
    assert (bundle / "logs" / "confirm.log").exists()


def test_a_real_failure_stays_failed_with_its_first_report(
    project: Project, tmp_path: Path
) -> None:
    # An AttributeError, so it is run again alone and after the whole collection: it fails both.
    project.write("tests/test_a.py", "import os\n\ndef test_broken():\n    os.not_there()\n")
    project.write("tests/test_b.py", "def test_fine():\n    pass\n")
    code, out = run(project, tmp_path / "r")
    assert code == 1, out
    assert "has no attribute 'not_there'" in out
    log = (tmp_path / "r" / "fastci-local" / "logs" / "confirm.log").read_text()
    assert "== alone" in log
    assert "== after the whole collection" in log
    assert "passed when run again" not in out
    assert outcomes(tmp_path / "r" / "fastci-local")["tests/test_a.py::test_broken"] == "failed"


def test_a_run_stopped_by_x_answers_at_once_without_a_second_collection(
    project: Project, tmp_path: Path
) -> None:
    leaning_project(project)
    code, out = run(project, tmp_path / "r", "-x")
    assert code == 1, out
    assert "passed when run again" not in out
    assert not (tmp_path / "r" / "fastci-local" / "logs" / "confirm.log").exists()


def test_a_failure_another_test_caused_stays_failed_as_in_pytest(
    project: Project, tmp_path: Path
) -> None:
    project.write("tests/__init__.py", "")
    project.write("tests/shared.py", "VALUE = None\n")
    project.write("tests/test_a_pollutes.py", "from tests import shared\n\n"
                  "def test_deletes():\n    del shared.VALUE\n")  # fmt: skip
    project.write("tests/test_b_victim.py", "from tests import shared\n\n"
                  "def test_reads():\n    assert shared.VALUE is None\n\n"
                  "def test_last():\n    pass\n")  # fmt: skip
    # pytest runs the polluter first, and its victim fails with an AttributeError there too;
    # these timings make fastci's one worker run it first as well.
    report = project.root / "report.jsonl"
    write_report(report, {"tests/test_a_pollutes.py::test_deletes": 5.0,
                          "tests/test_b_victim.py::test_reads": 1.0})  # fmt: skip
    assert project.fastci("timings", "import", str(report)).returncode == 0
    code, out = run(project, tmp_path / "r")
    assert code == 1, out
    assert "passed when run again" not in out
    bundle = tmp_path / "r" / "fastci-local"
    assert outcomes(bundle)["tests/test_b_victim.py::test_reads"] == "failed"
    assert "== alone" in (bundle / "logs" / "confirm.log").read_text()
