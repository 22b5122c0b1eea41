"""What the timings store's newest run says now: which tests it saw fail, when, on which commit."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from typing import NamedTuple

from fastci.errors import FastciError
from fastci.model import FAILING_OUTCOMES
from fastci.plan.schema import fetch
from fastci.plan.store import TimingsStore


class _Newest(NamedTuple):
    run_id: str
    started: float
    commit_sha: str | None


class _Failed(NamedTuple):
    test_id: str
    file: str


class _Count(NamedTuple):
    file: str
    tests: int


@dataclasses.dataclass(frozen=True)
class LastRun:
    """The newest stored run (all its shards): when it started, its commit, what failed."""

    started: float
    commit: str | None  # None: it ran outside git, or was stored before the store kept commits
    failed: frozenset[str]  # node ids that failed, errored or crashed in it
    failed_files: frozenset[str]
    known_files: frozenset[str]  # test files the store has timings for
    tests_per_file: dict[str, int]  # current tests the store knows, per file


def last_run(store: TimingsStore) -> LastRun | None:
    """The newest run the store holds, or None for an empty, damaged or unusable store."""
    try:
        return _read(store.db)
    except (sqlite3.DatabaseError, FastciError):
        return None  # ordering is a hint: a store that cannot say leaves the plan's order


def _read(db: sqlite3.Connection) -> LastRun | None:
    newest = fetch(
        db,
        _Newest._make,
        "SELECT run_id, started, commit_sha FROM reports ORDER BY started DESC, id LIMIT 1",
    )
    if not newest:
        return None
    run_id = newest[0].run_id
    failed = fetch(
        db,
        _Failed._make,
        "SELECT DISTINCT s.test_id, s.file FROM samples s JOIN reports r ON r.id = s.report_id"
        " WHERE r.run_id = ? AND s.outcome IN (SELECT value FROM json_each(?))",
        (run_id, json.dumps(FAILING_OUTCOMES)),
    )
    counts = fetch(db, _Count._make, "SELECT file, count(*) AS tests FROM tests GROUP BY file")
    first = fetch(
        db, _Newest._make, "SELECT run_id, min(started), NULL FROM reports WHERE run_id = ?",
        (run_id,),
    )  # fmt: skip
    return LastRun(
        started=first[0].started if first else newest[0].started,
        commit=newest[0].commit_sha,
        failed=frozenset(f.test_id for f in failed),
        failed_files=frozenset(f.file for f in failed),
        known_files=frozenset(c.file for c in counts),
        tests_per_file={c.file: c.tests for c in counts},
    )
