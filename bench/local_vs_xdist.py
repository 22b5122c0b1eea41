"""Full local run on 2 cores: ``fastci run -j 2`` beside ``pytest -n 2`` on SymPy's core tests.

pytest-xdist runs with ``--dist load`` and with ``--dist worksteal``; the better of the two is
the reference. Each repeat runs every command once, in turn, after one recorded full run
that gives fastci its timings. Wall time of the whole command.

    python bench/local_vs_xdist.py [--repeats 3] [--work /tmp/fastci-bench]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from suite import DEFAULT_WORK, Suite, in_turn


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
    medians = in_turn(commands, suite.root, args.repeats)
    best = min(("xdist load", "xdist worksteal"), key=medians.__getitem__)
    ratio = medians["fastci -j 2"] / medians[best]
    print(f"ratio fastci / best xdist ({best}) = {ratio:.2f} (target <= 0.90)")


if __name__ == "__main__":
    main()
