"""What a run was asked to do (``RunRequest``) and what it did (``RunOutcome``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fastci.ci.providers import ShardSpec
from fastci.config import Config
from fastci.errors import ExitCode
from fastci.execute.ledger import PoolResult
from fastci.plan.costs import predicted_wall
from fastci.plan.inventory import Inventory
from fastci.plan.planner import Plan, Unit
from fastci.plan.quarantine import matching
from fastci.queue.scheduler import QueueSettings
from fastci.results.bundle import count_outcomes
from fastci.results.phases import PhaseClock


@dataclasses.dataclass(frozen=True)
class RunRequest:
    config: Config
    pytest_args: tuple[str, ...] = ()
    shard: ShardSpec | None = None
    results_dir: Path | None = None
    queue: QueueSettings | None = None  # one runner of a queue run (fastci.queue)
    revision: tuple[str, str] | None = None  # (commit, tree) it runs on; None: no git
    seed: int | None = None  # --random-order: units and their tests shuffled by this seed

    @property
    def whole_suite(self) -> bool:
        """This run is the whole suite, not one shard of several: it writes the store and
        judges coverage itself (for shards, fastci merge does)."""
        return self.queue is None and (self.shard is None or self.shard.total == 1)

    @property
    def no_cov(self) -> bool:
        """pytest-cov's --no-cov among the arguments: no coverage, whatever else asks for it."""
        return "--no-cov" in (*self.config.pytest_args, *self.pytest_args)


@dataclasses.dataclass
class RunOutcome:
    request: RunRequest
    inventory: Inventory
    plan: Plan
    units: list[Unit]
    pool: PoolResult
    run_id: str
    started: float
    phases: PhaseClock = dataclasses.field(default_factory=PhaseClock)  # fixed costs, by phase
    finished: float = 0.0
    exit_code: int = ExitCode.OK
    coverage_total: float | None = None
    coverage_report: str = ""
    coverage_problem: str | None = None  # the coverage threshold is missed, and how
    coverage_fail_under: float | None = None  # --cov-fail-under, if given
    bundle: Path | None = None
    queue_units: tuple[str, ...] = ()  # queue mode: every unit of the published plan

    @property
    def predicted(self) -> float:
        """Expected wall time: the plan's, for this shard and its workers (fastci.plan.costs)."""
        wall = predicted_wall(self.plan, self.units)
        if wall is None:  # a queue runner's units: the plan's first shard says what one takes
            wall = self.plan.shard(self.request.shard.index if self.request.shard else 1).predicted
        return wall

    @property
    def deselected(self) -> list[str]:
        """Every test -k, -m or --deselect left out: at discovery or in a worker."""
        return sorted(self.pool.deselected.union(self.inventory.deselected))

    @property
    def counts(self) -> dict[str, int]:
        return count_outcomes(self.pool.results)

    @property
    def quarantined(self) -> list[str]:
        """The quarantined tests this run ran: they report, but fail nothing."""
        return matching((r.id for r in self.pool.results), self.request.config.quarantine)
