"""What the pool has learned: every result, unit and worker span, and what each worker owes.

The pool feeds it what workers report; it keeps the ``PoolResult``, tells the listener as
results arrive, and closes a unit once its last collected test has a result.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from typing import Protocol

from fastci.execute.crashes import UnitRun
from fastci.execute.messages import Collected, FromWorker, Ready, Warned
from fastci.model import TestResult, UnitSpan, WarningRecord, WorkerSpan, node_file, not_run_id
from fastci.plan.planner import Unit


@dataclasses.dataclass
class PoolResult:
    """What happened in the pool: every result, and when each unit and worker ran."""

    results: list[TestResult] = dataclasses.field(default_factory=list)
    units: list[UnitSpan] = dataclasses.field(default_factory=list)
    workers: list[WorkerSpan] = dataclasses.field(default_factory=list)
    file_collect: dict[str, float] = dataclasses.field(default_factory=dict)
    # file -> own seconds of the top-level packages it was first to import in its worker
    file_imports: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    startup: float | None = None  # seconds from the pool's start until a worker was ready
    header: tuple[str, ...] = ()  # pytest's session header, as the first ready worker wrote it
    warnings: list[WarningRecord] = dataclasses.field(default_factory=list)  # as they came
    interrupted: bool = False
    stopped_early: str | None = None  # why the run stopped before all units ran (-x, --maxfail)
    collection_stop: str | None = None  # pytest's "Interrupted: N errors during collection"
    internal_error: str | None = None  # pytest's INTERNALERROR lines, from a worker that ended
    not_run: list[str] = dataclasses.field(default_factory=list)  # units lost without a reason
    # Deselected by -k, -m or --deselect; a set: every piece of a split file deselects alike.
    deselected: set[str] = dataclasses.field(default_factory=set)
    leftovers: list[str] = dataclasses.field(default_factory=list)  # processes tests left running
    # Failed tests that passed once the whole suite was imported (fastci.execute.confirm).
    confirmed: list[str] = dataclasses.field(default_factory=list)


class Listener(Protocol):
    def test_done(self, result: TestResult) -> None: ...

    def unit_done(self, span: UnitSpan) -> None: ...

    def tick(self) -> None: ...

    def close(self) -> None: ...


class Silent:
    """The listener until the run brings the real one."""

    def test_done(self, result: TestResult) -> None:
        pass

    def unit_done(self, span: UnitSpan) -> None:
        pass

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass


class Ledger:
    def __init__(self) -> None:
        self.result = PoolResult()
        self.listener: Listener = Silent()
        self.failures = 0
        self.whole_files: set[tuple[str, int]] = set()  # whole-file results recorded, by id

    def heard(self, message: FromWorker) -> None:
        """Keep what a worker says for the report: the session header (the first one), and
        every warning."""
        if isinstance(message, Ready) and not self.result.header:
            self.result.header = message.header
        elif isinstance(message, Warned):
            self.result.warnings.append(message.warning)

    def collected(self, slot: str, assigned: list[UnitRun], message: Collected) -> None:
        """A unit imported: its tests are now owed, its import errors are results."""
        run = next((r for r in assigned if r.unit.id == message.unit and not r.collected), None)
        if run is None:
            return
        run.collected = True
        run.order = list(message.tests)
        run.remaining = set(run.order)
        self.result.file_collect.update(message.files)
        self.result.file_imports.update({f: dict(p) for f, p in message.imports.items()})
        self.result.deselected.update(message.deselected)
        repeats: dict[str, int] = {}  # a file may skip as a module and as a doctest module
        for error in message.errors:  # and modules that skipped themselves
            key = (error.id, repeats.setdefault(error.id, 0))
            repeats[error.id] += 1
            if key in self.whole_files:
                continue  # every part of a cut file imports it: the first one says so
            self.whole_files.add(key)
            self.record(slot, assigned, TestResult(
                id=error.id, file=node_file(error.id), outcome=error.outcome,
                longrepr=error.longrepr, start=message.start, stop=message.stop, worker=slot,
            ))  # fmt: skip
        if not run.remaining:
            self._finish_unit(slot, assigned, run, message.stop)

    def record(self, slot: str, assigned: list[UnitRun], result: TestResult) -> None:
        self.result.results.append(result)
        self.listener.test_done(result)
        self.settle(slot, assigned, result)
        if result.failed:
            self.failures += 1

    def settle(self, slot: str, assigned: list[UnitRun], result: TestResult) -> None:
        """The test no longer runs in its unit (recorded, or held back for a rerun)."""
        for run in assigned:
            if result.id in run.remaining:
                run.remaining.discard(result.id)
                if not run.remaining:
                    self._finish_unit(slot, assigned, run, result.stop)
                break

    def _finish_unit(self, slot: str, assigned: list[UnitRun], run: UnitRun, stop: float) -> None:
        assigned.remove(run)
        span = UnitSpan(
            unit=run.unit.id, worker=slot, start=run.start, stop=stop,
            tests=len(run.order), predicted=run.unit.duration,
        )  # fmt: skip
        self.result.units.append(span)
        self.listener.unit_done(span)

    def not_run(self, units: Iterable[Unit], why: str) -> None:
        """Units that neither ran nor were stopped on purpose: never silently missing."""
        now = time.time()
        for unit in units:
            self.result.not_run.append(unit.id)
            for file in unit.files:
                result = TestResult(
                    id=not_run_id(file),
                    file=file,
                    outcome="error",
                    start=now,
                    stop=now,
                    longrepr=f"fastci: unit {unit.id} did not run: {why}",
                )
                self.result.results.append(result)
                self.listener.test_done(result)
