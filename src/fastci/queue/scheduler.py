"""Queue mode's scheduler: the local pool takes units from a Redis queue shared by runners.

``QueueScheduler`` implements ``fastci.execute.scheduler.Scheduler``; the pool is unchanged.
A unit taken from the queue is leased to this runner; the listener the pool already calls
(``QueueListener``) renews the leases while their units run, collects each unit's results
and records them in Redis when the unit ends. Redis accepts them only while this runner
still holds the lease, so a runner thought dead that comes back reports nothing twice: its
late results are dropped here too (``settle``).

A free worker waits (polling) while other runners still running hold leases, which may yet
expire and come back to the queue. A worker asks for more before its unit's last test runs,
so while this runner holds units, runners that wait too do not count: two runners never wait
on each other (``record.SETTLED``). Once it holds none, ``pending`` tells the pool that
units may still come, and the fresh worker it starts waits for every other lease: the last
runner to hold a unit may still be killed, and someone must be left to take it over.
It waits until the run's deadline (``--deadline``) at the latest.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
import uuid
from collections.abc import Iterable

from fastci.execute.ledger import Listener, PoolResult
from fastci.execute.scheduler import LongestFirst
from fastci.model import TestResult, UnitSpan, in_part
from fastci.plan.planner import Plan, Unit
from fastci.queue.client import RunQueue

POLL_SECONDS = 0.5


@dataclasses.dataclass(frozen=True)
class QueueSettings:
    url: str
    run_id: str
    job: str  # the CI job's name, the same when the job is re-run: its units replay
    lease: float = 30.0  # seconds a runner may go silent before its units go to another
    max_requeues: int = 3  # lease expiries before a unit fails instead of looping


class QueueScheduler:
    """Hands out the shared queue's units; see the module docstring."""

    def __init__(self, queue: RunQueue, settings: QueueSettings) -> None:
        self.queue = queue
        self.settings = settings
        self.maxfail = 0  # -x, --maxfail: every runner stops taking units after that many
        self.lease_ms = int(settings.lease * 1000)
        self.units: dict[str, Unit] = {}
        self.local = LongestFirst()  # what a crashed worker left: still leased to us
        self.running: dict[str, list[str]] = {}  # worker -> unit ids (the last is its next)
        self.leased: set[str] = set()
        self.buffers: dict[str, list[TestResult]] = {}
        self.rejected: set[int] = set()  # id() of results another runner recorded first
        self.rejected_units: set[str] = set()
        self.renewed = 0.0
        self.published = False
        self.replayed = 0
        self.waits_until: float | None = None  # the run's deadline (epoch seconds), if any

    def join(self, plan: Plan) -> list[Unit]:
        """Publish this runner's plan if it is the first; the run's units, as published.

        The plan is cut for ``[tool.fastci] shards`` (``--shards``): the runners of the run,
        so a file too long for one runner's share is split; all its units go in the queue.
        """
        planned = sorted(plan.units.values(), key=lambda u: (-u.duration, u.id))
        self.published = self.queue.publish(planned)
        units = self.queue.plan()
        self.units = {u.id: u for u in units}
        self.replayed = self.queue.replay()
        return units

    # -- the Scheduler protocol ----------------------------------------------------------

    def add(self, units: Iterable[Unit]) -> None:
        """Nothing: the shared queue was filled when the plan was published."""

    def next_for(self, worker: str) -> Unit | None:
        unit = self._take()
        if unit is not None:
            self.running.setdefault(worker, []).append(unit.id)
        return unit

    def _take(self) -> Unit | None:
        unit = self.local.next_for("")
        if unit is not None:
            return unit
        while True:
            uid = self.queue.claim(self.lease_ms, self.settings.max_requeues)
            if uid is not None:
                self.leased.add(uid)
                return self.units[uid]
            if self.queue.settled(self.lease_ms, holding=bool(self.leased)):
                return None
            if self.waits_until is not None and time.time() >= self.waits_until:
                print(
                    "fastci: the run's deadline passed while this runner waited for units "
                    "other runners hold; it takes no more",
                    file=sys.stderr,
                )
                return None
            time.sleep(POLL_SECONDS)  # others' leases may yet expire and come back
            self.heartbeat()

    def requeue(self, unit: Unit, front: bool = True) -> None:
        self.local.requeue(unit, front)  # it stays leased to this runner

    def pending(self) -> int:
        """What a crashed worker left here; else the units other runners hold or that are
        queued: one may come back, so the pool keeps (or starts) a worker to wait for it."""
        return self.local.pending() or self.queue.outstanding()

    def drain(self) -> list[Unit]:
        return self.local.drain()  # only what this runner owns

    # -- what the listener tells it ------------------------------------------------------

    def observe(self, result: TestResult) -> None:
        """Keep a result for the unit it belongs to, among those its worker was given."""
        if result.failed and self.maxfail:
            self.queue.failed(self.maxfail)
        for uid in self.running.get(result.worker or "", []):
            if _holds(self.units[uid], result):
                self.buffers.setdefault(uid, []).append(result)
                return

    def unit_finished(self, worker: str, uid: str) -> None:
        running = self.running.get(worker, [])
        if uid in running:
            running.remove(uid)
        if uid in self.leased and not self.local.holds(uid):
            self._complete(uid)

    def heartbeat(self) -> None:
        now = time.monotonic()
        if now - self.renewed < self.settings.lease / 3:
            return
        self.renewed = now
        for uid in self.queue.renew(sorted(self.leased), self.lease_ms):
            print(
                f"fastci: warning: lost the lease on unit {uid} (this runner was too slow "
                "to renew it); another runner runs it and its results here are dropped",
                file=sys.stderr,
            )

    def _complete(self, uid: str) -> None:
        results = self.buffers.pop(uid, [])
        self.leased.discard(uid)
        if self.queue.complete(uid, [dataclasses.asdict(r) for r in results]):
            return
        self.rejected.update(id(r) for r in results)
        self.rejected_units.add(uid)
        print(
            f"fastci: warning: unit {uid} was recorded by another runner (this one lost its "
            "lease); its results here are dropped",
            file=sys.stderr,
        )

    def settle(self, result: PoolResult) -> None:
        """At the end: units still held did not finish. After a stop (-x) what they ran is
        recorded, failure included; otherwise (Ctrl-C, a unit that kept killing workers)
        they go back to the queue, counted as a requeue, and their results here are dropped.
        Then drop what another runner recorded."""
        for uid in sorted(self.leased):
            if result.stopped_early is not None:
                self._complete(uid)
            else:
                self.leased.discard(uid)
                self.queue.release(uid)
                self.rejected.update(id(r) for r in self.buffers.pop(uid, []))
                self.rejected_units.add(uid)
        if self.rejected:
            result.results = [r for r in result.results if id(r) not in self.rejected]
            result.units = [s for s in result.units if s.unit not in self.rejected_units]

    def ran(self, result: PoolResult) -> list[Unit]:
        """The units this runner ran and recorded."""
        return [self.units[s.unit] for s in result.units if s.unit in self.units]


def _holds(unit: Unit, result: TestResult) -> bool:
    if unit.tests is not None:
        return result.id in unit.tests
    if unit.part is not None and result.is_test and not in_part(result.id, unit.part):
        return False
    return result.file in unit.files and result.id not in unit.exclude


def open_queue(settings: QueueSettings) -> QueueScheduler:
    """The scheduler of this runner: a new owner per process, so a retried job is a new one."""
    owner = f"{settings.job}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return QueueScheduler(RunQueue(settings.url, settings.run_id, settings.job, owner), settings)


class QueueListener:
    """The run's listener, telling the scheduler what it must know as results arrive."""

    def __init__(self, inner: Listener, scheduler: QueueScheduler, maxfail: int) -> None:
        self.inner = inner
        self.scheduler = scheduler
        scheduler.maxfail = maxfail

    def test_done(self, result: TestResult) -> None:
        self.scheduler.observe(result)
        self.inner.test_done(result)

    def unit_done(self, span: UnitSpan) -> None:
        self.inner.unit_done(span)
        self.scheduler.unit_finished(span.worker, span.unit)

    def tick(self) -> None:
        self.scheduler.heartbeat()
        self.inner.tick()

    def close(self) -> None:
        self.inner.close()
