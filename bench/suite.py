"""Shared by the runner benchmarks: a real suite from PyPI in its own virtualenv, and timing.

The suite is SymPy's ``sympy/core`` tests (about 2,000 tests; SymPy ships its tests and
needs hypothesis). Everything is installed into a virtualenv under the work directory, with
fastci from this checkout, pytest-xdist and pytest-split beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SUITE_PACKAGES = ("sympy==1.14.0", "hypothesis", "pytest", "pytest-xdist", "pytest-split")
DEFAULT_WORK = Path(
    os.environ.get("FASTCI_BENCH_DIR", Path(tempfile.gettempdir()) / "fastci-bench")
)


class Suite:
    """A package's shipped tests (SymPy's by default) installed in ``work/venv``; commands run
    in the installed package's directory, which is every tool's rootdir."""

    def __init__(
        self,
        work: Path,
        tests: str = "core/tests",
        extra_args: Sequence[str] = (),
        module: str = "sympy",
        packages: Sequence[str] = SUITE_PACKAGES,
    ) -> None:
        self.work = work
        self.module = module  # the installed package whose directory holds its tests
        self.packages = list(packages)
        self.extra_args = list(extra_args)
        self.venv = work / "venv"
        self.tests = tests
        self.store = work / "timings.db"
        self.durations = work / "test_durations.json"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def root(self) -> Path:
        found = subprocess.run(
            [
                str(self.python),
                "-c",
                f"import {self.module} as m, os; print(os.path.dirname(m.__file__))",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return Path(found.stdout.strip())

    def install(self) -> None:
        if not self.python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)
        pip = [str(self.python), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, *self.packages, str(REPO)], check=True)  # with fastci's own deps
        subprocess.run([*pip, "--no-deps", "--force-reinstall", str(REPO)], check=True)

    def pytest_args(self) -> list[str]:
        # SymPy (and NetworkX) keep conftest.py in the package root: every tool's rootdir.
        return [
            f"--rootdir={self.root}",
            "-p",
            "no:cacheprovider",
            "-q",
            *self.extra_args,
            self.tests,
        ]

    def fastci(self, *args: str) -> list[str]:
        return [
            str(self.venv / "bin" / "fastci"),
            "run",
            "--store",
            str(self.store),
            *args,
            *self.pytest_args(),
        ]

    def pytest(self, *args: str) -> list[str]:
        return [str(self.python), "-m", "pytest", *args, *self.pytest_args()]

    def record(self) -> None:
        """One full recorded run: fastci's store, and the same durations for pytest-split."""
        if self.store.exists():
            self.store.unlink()
        seconds = timed(self.fastci("-j", "2"), self.root)
        print(f"recorded a full run in {seconds:.1f}s", flush=True)
        export = subprocess.run(
            [str(self.venv / "bin" / "fastci"), "timings", "export", "--store", str(self.store)],
            cwd=self.root,
            capture_output=True,
            text=True,
            check=True,
        )
        durations: dict[str, float] = {}
        for line in export.stdout.splitlines():
            row = json.loads(line)
            if row["type"] == "test":
                durations[row["id"]] = row["setup"] + row["call"] + row["teardown"]
        self.durations.write_text(json.dumps(durations, indent=1, sort_keys=True))


def timed(command: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> float:
    """Wall seconds of one run of the command; a failing run is an error, not a time."""
    return timed_output(command, cwd, env)[0]


def timed_output(
    command: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None
) -> tuple[float, str]:
    """Wall seconds and output (stdout, then stderr) of one run; a failure is an error."""
    started = time.perf_counter()
    proc = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(command)}\n{tail}")
    return seconds, proc.stdout + proc.stderr


def in_turn(
    commands: Mapping[str, Sequence[str]],
    cwd: Path,
    repeats: int,
    before: Callable[[], None] = lambda: None,
) -> dict[str, float]:
    """Each repeat runs every command once, in turn (``before`` first); prints each repeat's
    times and the medians, and returns the medians."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for repeat in range(repeats):
        before()
        for name, command in commands.items():
            times[name].append(timed(command, cwd))
        print(
            f"repeat {repeat + 1}: " + ", ".join(f"{n} {t[-1]:.1f}s" for n, t in times.items()),
            flush=True,
        )
    medians = {name: median(t) for name, t in times.items()}
    print("medians: " + ", ".join(f"{n} {m:.1f}s" for n, m in medians.items()))
    return medians


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def fresh_work_dir(work: Path, keep: bool) -> Path:
    if not keep and work.exists():
        shutil.rmtree(work / "results", ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    return work


def installed_suite(
    doc: str, work: Path = DEFAULT_WORK, repeats: int = 3
) -> tuple[Suite, argparse.Namespace]:
    """A benchmark's usual arguments (--tests, --repeats, --work), and its suite installed."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--tests", default="core/tests", help="SymPy's test directory to run")
    parser.add_argument("--repeats", type=int, default=repeats)
    parser.add_argument("--work", type=Path, default=work)
    args = parser.parse_args()
    suite = Suite(args.work, tests=args.tests)
    suite.install()
    return suite, args
