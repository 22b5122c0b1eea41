"""A run's fixed costs, phase by phase, as a real run leaves them in its bundle."""

from __future__ import annotations

from pathlib import Path

from fastci.results.bundle import read_bundle
from fastci.results.phases import STARTUP, TESTS, WRAPUP
from tests.helpers.projects import Project, write_sample_suite

STARTUP_PHASES = [
    "interpreter, imports and options",
    "starting workers",
    "discovery",
    "syntax check of test files",
    "store read and planning",
    "failures-first order",
    "waiting for the first test",
]
WRAPUP_PHASES = [
    "workers finishing",
    "timings",
    "bundle",
    "junit and pytest's cache",
    "store write",
]


def test_a_run_keeps_every_start_up_and_wrap_up_phase_in_its_bundle_in_order(
    project: Project, tmp_path: Path
) -> None:
    write_sample_suite(project)
    proc = project.fastci("run", "-j", "2", "--results", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bundle = read_bundle(tmp_path / "fastci-local")
    by_part = {
        part: [p.name for p in bundle.phases if p.part == part] for part in (STARTUP, TESTS, WRAPUP)
    }
    assert by_part == {STARTUP: STARTUP_PHASES, TESTS: ["tests"], WRAPUP: WRAPUP_PHASES}
    # the store is written after the bundle, and its phase still reached the bundle
    assert all(p.seconds >= 0 for p in bundle.phases)
    first_test = min(u.start for u in bundle.units)
    timed_in_run = sum(p.seconds for p in bundle.phases if p.part == STARTUP)
    interpreter = bundle.phases[0].seconds
    # the phases after the interpreter's account for the run's start to its first test
    assert abs((timed_in_run - interpreter) - (first_test - bundle.started)) < 0.05


def test_a_run_with_coverage_times_the_coverage_combine(project: Project, tmp_path: Path) -> None:
    project.write("src/calc.py", "def add(a, b):\n    return a + b\n")
    project.write(
        "tests/test_calc.py",
        "import sys\nsys.path.insert(0, 'src')\nfrom calc import add\n\n"
        "def test_add():\n    assert add(1, 2) == 3\n",
    )
    proc = project.fastci("run", "-j", "1", "--results", str(tmp_path), "--cov=src")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    phases = {p.name: p.part for p in read_bundle(tmp_path / "fastci-local").phases}
    assert phases["coverage combine and report"] == WRAPUP
