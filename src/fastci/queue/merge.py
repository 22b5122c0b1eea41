"""``fastci merge`` of a queue run: the runners' bundles checked against the run's record.

The record in Redis knows the published plan, so it knows every unit, and it keeps each
finished unit's results: a runner killed before uploading its bundle loses nothing. With
the record, a unit with neither results nor a reason it has none makes the run incomplete,
and results that are only in Redis become a bundle of their own, so coverage, timings and
the reports are merged as for shards (``fastci.merge.bundles``). Without it (no URL, or
Redis unreachable) the bundles alone are judged: each names the published plan's units, so
one with no results in any bundle is still known to be missing.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from fastci.errors import ExitCode, Problem, UsageError
from fastci.merge.bundles import BundleSet, shard_problems
from fastci.model import TestResult
from fastci.plan.quarantine import Judge
from fastci.queue.client import RunQueue, redact
from fastci.queue.record import RunRecord
from fastci.results.bundle import RESULT_KINDS, Bundle
from fastci.results.records import RecordError, typed
from fastci.results.timings import Run, RunHeader

SHOWN_UNITS = 5  # unit ids named on the line that says units are missing
GIVEN_UP = "given-up"  # the job name of the units fastci gave up on after their requeues


@dataclasses.dataclass(frozen=True)
class QueueSource:
    """Where a queue run's record is: its URL (None: not given) and the run's id."""

    url: str | None
    run_id: str
    root: Path  # this checkout: the rootdir of bundles made from Redis
    judge: Judge


def queue_bundles(bundle_set: BundleSet) -> list[Bundle]:
    return [b for b in bundle_set.bundles if b.queue_job is not None]


def read_record(source: QueueSource) -> RunRecord:
    """The run's record; a Redis that cannot be reached or read raises FastciError (7)."""
    if source.url is None:
        raise UsageError(
            "no queue URL was given (--queue URL, [tool.fastci] queue or $FASTCI_QUEUE_URL)"
        )
    return RunQueue(source.url, source.run_id, job="merge", owner="merge").read()


def merge_with_record(bundle_set: BundleSet, source: QueueSource, record: RunRecord) -> BundleSet:
    """The bundles, plus one made from Redis per job whose results no bundle holds, checked
    against the record: every unit accounted for, each held by the job Redis says ran it."""
    where = f"queue run {source.run_id} on {redact(source.url or '')}"
    if not record.units:
        problem = _incomplete(f"{where}: no plan was ever published; did any runner start?")
        return _extended(bundle_set, [], [problem], [])
    queued = queue_bundles(bundle_set)
    problems = list(_set_problems(queued, source.run_id))
    held = {unit: b for b in queued for unit in b.planned_units}
    for unit, bundle in sorted(held.items()):
        if record.done.get(unit) != bundle.queue_job:
            problems.append(_incomplete(
                f"{bundle.label} holds unit {unit}, which the queue recorded from "
                f"{record.done.get(unit) or 'no job'}: merge the bundles of each job's last "
                "attempt"
            ))  # fmt: skip
    extra, unreadable = _record_bundles(record, set(held), source)
    problems += unreadable
    notes = [
        f"{b.label} left no bundle for {len(b.planned_units)} unit(s) (killed, or its artifact "
        "is missing): their results come from Redis"
        for b in extra
        if bundle_set.bundles and b.queue_job != GIVEN_UP
    ]
    missing = record.unaccounted
    notes.append(
        f"{where}: {len(record.units)} units published, {len(record.done)} recorded, "
        f"{len(record.failed)} given up"
    )
    if record.stopped is not None:
        notes.append(f"{record.stopped}; {len(missing)} unit(s) did not run")
    elif missing:
        problems.append(_incomplete(
            f"{where}: {len(missing)} of {len(record.units)} units have no results "
            f"({_shown(missing)}): {record.queued} still queued, {record.leased} leased to runners"
        ))  # fmt: skip
    for bundle in extra:
        problems += shard_problems(bundle, source.judge)
    return _extended(bundle_set, extra, problems, notes)


def merge_bundles_alone(bundle_set: BundleSet, why: str) -> BundleSet:
    """The queue bundles judged without Redis: the published plan's units each bundle names,
    against those the bundles hold results for."""
    queued = queue_bundles(bundle_set)
    run_ids = Counter(b.run_id for b in queued)
    run_id = run_ids.most_common(1)[0][0]
    problems = list(_set_problems(queued, run_id))
    plan = next(b.queue_units for b in queued if b.run_id == run_id)
    held = {unit for b in queued for unit in b.planned_units}
    missing = [unit for unit in plan if unit not in held]
    if missing:
        problems.append(_incomplete(
            f"{len(missing)} of {len(plan)} units of queue run {run_id} have no results in these "
            f"bundles ({_shown(missing)}): a runner left no bundle (killed, or its artifact was "
            "not downloaded); Redis keeps the units it finished: merge with --queue URL"
        ))  # fmt: skip
    note = f"completeness not checked against the queue ({why}); judged from the bundles alone"
    return _extended(bundle_set, [], problems, [note])


def _set_problems(queued: Sequence[Bundle], run_id: str) -> Iterable[Problem]:
    for bundle in queued:
        if bundle.run_id != run_id:
            yield _incomplete(
                f"{bundle.path} comes from queue run {bundle.run_id}, not {run_id}: merge the "
                "bundles of one run"
            )
    for job, count in sorted(Counter(b.queue_job for b in queued).items()):
        if count > 1:
            yield _incomplete(f"queue job {job} has {count} bundles: keep only its last attempt's")


def _record_bundles(
    record: RunRecord, held: set[str], source: QueueSource
) -> tuple[list[Bundle], list[Problem]]:
    """A bundle per job for the results only Redis holds, and one for units given up on."""
    by_job: dict[str, list[TestResult]] = defaultdict(list)
    units: dict[str, list[str]] = defaultdict(list)
    problems: list[Problem] = []
    for unit in record.units:
        job = record.done.get(unit.id)
        if job is not None and unit.id not in held:
            units[job].append(unit.id)
            try:
                rows = record.results.get(unit.id, [])
                by_job[job] += [typed(TestResult, row, RESULT_KINDS) for row in rows]
            except RecordError as e:
                problems.append(_incomplete(f"unit {unit.id} has an unreadable result ({e})"))
        why = record.failed.get(unit.id)
        if why is not None:
            file = unit.files[0] if unit.files else unit.id
            units[GIVEN_UP].append(unit.id)
            by_job[GIVEN_UP].append(TestResult(
                id=f"{file}::<unit {unit.id}>", file=file, outcome="crashed",
                longrepr=f"fastci: unit {unit.id}: {why}",
            ))  # fmt: skip
    bundles = [
        _bundle(job, by_job[job], units[job], source, record.stopped) for job in sorted(units)
    ]
    return bundles, problems


def _bundle(
    job: str, results: list[TestResult], units: list[str], source: QueueSource, stopped: str | None
) -> Bundle:
    """What a runner's bundle would have held, from the results it recorded in Redis."""
    started = min((r.start for r in results if r.start), default=0.0)
    finished = max((r.stop for r in results), default=started)
    run = Run(RunHeader(
        report_id=f"{source.run_id}:{job}:redis", run_id=source.run_id, started=started,
        complete=False, rootdir=str(source.root),
    ))  # fmt: skip
    run.tests.update((r.id, r.timing()) for r in results if r.is_test)
    return Bundle(
        path=Path("redis") / f"fastci-queue-{job}", shard_index=1, shard_total=1,
        is_shard=False, run_id=source.run_id, host="", rootdir=str(source.root),
        started=started, finished=finished,
        exit_code=int(ExitCode.TESTS_FAILED if any(r.failed for r in results) else ExitCode.OK),
        interrupted=False, stopped_early=stopped, jobs=1, predicted=0.0, plan_makespan=0.0,
        plan_lower_bound=0.0, plan_digest=None, startup=None, planned_units=tuple(units),
        units=(), workers=(), has_coverage=False, coverage_fail_under=None,
        results=tuple(results), runs=(run,), queue_job=job,
    )  # fmt: skip


def _extended(
    bundle_set: BundleSet, extra: list[Bundle], problems: list[Problem], notes: list[str]
) -> BundleSet:
    """The set with bundles, problems and notes added; "no tests ran" judged again."""
    bundles = (*bundle_set.bundles, *extra)
    kept = [p for p in bundle_set.problems if p.exit_code != ExitCode.NO_TESTS_COLLECTED]
    if not any(r.is_test for b in bundles for r in b.results):
        problems.append(Problem("no tests ran in any runner", ExitCode.NO_TESTS_COLLECTED))
    return BundleSet(
        bundles, bundle_set.shard_total, (*kept, *problems), (*bundle_set.notes, *notes)
    )


def _shown(units: Sequence[str]) -> str:
    return ", ".join(units[:SHOWN_UNITS]) + (", ..." if len(units) > SHOWN_UNITS else "")


def _incomplete(message: str) -> Problem:
    return Problem(message, ExitCode.RESULTS_INCOMPLETE)
