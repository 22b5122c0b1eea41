"""``fastci plan``: show how the suite splits into shards, before anything runs."""

from __future__ import annotations

import argparse

from fastci.config import add_setting_arguments, load_config
from fastci.errors import ExitCode
from fastci.plan.planner import Plan
from fastci.settings import PLANNING_SETTINGS

NAME = "plan"
HELP = "split the suite into duration-balanced shards and show the plan"
PYTEST_ARGS = True
UNITS_SHOWN_PER_SHARD = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # --jobs: the workers each shard runs, which its predicted time assumes (fastci.plan.costs).
    add_setting_arguments(parser, "shards", "jobs", *PLANNING_SETTINGS)
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="list every unit of every shard"
    )


def run(args: argparse.Namespace) -> int:
    from fastci.plan.suite import inventory_for, plan_suite

    config = load_config(args)
    inventory = inventory_for(config, args.passthrough)
    plan = plan_suite(config, inventory)
    if args.json:
        print(plan.dumps(), end="")
    else:
        print(format_plan(plan, len(inventory.files), verbose=args.verbose))
    return ExitCode.OK if plan.units else ExitCode.NO_TESTS_COLLECTED


def format_plan(plan: Plan, file_count: int, verbose: bool = False) -> str:
    shard_count = len(plan.shards)
    lines = [
        f"{shard_count} shard{'s' if shard_count != 1 else ''}, {plan.granularity} "
        f"granularity, {len(plan.units)} units from {file_count} test files"
    ]
    if plan.rough:
        lines.append("rough estimate: no timings yet, durations guessed from each file's tests")
    for shard in plan.shards:
        lines.append(
            f"shard {shard.index}/{shard_count}: predicted {shard.predicted:.2f}s, "
            f"{len(shard.units)} unit{'s' if len(shard.units) != 1 else ''}"
        )
        shown = shard.units if verbose else shard.units[:UNITS_SHOWN_PER_SHARD]
        lines.extend(f"    {plan.units[uid].duration:8.2f}s  {uid}" for uid in shown)
        if len(shown) < len(shard.units):
            lines.append(f"    … {len(shard.units) - len(shown)} more (-v lists them all)")
    ratio = plan.makespan / plan.lower_bound if plan.lower_bound > 0 else 1.0
    workers = f"{plan.parallelism:g} worker{'s' if plan.parallelism != 1 else ''} per shard"
    lines.append(
        f"predicted makespan {plan.makespan:.2f}s, lower bound {plan.lower_bound:.2f}s "
        f"(ratio {ratio:.3f}; {workers}; includes {plan.shard_startup:.2f}s shard startup)"
    )
    return "\n".join(lines)
