"""``fastci merge --queue``: one verdict from a queue run's record in Redis.

The record knows the published plan, so it knows every unit: one with neither results nor
a reason it has none (a runner died and no other took its lease back) makes the run
incomplete, whatever the bundles the surviving runners left say.
"""

from __future__ import annotations

from pathlib import Path

from fastci.errors import ExitCode
from fastci.model import TestResult
from fastci.queue.client import RunQueue, redact
from fastci.queue.record import RunRecord
from fastci.results.bundle import RESULT_KINDS, count_outcomes
from fastci.results.junit import write_junit
from fastci.results.records import RecordError, typed

SHOWN_UNITS = 5  # unit ids named on the line that says units are missing


def queue_results(record: RunRecord) -> tuple[list[TestResult], list[str]]:
    """Every recorded result, plus a failure for each unit fastci gave up on; and problems
    with a record that cannot be trusted."""
    results: list[TestResult] = []
    problems: list[str] = []
    for unit in record.units:
        try:
            rows = record.results.get(unit.id, [])
            results += [typed(TestResult, row, RESULT_KINDS) for row in rows]
        except RecordError as e:
            problems.append(f"unit {unit.id} has a result fastci cannot read ({e})")
        why = record.failed.get(unit.id)
        if why is not None:
            file = unit.files[0] if unit.files else unit.id
            results.append(TestResult(
                id=f"{file}::<unit {unit.id}>", file=file, outcome="crashed",
                longrepr=f"fastci: unit {unit.id}: {why}",
            ))  # fmt: skip
    return results, problems


def merge_queue(url: str, run_id: str, output: Path) -> int:
    """Print the run's verdict from Redis, write its JUnit XML; returns the exit code."""
    record = RunQueue(url, run_id, job="merge", owner="merge").read()
    where = f"queue run {run_id} on {redact(url)}"
    if not record.units:
        print(f"fastci: {where}: no plan was ever published; did any runner start?")
        return ExitCode.RESULTS_INCOMPLETE
    results, problems = queue_results(record)
    missing = record.unaccounted
    if record.stopped is not None:
        print(f"fastci: {record.stopped}; {len(missing)} unit(s) did not run")
    elif missing:
        shown = ", ".join(missing[:SHOWN_UNITS]) + (", ..." if len(missing) > SHOWN_UNITS else "")
        problems.append(
            f"{len(missing)} of {len(record.units)} units have no results ({shown}): "
            f"{record.queued} still queued, {record.leased} leased to runners"
        )
    output.mkdir(parents=True, exist_ok=True)
    write_junit(output / "junit.xml", results, f"fastci queue {run_id}")
    for result in results:
        if result.failed:
            print(f"{result.outcome.upper()} {result.id}")
    for problem in problems:
        print(f"fastci: {problem}")
    counts = ", ".join(f"{n} {outcome}" for outcome, n in count_outcomes(results).items())
    code = _verdict(results, problems, record.stopped is not None)
    print(
        f"fastci: {where}: {len(record.units)} units, {counts or 'no tests'}; "
        f"wrote {output / 'junit.xml'}; exit {int(code)}"
    )
    return code


def _verdict(results: list[TestResult], problems: list[str], stopped: bool) -> ExitCode:
    if problems:
        return ExitCode.RESULTS_INCOMPLETE
    if stopped or any(r.failed for r in results):  # only failures stop a run
        return ExitCode.TESTS_FAILED
    if not any(r.is_test for r in results):
        return ExitCode.NO_TESTS_COLLECTED
    return ExitCode.OK
