"""Finding a polluting test: `fastci bisect` beside detect-test-pollution on pluggy's own tests.

    python bench/bisect_vs_dtp.py [--work DIR] [--repeats 3]

pluggy's sdist (219 tests) gets two added tests in two files: one in testing/test_details.py
sets an environment variable, one in testing/test_warnings.py fails when it is set. One
`fastci run -j 1 --results DIR` makes the victim fail (its worker ran the polluter first);
then `fastci bisect VICTIM --results DIR` replays that worker's order from the bundle, and
`detect-test-pollution --failing-test VICTIM --tests testing` bisects the collected order.
Both run pytest with this interpreter, so it needs the `[dev,bench]` extras installed.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from fidelity import fetch  # noqa: E402
from suite import median  # noqa: E402

SDIST = "pluggy==1.7.0"
VARIABLE = "FASTCI_BENCH_POLLUTED"
POLLUTER = "testing/test_details.py::test_bench_sets_the_variable"
VICTIM = "testing/test_warnings.py::test_bench_reads_the_variable"
ADDED = {
    POLLUTER: f"""

def test_bench_sets_the_variable() -> None:
    import os

    os.environ["{VARIABLE}"] = "1"
""",
    VICTIM: f"""

def test_bench_reads_the_variable() -> None:
    import os

    assert "{VARIABLE}" not in os.environ
""",
}


@dataclasses.dataclass(frozen=True)
class Search:
    """One tool's search: the tests it bisected, the polluter it named, pytest runs, seconds."""

    candidates: int
    found: str | None
    runs: int
    seconds: float


def polluted_suite(work: Path) -> Path:
    """pluggy's unpacked sdist with the polluting pair added."""
    root = fetch(SDIST, work)
    for node, source in ADDED.items():
        path = root / node.split("::", maxsplit=1)[0]
        path.write_text(path.read_text() + source)
    return root


def failing_run(root: Path, results: Path) -> None:
    """One `fastci run -j 1` in which the victim fails after the polluter."""
    proc = subprocess.run(
        [sys.executable, "-m", "fastci", "run", "-j", "1", "--results", str(results),
         "--store", str(results.parent / "timings.db")],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if f"FAILED {VICTIM}" not in proc.stdout:
        tail = "\n".join(proc.stdout.splitlines()[-10:])
        raise SystemExit(f"the victim did not fail in `fastci run -j 1`:\n{tail}")
    print(proc.stdout.strip().splitlines()[-1], flush=True)


def timed(command: Sequence[str], cwd: Path) -> tuple[float, str]:
    """Wall seconds and standard output of one run; a failing run is an error, not a time."""
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(command)}\n{tail}")
    return seconds, proc.stdout


def number(pattern: str, out: str) -> int:
    """The number the tool's output gives in ``pattern``'s group."""
    found = re.search(pattern, out)
    if found is None:
        raise SystemExit(f"no {pattern!r} in the output:\n{out}")
    return int(found[1])


def by_fastci(root: Path, results: Path) -> Search:
    command = [sys.executable, "-m", "fastci", "bisect", VICTIM, "--results", str(results)]
    seconds, out = timed(command, root)
    candidates = number(r"after (\d+) test\(s\)", out)
    found = re.search(r"^found in \d+ steps: (\S+) makes", out, re.MULTILINE)
    runs = len(re.findall(r"^step \d+:", out, re.MULTILINE))
    return Search(candidates, found[1] if found else None, runs, seconds)


def by_dtp(root: Path) -> Search:
    dtp = Path(sys.executable).parent / "detect-test-pollution"
    seconds, out = timed([str(dtp), "--failing-test", VICTIM, "--tests", "testing"], root)
    candidates = number(r"discovered (\d+) tests", out)
    found = re.search(r"the polluting test is: (\S+)", out)
    # pytest runs: collecting, the victim alone, with all the others, each halving, the check
    runs = 4 + len(re.findall(r"^running step \d+:", out, re.MULTILINE))
    return Search(candidates, found[1] if found else None, runs, seconds)


def summary(name: str, searches: Sequence[Search]) -> tuple[str, float]:
    right = "yes" if all(s.found == POLLUTER for s in searches) else "no"
    runs = "/".join(str(n) for n in sorted({s.runs for s in searches}))
    seconds = median([s.seconds for s in searches])
    line = f"{name:<24} {searches[0].candidates:>6} {right:<6} {runs:>11} {seconds:>9.2f}"
    return line, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="where pluggy is unpacked (default: temp dir)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each tool (median)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fastci-bisect-bench-") as scratch:
        work = options.work or Path(scratch)
        root = polluted_suite(work)
        results = work / "results"
        failing_run(root, results)
        fastci = [by_fastci(root, results) for _ in range(options.repeats)]
        dtp = [by_dtp(root) for _ in range(options.repeats)]
    print(f"{'tool':<24} {'tests':>6} {'right':<6} {'pytest runs':>11} {'median s':>9}")
    fastci_line, fastci_seconds = summary("fastci bisect", fastci)
    dtp_line, dtp_seconds = summary("detect-test-pollution", dtp)
    print(fastci_line)
    print(dtp_line)
    print(f"time ratio fastci / detect-test-pollution: {fastci_seconds / dtp_seconds:.2f}")


if __name__ == "__main__":
    main()
