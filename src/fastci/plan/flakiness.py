"""Which tests are flaky, judged from the timings store's history of outcomes per git tree.

A test is flaky when the same code gave it different outcomes: it passed and failed on
one tree (the commit's tree plus a digest of uncommitted changes), or a rerun proved it
(outcome ``flaky``). A failure on one tree and a pass on another proves nothing: the code
changed. Runs stored with no tree (no git, or before schema version 3) count only through
rerun-proven flakes.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable

from fastci.model import FAILING_OUTCOMES
from fastci.plan.store import OutcomeRow

NO_GIT = "no git"


@dataclasses.dataclass(frozen=True)
class Flaky:
    """One flaky test: how often it flaked in the runs stored, and where it last did."""

    test_id: str
    runs: int  # stored runs of the test
    flakes: int  # of them: failures on a tree it also passed on, and rerun-proven flakes
    last_commit: str  # the newest flake's commit, or "no git"
    last_seen: float  # when that run started
    shards: frozenset[str]  # shards of its runs on mixed trees ("": a run that was not a shard)
    last_passes: int  # runs in a row, newest first, it passed (a quarantine may end)

    @property
    def rate(self) -> float:
        return self.flakes / self.runs if self.runs else 0.0


def flaky_tests(history: Iterable[OutcomeRow]) -> list[Flaky]:
    """The flaky tests in ``history`` (rows per test, oldest first), highest rate first."""
    by_test: dict[str, list[OutcomeRow]] = defaultdict(list)
    for row in history:
        by_test[row.test_id].append(row)
    found = [f for rows in by_test.values() if (f := _judge(rows)) is not None]
    return sorted(found, key=lambda f: (-f.rate, -f.flakes, f.test_id))


def _judge(rows: list[OutcomeRow]) -> Flaky | None:
    passed_on = {r.tree for r in rows if r.tree is not None and r.outcome in ("passed", "flaky")}
    failed_on = {r.tree for r in rows if r.tree is not None and r.outcome in FAILING_OUTCOMES}
    mixed = passed_on & failed_on
    flakes = [
        r
        for r in rows
        if r.outcome == "flaky" or (r.tree in mixed and r.outcome in FAILING_OUTCOMES)
    ]
    if not flakes:
        return None
    newest = flakes[-1]
    return Flaky(
        test_id=rows[0].test_id,
        runs=len(rows),
        flakes=len(flakes),
        last_commit=newest.commit_sha or NO_GIT,
        last_seen=newest.started,
        shards=frozenset(r.shard or "" for r in rows if r.tree in mixed or r in flakes),
        last_passes=_passes_in_a_row(rows),
    )


def passes_in_a_row(history: Iterable[OutcomeRow]) -> dict[str, int]:
    """Per test in ``history`` (oldest first): how many of its newest runs in a row passed."""
    by_test: dict[str, list[OutcomeRow]] = defaultdict(list)
    for row in history:
        by_test[row.test_id].append(row)
    return {test: _passes_in_a_row(rows) for test, rows in by_test.items()}


def _passes_in_a_row(rows: list[OutcomeRow]) -> int:
    count = 0
    for row in reversed(rows):
        if row.outcome != "passed":
            break
        count += 1
    return count
