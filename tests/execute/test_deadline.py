"""A run's deadline with real workers: no unit starts after it, a hung one is stopped a grace
later, and the bundle is still written whole, with exit code 7."""

from __future__ import annotations

import time
from pathlib import Path

from fastci.execute.deadline import GRACE_SECONDS, KILL_AFTER_SECONDS
from fastci.results.bundle import read_results
from tests.execute.test_run import manifest
from tests.helpers.projects import Project


def outcomes(bundle: Path) -> dict[str, str]:
    return {r.id: r.outcome for r in read_results(bundle / "results.jsonl")}


def test_units_not_started_by_the_deadline_are_reported_and_the_run_ends_near_it(
    project: Project, tmp_path: Path
) -> None:
    for n in range(6):
        project.write(
            f"tests/test_slow_{n}.py", "import time\n\ndef test_slow():\n    time.sleep(2)\n"
        )
    began = time.monotonic()
    proc = project.fastci("run", "-j", "1", "--deadline", "3", "--results", str(tmp_path))
    took = time.monotonic() - began
    assert proc.returncode == 7, proc.stdout + proc.stderr
    # The unit running at the deadline may finish; nothing starts after it.
    assert took < 3 + 2 + GRACE_SECONDS
    bundle = tmp_path / "fastci-local"
    ran = outcomes(bundle)
    passed = [t for t, o in ran.items() if o == "passed"]
    not_started = [t for t, o in ran.items() if t.endswith("::<not run>")]
    assert 1 <= len(passed) <= 3
    assert len(passed) + len(not_started) == 6
    line = f"the run's deadline of 3 s was reached; {len(not_started)} units did not start"
    assert line in proc.stdout
    data = manifest(bundle)
    assert (data["exit_code"], data["stopped_early"]) == (7, line)
    assert all((bundle / name).is_file() for name in ("junit.xml", "timings.jsonl"))


def test_a_unit_still_running_after_the_grace_is_stopped_and_the_bundle_written(
    project: Project, tmp_path: Path
) -> None:
    project.write(
        "tests/test_hung.py",
        "import time\n\ndef test_hangs():\n    time.sleep(3600)\n\ndef test_later():\n    pass\n",
    )
    project.write("tests/test_quick.py", "def test_quick():\n    pass\n")
    began = time.monotonic()
    proc = project.fastci("run", "-j", "1", "--deadline", "2", "--results", str(tmp_path))
    took = time.monotonic() - began
    assert proc.returncode == 7, proc.stdout + proc.stderr
    assert took < 2 + GRACE_SECONDS + KILL_AFTER_SECONDS + 15
    ran = outcomes(tmp_path / "fastci-local")
    assert ran == {
        "tests/test_hung.py::<not run>": "error",
        "tests/test_quick.py::<not run>": "error",
    }
    assert "the run's deadline of 2 s was reached; 1 unit did not start" in proc.stdout
    assert "did not run: the run's deadline passed while it ran" in proc.stdout
    merged = project.fastci("merge", str(tmp_path))
    # Incomplete (7), not failed (1): no test failed, two files never ran.
    assert merged.returncode == 7, merged.stdout + merged.stderr
    assert "local run: 2 test file(s) never ran (unit " in merged.stdout + merged.stderr


def test_the_deadline_setting_reads_from_pyproject(project: Project, tmp_path: Path) -> None:
    project.write("pyproject.toml", "[tool.fastci]\ndeadline = 1\n")
    for name in "abc":  # a worker takes its next unit before its last test: c never starts
        project.write(f"tests/test_{name}.py", "import time\n\ndef test_it():\n    time.sleep(2)\n")
    proc = project.fastci("run", "-j", "1", "--results", str(tmp_path))
    assert proc.returncode == 7, proc.stdout + proc.stderr
    assert "the run's deadline of 1 s was reached; 1 unit did not start" in proc.stdout


def test_a_deadline_passing_after_every_unit_began_lets_the_run_end_as_usual(
    project: Project,
) -> None:
    # A worker takes its next unit before running its last test: both began before 1 s.
    for name in "ab":
        project.write(f"tests/test_{name}.py", "import time\n\ndef test_it():\n    time.sleep(2)\n")
    proc = project.fastci("run", "-j", "1", "--deadline", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Not the word alone: pytest's session header names the rootdir, here under tmp_path.
    assert "the run's deadline" not in proc.stdout + proc.stderr
