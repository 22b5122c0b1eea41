"""``fastci run``: run the suite (or one shard of it) on local worker processes."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from fastci.affected.options import add_base_argument
from fastci.ci.providers import ShardSpec, parse_shard, shard_from_env
from fastci.config import Config, add_setting_arguments, argparse_type, load_config
from fastci.errors import ExitCode, UsageError
from fastci.files import writable_directory
from fastci.plugin.ordering import seed_or_new
from fastci.settings import PLANNING_SETTINGS, jobs_count

if TYPE_CHECKING:
    from fastci.execute.outcome import RunOutcome

NAME = "run"
HELP = "run the suite, or one shard of it, on local worker processes"
PYTEST_ARGS = True
DEFAULT_RESULTS = ".fastci/results"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = "fastci run [OPTIONS] [PYTEST_ARGS ...]"
    add_setting_arguments(
        parser,
        "jobs",
        "timeout",
        "deadline",
        "queue",
        "shards",
        "reruns",
        "order",
        "confirm_failures",
        "allow_flaky",
        "quarantine",
        "record_deps",
        "affected_env",
        "always_run",
        "inputs",
        *PLANNING_SETTINGS,
    )
    parser.add_argument(
        "--run-id", metavar="ID", help="queue mode: the run's id, the same on every runner"
    )
    parser.add_argument(
        "--queue-job",
        metavar="NAME",
        help="queue mode: this CI job's name; a re-run with the same name replays its units",
    )
    parser.add_argument(  # so `fastci run -n 4` does what a pytest-xdist user means
        "-n", "--numprocesses", dest="jobs", type=argparse_type(jobs_count), metavar="N",
        help="the same as --jobs, under pytest-xdist's name",
    )  # fmt: skip
    parser.add_argument(
        "--shard",
        type=argparse_type(parse_shard),
        metavar="K/N",
        help="run only shard K of N (default: from the CI provider's parallel-job variables)",
    )
    parser.add_argument(
        "--random-order", nargs="?", const="new", type=argparse_type(seed_or_new),
        metavar="SEED", help="run units and the tests in each in an order shuffled by SEED "
        "(default: a new seed, printed); the same seed gives the same order anywhere",
    )  # fmt: skip
    parser.add_argument(
        "--affected",
        action="store_true",
        help="run only the tests the changes since the recorded commit can affect "
        "(fastci affected; docs/affected.md)",
    )
    add_base_argument(parser)
    parser.add_argument(
        "--results",
        type=Path,
        metavar="DIR",
        help="write this run's bundle (JUnit, timings, coverage) under DIR for fastci merge "
        f"(a shard's default: {DEFAULT_RESULTS}; a shard leaves the timings store to "
        "fastci merge, so all shards of a run plan from the same timings)",
    )


def run(args: argparse.Namespace) -> int:
    from fastci.changes.git import source_revision
    from fastci.execute.outcome import RunRequest
    from fastci.execute.progress import terminal_options
    from fastci.execute.run import run_tests, workers_for
    from fastci.queue.options import queue_settings
    from fastci.report.progress import use_color
    from fastci.report.summary import Summary

    config = load_config(args)
    affected = _narrow_to_affected(config, args)
    if affected is False:
        return ExitCode.OK  # --affected, and nothing is affected
    if any(a in ("--co", "--collect-only") for a in args.passthrough):
        return _collect_only(config, args.passthrough)
    queue = queue_settings(config.queue, args.run_id, args.queue_job, os.environ)
    if args.shards is not None and queue is None:
        raise UsageError("fastci run takes --shards with --queue only; one shard is --shard K/N")
    shard = _shard(args.shard, queue is not None)
    results = args.results
    if results is None and (shard is not None or queue is not None):
        results = config.root / DEFAULT_RESULTS
    if results is not None:
        writable_directory(results, f"cannot use --results {results}")
    request = RunRequest(
        config=config,
        pytest_args=tuple(args.passthrough),
        shard=shard,
        results_dir=None if results is None else results.resolve(),
        queue=queue,
        revision=source_revision(config.root),
        seed=args.random_order,
    )
    if args.random_order is not None:
        print(f"fastci: random order, seed {args.random_order} (--random-order="
              f"{args.random_order} runs this order again)", file=sys.stderr)  # fmt: skip
    from fastci.affected.hooks import recorded_run

    outcome = recorded_run(request, run_tests, affected if isinstance(affected, dict) else None)
    where = f"shard {shard}" if shard else f"queue job {queue.job}" if queue else "run"
    took = outcome.finished - outcome.started
    workers = workers_for(config.jobs, outcome.units)
    timing = (
        f"{where}: predicted {outcome.predicted:.2f}s, took {took:.2f}s on {workers} "
        f"worker{'s' if workers != 1 else ''}, {len(outcome.units)} units"
    )
    notes = _notes(outcome)
    summary = Summary(
        outcome.pool.results,
        outcome.counts,
        outcome.finished - outcome.started,
        timing,
        outcome.coverage_report,
        notes,
        deselected=len(outcome.deselected),
        terminal=terminal_options(outcome.inventory.settings),
        quarantined=outcome.quarantined,
        warnings=outcome.pool.warnings,
    )
    print(summary.render(color=use_color(sys.stdout)))
    return outcome.exit_code


def _notes(outcome: RunOutcome) -> list[str]:
    """The lines after the tests: how the run stopped, what was confirmed, where it went."""
    from fastci.execute.collection import stop_notes

    notes = stop_notes(outcome.pool)
    if outcome.pool.stopped_early:
        notes.append(f"fastci: {outcome.pool.stopped_early}; the remaining units did not run")
    if outcome.pool.interrupted:
        notes.append("fastci: interrupted; what finished is recorded")
    if outcome.pool.confirmed:
        from fastci.execute.confirm import confirmed_note

        notes.append(confirmed_note(outcome.pool.confirmed))
    if outcome.bundle is not None:
        notes.append(f"fastci: results bundle written to {outcome.bundle}")
    return notes


def _narrow_to_affected(config: Config, args: argparse.Namespace) -> dict[str, object] | bool:
    """With --affected, pass pytest only the affected tests: what was selected (for the
    bundle), or False when nothing was."""
    if not args.affected:
        return True
    from fastci.affected.hooks import affected_args

    selected, note = affected_args(config, args.base, args.passthrough, args.results)
    if selected is None:
        return False
    args.passthrough = selected
    return note or True


def _shard(given: ShardSpec | None, queued: bool) -> ShardSpec | None:
    """This job's shard: --shard, else the CI's parallel-job variables; none for a queue."""
    if queued:  # a parallel job's variables say which runner it is, not which shard
        if given is not None and given.total > 1:
            raise UsageError("--queue replaces --shard: every runner takes from one queue")
        return None
    if given is not None:
        return given
    try:
        return shard_from_env(os.environ)
    except ValueError as e:
        raise UsageError(f"cannot tell this job's shard: {e}; pass --shard K/N") from None


def _collect_only(config: Config, pytest_args: list[str]) -> int:
    """``fastci run --co``: list what would run, as pytest does, running nothing."""
    from fastci.plan.suite import inventory_for

    inventory = inventory_for(config, pytest_args, collect=True)
    items = inventory.items or ()
    for item in items:
        print(item.id)
    print(f"{len(items)} tests collected")
    return ExitCode.OK if items else ExitCode.NO_TESTS_COLLECTED
