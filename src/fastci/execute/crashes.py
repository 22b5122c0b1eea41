"""What a worker's death costs: the test it was running fails, the rest goes to a new worker.

- The test that was running fails as ``crashed`` with the cause; workers run their tests in
  the order they reported collecting them, so it is the first collected one without a
  result.
- The rest of its collected units is re-queued at the front, for a fresh worker.
- A unit that was being imported when its worker died is retried once on a fresh worker
  (it may have been another test's fault); a second death fails its files.
- Restarts are capped, as pytest-xdist's ``--max-worker-restart`` is by default.
- A worker its watchdog ended because a test ran past its timeout is a crash too, but the
  test is failed as timed out, with every thread's stack (``fastci.execute.timeouts``).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

from fastci.errors import ExitCode
from fastci.execute.timeouts import TimedOut, timed_out
from fastci.model import TestResult, node_file
from fastci.plan.planner import Unit
from fastci.plugin.launch import PytestError

RESTARTS_PER_JOB = 4  # as pytest-xdist's --max-worker-restart defaults to
IMPORT_ATTEMPTS = 2


@dataclasses.dataclass
class UnitRun:
    """A unit given to a worker: the tests it collected, and those without a result yet."""

    unit: Unit
    start: float
    collected: bool = False
    order: list[str] = dataclasses.field(default_factory=list)  # as the worker will run them
    remaining: set[str] = dataclasses.field(default_factory=set)


def running_test(assigned: list[UnitRun]) -> str | None:
    """The test a worker is running now: the first collected test without a result."""
    if assigned and not assigned[-1].collected:
        return None  # it was importing its newest unit; its held-back test had not begun
    for run in assigned:
        for test_id in run.order:
            if test_id in run.remaining:
                return test_id
    return None


@dataclasses.dataclass(frozen=True)
class DeadWorker:
    """What the pool knew of a worker when it died."""

    slot: str
    cause: str  # "exited with code 3", "was killed by SIGSEGV"…
    assigned: list[UnitRun]
    told_to_stop: bool
    since: float  # when its last result (or, without one, the worker) started
    died: float
    log_tail: str
    timeout: TimedOut | None = None  # its watchdog ended it: the running test timed out


@dataclasses.dataclass
class Salvage:
    failed: list[TestResult] = dataclasses.field(default_factory=list)
    requeue: list[Unit] = dataclasses.field(default_factory=list)  # each to the front, in order


class CrashPolicy:
    """Decides what a dead worker's work becomes, and whether a new worker may start."""

    def __init__(self, jobs: int) -> None:
        self.cap = RESTARTS_PER_JOB * jobs
        self.restarts_left = self.cap
        self.import_crashes: Counter[str] = Counter()

    def blame(self, dead: DeadWorker) -> TestResult | None:
        """The test that was running when the worker died, failed with the cause.

        Record it before ``salvage``: it then no longer counts as remaining.
        """
        running = running_test(dead.assigned)
        if running is not None:
            crashed = _crashed(
                dead, running, "while running this test; a new worker ran the rest of its unit"
            )
            return crashed if dead.timeout is None else timed_out(crashed, dead.timeout)
        if not dead.assigned and dead.told_to_stop:
            return _crashed(
                dead, f"fastci::{dead.slot}", "after its last test (in session teardown)"
            )
        return None

    def salvage(self, dead: DeadWorker) -> Salvage:
        """What becomes of the units it still held: re-queued, or failed after a second try."""
        out = Salvage()
        for run in dead.assigned:
            if run.collected:
                if run.remaining:
                    kept = tuple(t for t in run.order if t in run.remaining)
                    out.requeue.append(run.unit._replace(tests=kept))
                continue
            self.import_crashes[run.unit.id] += 1
            if self.import_crashes[run.unit.id] < IMPORT_ATTEMPTS:
                out.requeue.append(run.unit)  # perhaps not its fault: try once more
            else:
                out.failed.extend(
                    _crashed(dead, file, f"while importing {file}, twice")
                    for file in run.unit.files
                )
        return out

    def may_restart(self) -> bool:
        """Whether a new worker may take a dead one's place (each answer yes uses one up)."""
        if self.restarts_left <= 0:
            return False
        self.restarts_left -= 1
        return True

    def gave_up(self) -> str:
        return f"workers died {self.cap} times; fastci stopped starting new ones"


def _crashed(dead: DeadWorker, test_id: str, during: str) -> TestResult:
    return TestResult(
        id=test_id, file=node_file(test_id), outcome="crashed", start=dead.since,
        stop=dead.died, worker=dead.slot,
        longrepr=f"worker {dead.slot} {dead.cause} {during}.\n{dead.log_tail}",
    )  # fmt: skip


def startup_error(returncode: int, log_path: Path) -> PytestError:
    """No worker ever started: pytest itself refused (bad arguments, a broken conftest)."""
    return PytestError(
        f"a pytest worker could not start (exit code {returncode}); its output is above",
        exit_code=returncode if returncode > 0 else ExitCode.INTERNAL_ERROR,
        details=log_path.read_text(errors="replace"),
    )
