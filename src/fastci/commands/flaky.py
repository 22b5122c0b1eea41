"""``fastci flaky``: the tests that passed and failed on the same code, by flake rate."""

from __future__ import annotations

import argparse

from fastci.config import add_setting_arguments, load_config
from fastci.errors import ExitCode

NAME = "flaky"
HELP = (
    "list flaky tests from the timings store (passed and failed on one git tree, or passed "
    "only on a rerun), highest flake rate first"
)
COMMIT_SHOWN = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_setting_arguments(parser, "store", "estimate_window")


def run(args: argparse.Namespace) -> int:
    from fastci.plan.flakiness import flaky_tests
    from fastci.plan.store import TimingsStore

    config = load_config(args)
    with TimingsStore(config.store_path, window=config.estimate_window) as store:
        flaky = flaky_tests(store.outcome_history())
    if not flaky:
        print("no flaky tests: none passed and failed on the same code in the stored runs")
        return ExitCode.OK
    print(f"{'rate':>5}  {'flakes':>7}  {'last seen':<10}  test")
    for test in flaky:
        flakes = f"{test.flakes}/{test.runs}"
        print(
            f"{test.rate:>5.0%}  {flakes:>7}  {test.last_commit[:COMMIT_SHOWN]:<10}  {test.test_id}"
        )
    print(f"{len(flaky)} flaky test{'s' if len(flaky) != 1 else ''}")
    return ExitCode.OK
