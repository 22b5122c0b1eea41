"""Planner at scale: 200,000 tests in 5,000 files, fastci's planner beside pytest-split's.

Prints, for 4, 8 and 16 shards: planning time (median of several runs), peak memory of
planning (tracemalloc, separate run), and predicted makespan over the lower bound, for
fastci at file and at test granularity and for pytest-split's least_duration on the same
durations. pytest-split knows no import costs, so its split is costed with the same model
(each shard pays startup and each file it touches) to compare like with like.

    python bench/plan_scale.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastci.plan.costs import CostModel
from fastci.plan.planner import Unit, lower_bound, plan_shards

TESTS = 200_000
FILES = 5_000
SHARD_COUNTS = (4, 8, 16)
STARTUP = 2.0


@dataclass(frozen=True)
class Item:
    """What pytest-split's algorithm reads of a test item."""

    nodeid: str


def synthetic_suite(seed: int = 2026) -> tuple[dict[str, float], dict[str, str], CostModel]:
    rng = random.Random(seed)
    # Files differ in size (lognormal test counts); tests differ in duration (lognormal).
    weights = [rng.lognormvariate(0, 1) for _ in range(FILES)]
    scale = TESTS / sum(weights)
    counts = [max(1, round(w * scale)) for w in weights]
    counts[-1] += TESTS - sum(counts)
    durations: dict[str, float] = {}
    file_of: dict[str, str] = {}
    for f, count in enumerate(counts):
        file = f"tests/pkg{f % 50}/test_mod{f}.py"
        for n in range(max(count, 1)):
            test = f"{file}::test_{n}"
            durations[test] = rng.lognormvariate(-4, 1.5)
            file_of[test] = file
    costs = {f: rng.lognormvariate(-3, 1) for f in set(file_of.values())}
    return durations, file_of, CostModel(shard_startup=STARTUP, file_costs=costs)


def file_units(durations: dict[str, float], file_of: dict[str, str]) -> list[Unit]:
    totals: dict[str, float] = defaultdict(float)
    for test, seconds in durations.items():
        totals[file_of[test]] += seconds
    return [Unit(id=f, files=(f,), duration=d) for f, d in totals.items()]


def test_units(durations: dict[str, float], file_of: dict[str, str]) -> list[Unit]:
    return [Unit(id=t, files=(file_of[t],), duration=d) for t, d in durations.items()]


def pytest_split_makespan(
    durations: dict[str, float], file_of: dict[str, str], model: CostModel, shards: int
) -> float:
    from pytest_split.algorithms import Algorithms

    items: list[Any] = [Item(t) for t in durations]  # all the algorithm reads is .nodeid
    groups = Algorithms.least_duration.value(shards, items, durations)
    loads: list[float] = []
    for group in groups:
        files = {file_of[i.nodeid] for i in group.selected}
        loads.append(STARTUP + float(group.duration) + sum(model.file_cost(f) for f in files))
    return max(loads)


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def peak_mib(action: Callable[[], object]) -> float:
    tracemalloc.start()
    action()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    durations, file_of, model = synthetic_suite()
    print(
        f"{len(durations)} tests in {len(set(file_of.values()))} files, "
        f"{sum(durations.values()):.0f}s of tests; medians of {args.repeats} runs"
    )
    print(f"{'planner':32} {'shards':>6} {'time':>8} {'peak MiB':>9} {'makespan/LB':>12}")
    for label, make_units in (
        ("fastci --granularity file", file_units),
        ("fastci --granularity test", test_units),
    ):
        for shards in SHARD_COUNTS:

            def plan(
                make_units: Callable[..., list[Unit]] = make_units, shards: int = shards
            ) -> object:
                return plan_shards(make_units(durations, file_of), shards, model)

            seconds = median_seconds(plan, args.repeats)
            memory = peak_mib(plan)
            result = plan_shards(make_units(durations, file_of), shards, model)
            ratio = result.makespan / result.lower_bound
            print(f"{label:32} {shards:>6} {seconds:>7.3f}s {memory:>9.1f} {ratio:>12.4f}")
    for shards in SHARD_COUNTS:

        def split(shards: int = shards) -> object:
            return pytest_split_makespan(durations, file_of, model, shards)

        seconds = median_seconds(split, args.repeats)
        makespan = pytest_split_makespan(durations, file_of, model, shards)
        bound = lower_bound(test_units(durations, file_of), shards, model)
        print(
            f"{'pytest-split least_duration':32} {shards:>6} {seconds:>7.3f}s {'':>9} "
            f"{makespan / bound:>12.4f}"
        )


if __name__ == "__main__":
    main()
