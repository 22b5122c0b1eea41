"""A run's start-up before its first test: discovery, the syntax check, the plan and the order,
each timed as a phase (fastci.results.phases)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from fastci.config import Config
from fastci.errors import UsageError
from fastci.execute.collection import early_errors, stops_on_collection_errors
from fastci.execute.outcome import RunRequest
from fastci.execute.priority import first_units, read_signals
from fastci.files import STATE_DIR, writable_directory
from fastci.merge.coverage import CoverageRequest, check_report_kinds
from fastci.model import TestResult
from fastci.plan.compiled import COMPILED
from fastci.plan.inventory import Inventory
from fastci.plan.planner import Plan, Unit
from fastci.plan.suite import inventory_for, plan_suite
from fastci.plugin.ordering import UNITS, shuffled
from fastci.queue.scheduler import QueueScheduler
from fastci.results.phases import PhaseClock


@dataclasses.dataclass(frozen=True)
class Prepared:
    """What the run knows once it is planned: the suite, the plan and its units in run order."""

    inventory: Inventory
    coverage: CoverageRequest | None
    early: list[TestResult]  # files found broken before anything ran
    stop: bool  # a collection error stops the run, as in pytest
    plan: Plan
    units: list[Unit]


def prepare(
    request: RunRequest,
    queue: QueueScheduler | None,
    started: float,
    clock: PhaseClock,
    discovered: Callable[[], Inventory | None] = lambda: None,
) -> Prepared:
    """Discover, check and plan the suite, and put this shard's units in run order.

    ``discovered``: the files a worker listed, if one did; else a pytest of its own does.
    """
    config = request.config
    with clock.phase("discovery"):
        inventory = discovered() or inventory_for(config, request.pytest_args)
    _check_junitxml(config, inventory.settings.junitxml)
    coverage = None if request.no_cov else coverage_request(inventory.settings.coverage)
    with clock.phase("syntax check of test files"):
        inventory, early = early_errors(inventory, started, config.root / STATE_DIR / COMPILED)
    shards = request.shard.total if request.shard else 1
    with clock.phase("store read and planning"):
        plan = plan_suite(config, inventory, None if queue else shards)
    stop = stops_on_collection_errors(inventory)
    # As pytest: nothing runs after a collection error.
    with clock.phase("failures-first order"):
        units = [] if early and stop else _shard_units(request, plan, inventory)
    units = queue.join(plan) if queue and units else units
    return Prepared(inventory, coverage, early, stop, plan, units)


def coverage_request(settings: dict[str, object] | None) -> CoverageRequest | None:
    """The coverage the user asked for, refused before any test runs if fastci cannot do it."""
    if settings is None:
        return None
    request = CoverageRequest.from_json(settings)
    check_report_kinds(request.reports)
    return request


def _check_junitxml(config: Config, junitxml: str | None) -> None:
    """The user's --junitxml is written after the tests: refuse an unusable one before them."""
    if junitxml:
        junit = config.workdir / junitxml
        if junit.is_dir():
            raise UsageError(f"cannot write --junitxml {junit}: it is a directory")
        writable_directory(junit.parent, f"cannot write --junitxml {junit}")


def _shard_units(request: RunRequest, plan: Plan, inventory: Inventory) -> list[Unit]:
    """This shard's units in run order: failures first (--order), or shuffled by
    --random-order's seed."""
    shard = plan.shard(request.shard.index if request.shard else 1)
    units = [plan.units[uid] for uid in shard.units]
    if request.seed is not None:
        return shuffled(units, request.seed, UNITS, lambda u: u.id)
    signals = read_signals(request.config, inventory)
    return first_units(units, signals, stop_early=bool(inventory.settings.maxfail))
