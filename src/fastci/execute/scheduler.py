"""Which unit a free worker runs next: the ``Scheduler`` protocol and its in-process queue.

The pool (``fastci.execute.pool``) owns the processes and never decides what runs where;
it asks its scheduler. To add a scheduler (a Redis queue shared by many machines, a
work-stealing one), write a class with the five methods of ``Scheduler`` below and pass an
instance to ``Pool(options, scheduler=...)``; nothing in the pool changes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Protocol

from fastci.plan.planner import Unit


class Scheduler(Protocol):
    """Hands out units to workers as they free up. The pool calls it from one thread.

    The pool's calls, in the order a run makes them:

    - ``add(units)`` once the plan is known, with this run's units in run order (longest
      first, after the last run's failures and new or changed files: execute.priority).
      A shared queue may put them where other machines' pools can take them, or ignore
      them if something else has filled it.
    - ``next_for(worker)`` each time a worker (``"gw0"``, ``"gw1"``…, unique among live
      workers; a restarted worker reuses its slot's name) is ready for more: the unit it
      runs next, or None when there is nothing left for it (that worker then ends). Every
      unit returned must be run or given back with ``requeue``; the pool does that.
    - ``requeue(unit, front)`` when a worker died with work left: ``unit`` holds only the
      tests that did not run (``unit.tests`` set), or the whole unit if it was still being
      imported. ``front=True`` asks for it to be handed out before anything else.
    - ``pending()`` how many units wait: the pool starts a replacement worker for a dead
      one only while something waits, and one for the last worker to end while something
      may still come (a shared queue's units that other machines hold).
    - ``drain()`` when the run stops early (``-x``, ``--maxfail``, Ctrl-C) or ends: remove
      every unit still waiting and return them. After a stop they are dropped; at the
      normal end they are reported as not run, so return only units this run owns.
    """

    def add(self, units: Iterable[Unit]) -> None: ...

    def next_for(self, worker: str) -> Unit | None: ...

    def requeue(self, unit: Unit, front: bool = True) -> None: ...

    def pending(self) -> int: ...

    def drain(self) -> list[Unit]: ...


class LongestFirst:
    """One local queue in plan order: the planner orders units longest first, so the long
    ones start early and the short ones fill the gaps as workers free up."""

    def __init__(self) -> None:
        self._queue: deque[Unit] = deque()

    def add(self, units: Iterable[Unit]) -> None:
        self._queue.extend(units)

    def next_for(self, worker: str) -> Unit | None:
        return self._queue.popleft() if self._queue else None

    def requeue(self, unit: Unit, front: bool = True) -> None:
        if front:
            self._queue.appendleft(unit)
        else:
            self._queue.append(unit)

    def pending(self) -> int:
        return len(self._queue)

    def drain(self) -> list[Unit]:
        left = list(self._queue)
        self._queue.clear()
        return left

    def holds(self, unit_id: str) -> bool:
        """Whether a piece of that unit still waits here."""
        return any(u.id == unit_id for u in self._queue)
