"""Fixed costs: start-up to the first test and wrap-up after the last, fastci beside plain pytest.

On SymPy's tests (``--tests``, default ``core/tests``), each command is timed the same way:
start-up is from the process's start to the first test's start, wrap-up from the last test's
end to the command's exit. For plain ``pytest`` a tiny plugin (written into the work
directory, loaded with ``-p``) notes the first and last test; for ``fastci run -j N`` the
bundle's unit spans say it, and its ``phases`` say where fastci's own share went (the
median of each phase is printed). Targets: fastci's start-up within 0.3 s of pytest's,
wrap-up under 0.5 s (no coverage).

    python bench/fixed_costs.py [--repeats 3] [--tests core/tests] [--work DIR]
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from suite import Suite, installed_suite, median

DEFAULT_WORK = Path(tempfile.gettempdir()) / "fastci-bench-first"
PLUGIN = "fastci_bench_first_test"
# Notes when the process started, when its first test began and its last one ended.
PLUGIN_SOURCE = """
import json, os, time
from fastci.results.phases import process_started

began = process_started()
first = last = None


def pytest_runtest_setup(item):
    global first
    first = first or time.time()


def pytest_runtest_logfinish(nodeid, location):
    global last
    last = time.time()


def pytest_unconfigure(config):
    with open(os.environ["FASTCI_BENCH_TIMES"], "w") as out:
        json.dump({"began": began, "first": first, "last": last}, out)
"""


def run(command: Sequence[str], cwd: Path, env: dict[str, str]) -> float:
    """Run the command (it must pass); the time it exited."""
    proc = subprocess.run(
        command, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    ended = time.time()
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {command}\n{proc.stdout[-2000:]}")
    return ended


def pytest_costs(suite: Suite, work: Path) -> tuple[float, float]:
    """(start-up, wrap-up) seconds of one plain pytest run."""
    (work / f"{PLUGIN}.py").write_text(PLUGIN_SOURCE)
    times = work / "pytest-times.json"
    env = {"PYTHONPATH": str(work), "FASTCI_BENCH_TIMES": str(times)}
    ended = run(suite.pytest("-p", PLUGIN), suite.root, env)
    t = json.loads(times.read_text())
    return t["first"] - t["began"], ended - t["last"]


def fastci_costs(suite: Suite, work: Path, jobs: int) -> tuple[float, float, dict[str, float]]:
    """(start-up, wrap-up, seconds per phase) of one ``fastci run -j JOBS``."""
    results = work / "results"
    ended = run(suite.fastci("-j", str(jobs), "--results", str(results)), suite.root, {})
    manifest = json.loads((results / "fastci-local" / "manifest.json").read_text())
    phases = {p["name"]: p["seconds"] for p in manifest["phases"]}
    began = manifest["started"] - phases.get("interpreter, imports and options", 0.0)
    first = min(u["start"] for u in manifest["units"])
    last = max(u["stop"] for u in manifest["units"])
    return first - began, ended - last, phases


def main() -> None:
    suite, args = installed_suite(__doc__, DEFAULT_WORK)
    suite.record()  # fastci plans from a warm store, as on every run but the first
    costs: dict[str, list[tuple[float, float]]] = defaultdict(list)
    phases: dict[str, list[float]] = defaultdict(list)
    for repeat in range(args.repeats):
        costs["pytest"].append(pytest_costs(suite, args.work))
        for jobs in (1, 2):
            startup, wrapup, seen = fastci_costs(suite, args.work, jobs)
            costs[f"fastci run -j {jobs}"].append((startup, wrapup))
            for name, seconds in seen.items():
                phases[f"-j {jobs}: {name}"].append(seconds)
        print(
            f"repeat {repeat + 1}: "
            + ", ".join(f"{n} {c[-1][0]:.2f}s / {c[-1][1]:.2f}s" for n, c in costs.items()),
            flush=True,
        )
    print(f"medians of {args.repeats} (start-up to the first test / wrap-up after the last):")
    base = median([s for s, _ in costs["pytest"]])
    for name, values in costs.items():
        startup, wrapup = median([s for s, _ in values]), median([w for _, w in values])
        print(f"{name:18} {startup:6.2f}s {wrapup:6.2f}s   start-up {startup - base:+.2f}s")
    print("fastci's phases, medians:")
    for phase, samples in phases.items():
        print(f"  {phase:45} {median(samples):7.3f}s")
    print("targets: start-up within +0.30 s of pytest's, wrap-up under 0.50 s")


if __name__ == "__main__":
    main()
