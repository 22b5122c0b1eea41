"""4-shard makespan: ``fastci run --shard K/4`` beside pytest-split on SymPy's core tests.

Each shard runs alone, as on its own CI runner, timed from the command's start to its end
(interpreter start and collection included); a repeat's makespan is its slowest shard.
Both tools plan from the same durations, recorded by one full run first. pytest-split runs
``--splits 4 --group K --splitting-algorithm least_duration`` in one process; fastci runs
each shard with ``-j 1`` (one worker), so the difference is planning and collection, not
parallelism.

    python bench/shards_vs_pytest_split.py [--repeats 3] [--work /tmp/fastci-bench]
        [--deselect NODEID ...]

``--deselect`` leaves a test out of both tools' runs alike (and of the recorded run): SymPy's
core has one test that alone takes a third of a shard's time and so sets every tool's
makespan; without it the comparison shows the balancing and the collection.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from suite import DEFAULT_WORK, Suite, median, timed

SHARDS = 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--jobs", type=int, default=1, help="fastci workers per shard")
    parser.add_argument("--deselect", action="append", default=[], metavar="NODEID")
    args = parser.parse_args()
    suite = Suite(args.work, extra_args=[f"--deselect={d}" for d in args.deselect])
    suite.install()
    suite.record()
    makespans: dict[str, list[float]] = {"fastci": [], "pytest-split": []}
    for repeat in range(args.repeats):
        shard_times: dict[str, list[float]] = {"fastci": [], "pytest-split": []}
        for k in range(1, SHARDS + 1):
            shard_times["fastci"].append(
                timed(
                    suite.fastci(
                        "--shard",
                        f"{k}/{SHARDS}",
                        "-j",
                        str(args.jobs),
                        "--results",
                        str(args.work / "results"),
                    ),
                    suite.root,
                )
            )
            shard_times["pytest-split"].append(
                timed(
                    suite.pytest(
                        "--splits",
                        str(SHARDS),
                        "--group",
                        str(k),
                        "--splitting-algorithm",
                        "least_duration",
                        "--durations-path",
                        str(suite.durations),
                    ),
                    suite.root,
                )
            )
        for tool, times in shard_times.items():
            makespans[tool].append(max(times))
            print(
                f"repeat {repeat + 1} {tool:13} shards "
                + " ".join(f"{t:6.1f}s" for t in times)
                + f"  makespan {max(times):6.1f}s",
                flush=True,
            )
    fastci, split = median(makespans["fastci"]), median(makespans["pytest-split"])
    print(
        f"median 4-shard makespan: fastci {fastci:.1f}s, pytest-split {split:.1f}s, "
        f"ratio fastci/pytest-split = {fastci / split:.2f} (target <= 0.75)"
    )


if __name__ == "__main__":
    main()
