"""Full local run on 2 cores: ``fastci run -j 2`` beside ``pytest -n 2`` on SymPy's core tests.

pytest-xdist runs with ``--dist load`` and with ``--dist worksteal``; the better of the two is
the reference. Each repeat runs every command once, in turn, after one recorded full run
that gives fastci its timings. Wall time of the whole command.

    python bench/local_vs_xdist.py [--repeats 3] [--work /tmp/fastci-bench]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from suite import DEFAULT_WORK, Suite, median, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    args = parser.parse_args()
    suite = Suite(args.work)
    suite.install()
    suite.record()
    commands = {
        "fastci -j 2": suite.fastci("-j", "2"),
        "xdist load": suite.pytest("-n", "2", "--dist", "load"),
        "xdist worksteal": suite.pytest("-n", "2", "--dist", "worksteal"),
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for repeat in range(args.repeats):
        for name, command in commands.items():
            times[name].append(timed(command, suite.root))
        print(
            f"repeat {repeat + 1}: " + ", ".join(f"{n} {t[-1]:.1f}s" for n, t in times.items()),
            flush=True,
        )
    medians = {name: median(t) for name, t in times.items()}
    best = min(("xdist load", "xdist worksteal"), key=medians.__getitem__)
    ratio = medians["fastci -j 2"] / medians[best]
    print("medians: " + ", ".join(f"{n} {m:.1f}s" for n, m in medians.items()))
    print(f"ratio fastci / best xdist ({best}) = {ratio:.2f} (target <= 0.90)")


if __name__ == "__main__":
    main()
