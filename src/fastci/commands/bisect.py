"""``fastci bisect TEST``: find the earlier test that makes TEST fail, from a run's bundle."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from fastci.config import load_config
from fastci.errors import ExitCode

NAME = "bisect"
HELP = (
    "replay the order in which TEST failed (from a bundle) and bisect the tests before it "
    "down to the one that makes it fail; --isolated: does TEST fail alone?"
)
DEFAULT_RESULTS = ".fastci/results"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("test", metavar="TEST", help="the failing test's node id")
    parser.add_argument(
        "--results",
        type=Path,
        metavar="DIR",
        help=f"the bundle (or a directory of bundles) of the run TEST failed in "
        f"(default: {DEFAULT_RESULTS})",
    )
    parser.add_argument(
        "--isolated", action="store_true", help="only run TEST alone and say whether it fails"
    )


def run(args: argparse.Namespace) -> int:
    from fastci.execute.bisect import Pytest, Replay, bisect, find_replay

    config = load_config(args)
    pytest = Pytest(config.workdir, print)
    if args.isolated:
        if pytest.fails([], args.test, "no other test"):
            print(f"{args.test} fails alone: no other test is needed to make it fail")
            return ExitCode.TESTS_FAILED
        print(f"{args.test} passes alone: if it failed in a run, an earlier test (or the "
              "machine) made it fail; try `fastci bisect` on that run's bundle")  # fmt: skip
        return ExitCode.OK
    replay: Replay = find_replay(args.results or config.root / DEFAULT_RESULTS, args.test)
    print(f"{args.test} failed on worker {replay.worker} after {len(replay.before)} test(s) "
          f"(bundle {replay.bundle}); bisecting them")  # fmt: skip
    culprit = bisect(replay, pytest)
    if culprit is None:
        print(f"no single earlier test makes {args.test} fail here (it passed with the "
              "whole order, or needs several): it may be flaky; try --isolated")  # fmt: skip
        return ExitCode.TESTS_FAILED
    print(f"found in {pytest.steps} steps: {culprit} makes {args.test} fail")
    command = ["python", "-m", "pytest", "-p", "no:randomly", culprit, args.test]
    print(f"reproduce: {shlex.join(command)}")
    return ExitCode.OK
