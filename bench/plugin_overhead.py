"""Overhead on 10,000 trivial tests: fastci's plugin and runner beside plain pytest, one process.

- ``pytest``: plain pytest, one process (fastci's plugin installed but inactive).
- ``pytest --fastci-report``: the plugin recording every test's phases to a report.
- ``fastci run -j 1``: the whole runner with one worker: discovery, the coordinator, the
  worker protocol, the store and the summary.

Also the peak memory (VmHWM) of fastci's coordinating process during ``fastci run -j 2``,
read from /proc while it runs. Medians of several repeats.

    python bench/plugin_overhead.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from suite import median, timed

FILES = 100
TESTS_PER_FILE = 100


def write_suite(root: Path) -> None:
    (root / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    tests = root / "tests"
    tests.mkdir()
    for f in range(FILES):
        body = "".join(f"def test_{n}():\n    assert {n} == {n}\n\n" for n in range(TESTS_PER_FILE))
        (tests / f"test_mod{f}.py").write_text(body)


def coordinator_peak_mib(command: list[str], cwd: Path) -> float:
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_kib = 0
    while proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except OSError:
            break
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak_kib = max(peak_kib, int(line.split()[1]))
        time.sleep(0.02)
    return peak_kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # only pytest and fastci, in every command
    os.environ.update(env)
    fastci = [sys.executable, "-m", "fastci"]
    with tempfile.TemporaryDirectory(prefix="fastci-overhead-") as tmp:
        root = Path(tmp)
        write_suite(root)
        report = root / "report.jsonl"
        commands = {
            "pytest": [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            "pytest --fastci-report": [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "fastci.plugin",
                f"--fastci-report={report}",
            ],
            "fastci run -j 1": [*fastci, "run", "-j", "1", "-p", "no:cacheprovider"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        timed(commands["fastci run -j 1"], root)  # a first run records timings
        for _ in range(args.repeats):
            for name, command in commands.items():
                times[name].append(timed(command, root))
        base = median(times["pytest"])
        print(f"{FILES * TESTS_PER_FILE} trivial tests, medians of {args.repeats} runs")
        for name, values in times.items():
            m = median(values)
            print(f"{name:26} {m:6.2f}s  {100 * (m / base - 1):+6.1f}% over plain pytest")
        peaks = [
            coordinator_peak_mib([*fastci, "run", "-j", "2"], root) for _ in range(args.repeats)
        ]
        print(
            f"fastci coordinator peak RSS during 'fastci run -j 2': {median(peaks):.0f} MiB "
            "(target < 100 MiB)"
        )


if __name__ == "__main__":
    main()
