"""Predicted vs actual: fastci's cost model on real PyPI suites, beside pytest-split and xdist.

For each suite (its own virtualenv, installed from PyPI): every tool records its timings with
one full run first (fastci ``run -j 2``, pytest-split ``--store-durations``, one warm-up
``pytest -n 2``). Then, per repeat:

- 4 shards, each run alone as on its own CI runner, with ``-j 1`` and with ``-j 2``: fastci
  ``run --shard K/4`` against the prediction of ``fastci plan --shards 4``; pytest-split
  ``--splits 4 --group K`` with its durations file (plus ``-n 2`` for the ``-j 2`` row)
  against the estimate it prints;
- one local ``-j 2`` run: ``fastci run -j 2`` against ``fastci plan -j 2``, the same with
  no store (a first run, planned roughly from the files), and ``pytest -n 2``.

Actual is the command's wall time (interpreter, discovery and wrap-up included): what a user
waits for. Per shard it is the median over repeats; each row prints predicted vs actual, the
median prediction error (target <= 10 %) and the slowest shard over the mean (target <= 1.08).
Shard and local runs do not write fastci's store (a local run uses a copy), so every repeat
plans from the same timings.

    python bench/balance.py [--repeats 3] [--work DIR] [--suite NAME ...] [--tests PATH]

``--tests`` narrows every chosen suite to a path inside its package (a smoke test).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path
from typing import NamedTuple

from suite import DEFAULT_WORK, Suite, median
from suite import timed_output as run

SHARDS = 4
TOOLS = ("pytest", "pytest-xdist", "pytest-split")


class Spec(NamedTuple):
    module: str
    packages: tuple[str, ...]
    tests: str
    kind: str


SYMPY = ("sympy==1.14.0", "hypothesis", *TOOLS)
SUITES = {
    "networkx": Spec(
        "networkx", ("networkx==3.4.2", "numpy", "scipy", *TOOLS), "algorithms",
        "heavy scientific imports (numpy, scipy)",
    ),
    "sympy-core": Spec("sympy", SYMPY, "core/tests", "many tiny tests"),
    "sympy-integrals": Spec("sympy", SYMPY, "integrals/tests", "a few long tests"),
}  # fmt: skip
SPLIT_ESTIMATE = re.compile(r"estimated duration: ([0-9.]+)s")


class Row(NamedTuple):
    """One way of running a suite: per shard, its predictions and its actual times."""

    name: str
    predicted: list[float | None]
    actual: list[list[float]]  # per shard, one time per repeat

    def medians(self) -> list[float]:
        return [median(times) for times in self.actual]

    def summary(self) -> str:
        actual = self.medians()
        errors = [abs(p - a) / a for p, a in zip(self.predicted, actual, strict=True) if p]
        error = f"{100 * median(errors):5.1f} %" if errors else "   n/a"
        balance = max(actual) / (sum(actual) / len(actual))
        return (
            f"{self.name:28} median error {error}   slowest/mean {balance:.3f}   "
            f"makespan {max(actual):7.2f}s"
        )

    def shards(self) -> list[str]:
        return [
            f"    shard {k}: predicted {'   n/a' if p is None else f'{p:6.2f}s'}, actual {a:6.2f}s"
            for k, (p, a) in enumerate(zip(self.predicted, self.medians(), strict=True), 1)
        ]


class Bench:
    def __init__(self, suite: Suite) -> None:
        self.suite = suite
        self.fastci = str(suite.venv / "bin" / "fastci")
        self.split_durations = suite.work / "split_durations.json"
        self.local_store = suite.work / "local-timings.db"

    def record(self) -> None:
        """One full run of each tool: fastci's store, pytest-split's durations, xdist warm."""
        suite = self.suite
        suite.store.unlink(missing_ok=True)
        for name, command in (
            ("fastci run -j 2", suite.fastci("-j", "2")),
            ("pytest --store-durations", suite.pytest(
                "--store-durations", "--durations-path", str(self.split_durations))),
            ("pytest -n 2", suite.pytest("-n", "2")),
        ):  # fmt: skip
            seconds, _ = run(command, suite.root)
            print(f"  recorded: {name} in {seconds:.1f}s", flush=True)

    def plan(self, shards: int, jobs: int, store: Path | None = None) -> list[float | None]:
        store = store or self.suite.store
        command = [self.fastci, "plan", "--json", "--store", str(store),
                   "--shards", str(shards), "-j", str(jobs), *self.suite.pytest_args()]  # fmt: skip
        _, output = run(command, self.suite.root)
        plan = json.loads(output[output.index("{") :])
        return [float(s["predicted"]) for s in plan["shards"]]

    def fastci_shard(self, k: int, jobs: int) -> float:
        results = str(self.suite.work / "results")
        command = self.suite.fastci(
            "--shard", f"{k}/{SHARDS}", "-j", str(jobs), "--results", results
        )
        return run(command, self.suite.root)[0]

    def split_shard(self, k: int, jobs: int) -> tuple[float, float | None]:
        xdist = ["-n", str(jobs)] if jobs > 1 else []
        command = self.suite.pytest(
            *xdist, "--splits", str(SHARDS), "--group", str(k),
            "--splitting-algorithm", "least_duration",
            "--durations-path", str(self.split_durations),
        )  # fmt: skip
        seconds, output = run(command, self.suite.root)
        found = SPLIT_ESTIMATE.search(output)
        return seconds, float(found.group(1)) if found else None

    def local(self, first: bool = False) -> float:
        """``fastci run -j 2`` on a copy of the store (the real one stays as recorded), or
        with ``first`` on no store at all: a first run's rough plan."""
        self.local_store.unlink(missing_ok=True)
        if not first:
            shutil.copyfile(self.suite.store, self.local_store)
        command = [self.fastci, "run", "--store", str(self.local_store), "-j", "2",
                   *self.suite.pytest_args()]  # fmt: skip
        return run(command, self.suite.root)[0]


def measure(bench: Bench, repeats: int) -> list[Row]:
    rows = []
    for jobs in (1, 2):
        ours = Row(
            f"fastci 4 shards -j {jobs}", bench.plan(SHARDS, jobs), [[] for _ in range(SHARDS)]
        )
        theirs = Row(f"pytest-split 4 shards{' -n 2' if jobs > 1 else ''}", [None] * SHARDS,
                     [[] for _ in range(SHARDS)])  # fmt: skip
        for _ in range(repeats):
            for k in range(1, SHARDS + 1):
                ours.actual[k - 1].append(bench.fastci_shard(k, jobs))
                seconds, estimate = bench.split_shard(k, jobs)
                theirs.actual[k - 1].append(seconds)
                theirs.predicted[k - 1] = estimate
        rows += [ours, theirs]
    local = Row("fastci run -j 2", bench.plan(1, 2), [[]])
    bench.local_store.unlink(missing_ok=True)
    first = Row("fastci run -j 2, no store", bench.plan(1, 2, bench.local_store), [[]])
    xdist = Row("pytest -n 2", [None], [[]])
    for _ in range(repeats):
        local.actual[0].append(bench.local())
        first.actual[0].append(bench.local(first=True))
        xdist.actual[0].append(run(bench.suite.pytest("-n", "2"), bench.suite.root)[0])
    return [*rows, local, first, xdist]


def report(name: str, suite: Suite, kind: str, rows: list[Row], repeats: int) -> None:
    print(f"\n== {name}: {suite.tests} ({kind}), median of {repeats} repeat(s)")
    for row in rows:
        print(row.summary())
        print("\n".join(row.shards()))
    makespan = {row.name: max(row.medians()) for row in rows}

    def ratio(ours: str, theirs: str) -> str:
        return f"{makespan[ours] / makespan[theirs]:.2f}"

    print(
        "ratios: fastci/pytest-split makespan "
        f"-j 1 {ratio('fastci 4 shards -j 1', 'pytest-split 4 shards')}, "
        f"-j 2 {ratio('fastci 4 shards -j 2', 'pytest-split 4 shards -n 2')}; "
        f"fastci -j 2 / pytest -n 2 {ratio('fastci run -j 2', 'pytest -n 2')} "
        f"(first run, no store: {ratio('fastci run -j 2, no store', 'pytest -n 2')})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK / "balance")
    parser.add_argument("--suite", action="append", choices=sorted(SUITES), default=[])
    parser.add_argument("--tests", help="a path inside each suite's package: a smoke test")
    args = parser.parse_args()
    for name in args.suite or list(SUITES):
        spec = SUITES[name]
        suite = Suite(args.work / name, args.tests or spec.tests, module=spec.module,
                      packages=spec.packages)  # fmt: skip
        print(f"== {name}: installing {' '.join(spec.packages)}", flush=True)
        suite.install()
        bench = Bench(suite)
        bench.record()
        report(name, suite, spec.kind, measure(bench, args.repeats), args.repeats)


if __name__ == "__main__":
    main()
