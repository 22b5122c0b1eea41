"""``fastci bisect``: the one test that pollutes another, found among hundreds in log2 steps."""

from __future__ import annotations

import math
from pathlib import Path

from fastci.results.bundle import read_results
from tests.helpers.projects import Project

POLLUTER = "tests/test_mid.py::test_sets_the_global"
VICTIM = "tests/test_victim.py::test_reads_the_global"
OTHERS_PER_FILE = 42
FILES = 5


def write_polluted_suite(project: Project) -> int:
    """A test that sets a module global, one that needs it unset, and 210 others; the
    number of other tests."""
    project.write("tests/__init__.py", "")
    project.write("tests/shared.py", "VALUE = None\n")
    for f in range(FILES):
        body = "".join(f"def test_other_{t}():\n    pass\n\n" for t in range(OTHERS_PER_FILE))
        project.write(f"tests/test_other_{f}.py", body)
    project.write(
        "tests/test_mid.py",
        "from tests import shared\n\n"
        + "".join(f"def test_mid_{t}():\n    pass\n\n" for t in range(10))
        + "def test_sets_the_global():\n    shared.VALUE = 'dirty'\n",
    )
    project.write(  # the smallest file: planned last on the one worker
        "tests/test_victim.py",
        "from tests import shared\n\n"
        "def test_reads_the_global():\n    assert shared.VALUE is None\n",
    )
    return FILES * OTHERS_PER_FILE + 10


def test_bisect_finds_the_polluter_in_a_logarithmic_number_of_steps(
    project: Project, tmp_path: Path
) -> None:
    others = write_polluted_suite(project)
    results = tmp_path / "results"
    run = project.fastci("run", "-j", "1", "--results", str(results))
    assert run.returncode == 1
    outcomes = {r.id: r.outcome for r in read_results(results / "fastci-local" / "results.jsonl")}
    assert outcomes[VICTIM] == "failed"  # the whole suite ran before it, on one worker
    proc = project.fastci("bisect", VICTIM, "--results", str(results))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    before = others + 1  # every other test and the polluter
    assert lines[0].startswith(f"{VICTIM} failed on worker gw0 after {before} test(s)")
    steps = [line for line in lines if line.startswith("step ")]
    assert len(steps) <= math.ceil(math.log2(before)) + 2
    assert lines[-2] == f"found in {len(steps)} steps: {POLLUTER} makes {VICTIM} fail"
    assert lines[-1] == f"reproduce: python -m pytest -p no:randomly {POLLUTER} {VICTIM}"


def test_isolated_says_whether_a_test_fails_alone(project: Project) -> None:
    write_polluted_suite(project)
    alone = project.fastci("bisect", "--isolated", VICTIM)
    assert alone.returncode == 0, alone.stdout + alone.stderr
    assert f"{VICTIM} passes alone" in alone.stdout
    project.write("tests/test_bad.py", "def test_bad():\n    assert False\n")
    bad = project.fastci("bisect", "--isolated", "tests/test_bad.py::test_bad")
    assert bad.returncode == 1
    assert "fails alone" in bad.stdout


def test_a_test_that_did_not_fail_in_the_bundle_is_a_usage_error(
    project: Project, tmp_path: Path
) -> None:
    write_polluted_suite(project)
    results = tmp_path / "results"
    project.fastci("run", "-j", "1", "--results", str(results))
    proc = project.fastci("bisect", POLLUTER, "--results", str(results))
    assert proc.returncode == 4
    assert proc.stderr.strip().splitlines() == [
        f"fastci: error: {POLLUTER} did not fail in the bundles under {results}; give its "
        "node id as the run reported it, or try `fastci bisect --isolated`"
    ]
