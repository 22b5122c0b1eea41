"""Reruns of failed tests, each in a fresh worker: a test that fails and then passes is flaky.

The pool hands every result to ``Reruns.take`` before recording it. A test's first failure
(``failed`` or ``error``) is held back and the test waits, as a one-test unit, for a new
worker process of its own; the pool starts one whenever a worker ends. What the rerun
reports decides the test's one result:

- it passes: the test is ``flaky``, with the failing attempt's text and the attempt count;
- it fails again: another rerun while any are left, else ``failed`` after every attempt;
- its worker dies: ``crashed``, saying it was a rerun (a crash is never run again);
- the run stops before the rerun (``-x``, Ctrl-C): the held failure stands.

A crash on the first attempt is reported as it is: the crash policy already gives the rest
of that unit to a new worker.
"""

from __future__ import annotations

import dataclasses
from collections import deque

from fastci.model import TestResult, node_file
from fastci.plan.planner import Unit

RERUNNABLE = ("failed", "error")


class Reruns:
    """Which failed tests wait for a rerun, and what their attempts add up to."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.waiting: deque[Unit] = deque()  # one-test units, each for a fresh worker
        self.failures: dict[str, list[TestResult]] = {}  # failed attempts of rerun tests
        self.started: set[str] = set()  # tests whose latest rerun a worker was given

    def take(self, result: TestResult) -> TestResult | None:
        """The result to record for ``result``, or None while its test waits for a rerun."""
        earlier = self.failures.get(result.id)
        if earlier is None:
            if not (self.limit and result.is_test and result.outcome in RERUNNABLE):
                return result
            self._hold(result)
            return None
        attempts = len(earlier) + 1
        if result.outcome in RERUNNABLE and attempts <= self.limit:
            self._hold(result)
            return None
        del self.failures[result.id]
        return _settled(result, earlier, attempts)

    def _hold(self, result: TestResult) -> None:
        attempts = self.failures.setdefault(result.id, [])
        attempts.append(result)
        self.waiting.append(
            Unit(
                id=f"{result.id} (rerun {len(attempts)})",
                files=(node_file(result.id),),
                duration=result.setup + result.call + result.teardown,
                tests=(result.id,),
            )
        )

    def next_unit(self) -> Unit | None:
        return self.waiting.popleft() if self.waiting else None

    def abandon(self) -> list[TestResult]:
        """The run stopped with reruns still owed: each test's last failure is its result."""
        left = [_settled(tries[-1], tries[:-1], len(tries)) for tries in self.failures.values()]
        self.failures.clear()
        self.waiting.clear()
        return left


def _settled(result: TestResult, earlier: list[TestResult], attempts: int) -> TestResult:
    """A test's one result after ``attempts`` runs, ``earlier`` being the failed ones."""
    if not earlier:
        return result
    first = earlier[0]
    if result.outcome == "passed":
        head = f"flaky: failed on attempt 1 of {attempts} (worker {first.worker}), then passed"
        return dataclasses.replace(
            result, outcome="flaky", attempts=attempts, longrepr=_with_head(head, first)
        )
    if result.outcome == "crashed":
        head = f"crashed on rerun (attempt {attempts} of {attempts}); attempt 1 had failed:"
        text = f"{head}\n{result.longrepr or ''}\n{_with_head('attempt 1:', first)}"
        return dataclasses.replace(result, attempts=attempts, longrepr=text)
    if result.failed:
        head = f"failed on every one of {attempts} attempts, each in a fresh worker; the last:"
        return dataclasses.replace(result, attempts=attempts, longrepr=_with_head(head, result))
    return dataclasses.replace(result, attempts=attempts)


def _with_head(head: str, result: TestResult) -> str:
    return f"{head}\n{(result.longrepr or result.outcome).rstrip()}"
