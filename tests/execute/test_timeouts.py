"""Per-test timeouts with real workers: a hung test fails with every thread's stack, the rest
runs, and the marker overrides the setting."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path

from fastci.results.bundle import read_results
from tests.helpers.projects import Project

# Plugins do not autoload in these tests (tests/conftest.py), so pytest-timeout, even if
# installed, stays out of them; tests/plugin/test_watchdog.py runs fastci beside it.

HUNG = """
import threading
import time

import pytest


def test_before():
    pass


def wait_forever(event):
    event.wait()  # the helper thread's line


def test_hangs():
    threading.Thread(target=wait_forever, args=(threading.Event(),), daemon=True).start()
    time.sleep(3600)  # the sleeping line


def test_after():
    pass
"""


def write_hung_suite(project: Project) -> None:
    project.write("tests/test_hung.py", HUNG)
    project.write("tests/test_other.py", "def test_one(): pass\ndef test_two(): pass\n")


def longreprs(bundle: Path) -> dict[str, tuple[str, str]]:
    return {r.id: (r.outcome, r.longrepr or "") for r in read_results(bundle / "results.jsonl")}


def test_a_hung_test_fails_with_every_threads_stack_and_the_rest_of_the_suite_runs(
    project: Project, tmp_path: Path
) -> None:
    write_hung_suite(project)
    began = time.monotonic()
    proc = project.fastci("run", "-j", "2", "--timeout", "2", "--results", str(tmp_path))
    took = time.monotonic() - began
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert took < 60
    bundle = tmp_path / "fastci-local"
    results = longreprs(bundle)
    outcome, longrepr = results["tests/test_hung.py::test_hangs"]
    assert outcome == "failed"
    assert longrepr.startswith("Timeout: test exceeded 2 s\n")
    assert "# the sleeping line" not in longrepr  # stacks name lines, not their text
    assert 'test_hung.py", line 17 in test_hangs' in longrepr  # the main thread, asleep
    assert 'test_hung.py", line 12 in wait_forever' in longrepr  # the helper thread
    assert longrepr.count("Thread 0x") == 2
    others = {k: v[0] for k, v in results.items() if k != "tests/test_hung.py::test_hangs"}
    assert others == {
        "tests/test_hung.py::test_before": "passed",
        "tests/test_hung.py::test_after": "passed",  # after it, on a fresh worker
        "tests/test_other.py::test_one": "passed",
        "tests/test_other.py::test_two": "passed",
    }
    assert "1 failed, 4 passed" in proc.stdout
    assert "crashed" not in proc.stdout.lower()
    junit = ET.parse(bundle / "junit.xml").getroot()
    failures = [c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None]
    assert failures == ["test_hangs"]


def run_marked(
    project: Project, tmp_path: Path, setting: float, tests: str, *args: str
) -> dict[str, tuple[str, str]]:
    """Run ``tests`` (after ``import time, pytest``) with the timeout setting; each test's
    outcome and the first line of its report."""
    project.write("pyproject.toml", f"[tool.fastci]\ntimeout = {setting}\n")
    project.write("tests/test_marked.py", "import time\n\nimport pytest\n" + tests)
    proc = project.fastci("run", "-j", "1", "--results", str(tmp_path), *args)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    results = longreprs(tmp_path / "fastci-local")
    return {k.split("::")[1]: (v[0], (v[1].splitlines() or [""])[0]) for k, v in results.items()}


def test_a_timeout_marker_overrides_the_setting_either_way(
    project: Project, tmp_path: Path
) -> None:
    tests = """
@pytest.mark.timeout(0)
def test_no_limit_despite_the_setting():
    time.sleep(1.5)

@pytest.mark.timeout(timeout=5)
def test_a_longer_limit():
    time.sleep(1.5)

def test_the_settings_limit():
    time.sleep(3600)
"""
    assert run_marked(project, tmp_path, 1, tests) == {
        "test_no_limit_despite_the_setting": ("passed", ""),
        "test_a_longer_limit": ("passed", ""),
        "test_the_settings_limit": ("failed", "Timeout: test exceeded 1 s"),
    }


def test_a_marker_alone_limits_its_test_and_the_flag_overrides_the_setting(
    project: Project, tmp_path: Path
) -> None:
    tests = (
        "\n@pytest.mark.timeout(1)\ndef test_marked(): time.sleep(3600)\n"
        "\ndef test_unmarked(): time.sleep(3600)\n"
    )
    began = time.monotonic()
    assert run_marked(project, tmp_path, 600, tests, "--timeout", "2") == {
        "test_marked": ("failed", "Timeout: test exceeded 1 s"),
        "test_unmarked": ("failed", "Timeout: test exceeded 2 s"),
    }
    assert time.monotonic() - began < 60


def test_a_marker_fastci_cannot_read_fails_its_test_in_one_line(project: Project) -> None:
    project.write(
        "tests/test_bad.py",
        """
        import pytest


        @pytest.mark.timeout("soon")
        def test_bad_marker():
            pass


        def test_fine():
            pass
        """,
    )
    proc = project.fastci("run", "-j", "1")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "its timeout marker must be a number of seconds >= 0" in proc.stdout
    assert "1 passed, 1 error" in proc.stdout


def test_bad_timeout_and_deadline_values_are_usage_errors(project: Project) -> None:
    project.write("tests/test_a.py", "def test_a(): pass\n")
    for flag in ("--timeout", "--deadline"):
        for value in ("-1", "abc", "nan"):
            proc = project.fastci("run", flag, value)
            assert proc.returncode == 4, (flag, value, proc.stderr)
            assert f"{flag}: must be a number of seconds >= 0, got '{value}'" in proc.stderr
            assert "Traceback" not in proc.stderr
    project.write("pyproject.toml", '[tool.fastci]\ntimeout = "abc"\n')
    proc = project.fastci("run")
    assert proc.returncode == 4
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "[tool.fastci] timeout must be a number of seconds >= 0" in proc.stderr
