"""``fastci flaky``: the tests that passed and failed on the same code, by flake rate; with
``--quarantine``, put them in ``[tool.fastci] quarantine``."""

from __future__ import annotations

import argparse

from fastci.config import Config, add_setting_arguments, load_config
from fastci.errors import ExitCode, UsageError
from fastci.plan.flakiness import Flaky
from fastci.settings import positive_int

NAME = "flaky"
HELP = (
    "list flaky tests from the timings store (passed and failed on one git tree, or passed "
    "only on a rerun), highest flake rate first, and quarantined tests ready to release"
)
COMMIT_SHOWN = 10
RELEASE_AFTER = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_setting_arguments(parser, "store", "estimate_window")
    parser.add_argument(
        "--quarantine",
        dest="write_quarantine",
        action="store_true",
        help="add the flaky tests listed to [tool.fastci] quarantine in pyproject.toml: they "
        "still run and report, but no longer fail a run",
    )
    parser.add_argument(
        "--release-after",
        type=positive_int,
        default=RELEASE_AFTER,
        metavar="N",
        help=f"a quarantined test that passed its last N runs is ready to release "
        f"(default: {RELEASE_AFTER})",
    )


def run(args: argparse.Namespace) -> int:
    from fastci.plan.flakiness import flaky_tests, passes_in_a_row
    from fastci.plan.quarantine import matching
    from fastci.plan.store import TimingsStore

    config = load_config(args)
    with TimingsStore(config.store_path, window=config.estimate_window) as store:
        jailed = matching(store.current_tests(), config.quarantine)
        history = store.outcome_history(also=jailed)
    flaky = flaky_tests(history)
    _print_flaky(flaky, jailed)
    streaks = passes_in_a_row(history)
    for test in jailed:
        if streaks.get(test, 0) >= args.release_after:
            print(
                f"ready to release: {test} passed its last {streaks[test]} runs in quarantine; "
                "remove it from [tool.fastci] quarantine"
            )
    if args.write_quarantine:
        _quarantine(config, [f.test_id for f in flaky if f.test_id not in jailed])
    return ExitCode.OK


def _print_flaky(flaky: list[Flaky], jailed: list[str]) -> None:
    if not flaky:
        print("no flaky tests: none passed and failed on the same code in the stored runs")
        return
    print(f"{'rate':>5}  {'flakes':>7}  {'last seen':<10}  test")
    for test in flaky:
        flakes = f"{test.flakes}/{test.runs}"
        where = " (quarantined)" if test.test_id in jailed else ""
        print(
            f"{test.rate:>5.0%}  {flakes:>7}  {test.last_commit[:COMMIT_SHOWN]:<10}  "
            f"{test.test_id}{where}"
        )
    print(f"{len(flaky)} flaky test{'s' if len(flaky) != 1 else ''}")


def _quarantine(config: Config, new: list[str]) -> None:
    from fastci.plan.quarantine import CannotEdit, add_to_pyproject, render

    path = config.root / "pyproject.toml"
    if not new:
        print(f"nothing to quarantine: no flaky test outside [tool.fastci] quarantine in {path}")
        return
    try:
        entries = add_to_pyproject(path, new)
    except CannotEdit as e:
        print("\n".join(["[tool.fastci]", *render([*config.quarantine, *new])]))
        raise UsageError(
            f"{path} was left as it is: {e}; put the lines above in its [tool.fastci] table"
        ) from None
    print(f"quarantined {len(new)} test{'s' if len(new) != 1 else ''} in {path} "
          f"({len(entries)} in [tool.fastci] quarantine)")  # fmt: skip
