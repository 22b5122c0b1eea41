"""The merged run as every view shows it: shards, timeline lanes, the tail, slowest, coverage."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence

from fastci.errors import ExitCode, Problem
from fastci.merge.bundles import BundleSet, exit_code
from fastci.merge.coverage import CoverageSummary
from fastci.model import TestResult
from fastci.results.bundle import Bundle, count_outcomes
from fastci.results.phases import Phase

SLOWEST_TESTS = 15
SLOWEST_FILES = 10


@dataclasses.dataclass(frozen=True)
class Bar:
    """One unit on the timeline, in seconds from its shard's start."""

    unit: str
    start: float
    stop: float
    tests: int
    predicted: float
    failed: int  # its failed, errored or crashed tests

    @property
    def seconds(self) -> float:
        return max(0.0, self.stop - self.start)


@dataclasses.dataclass(frozen=True)
class Process:
    """One worker process's life, in seconds from its shard's start."""

    pid: int
    start: float
    stop: float
    crashed: str | None


@dataclasses.dataclass(frozen=True)
class Lane:
    """One row of the timeline: a worker slot of a shard, and every unit it ran."""

    worker: str
    bars: tuple[Bar, ...]
    processes: tuple[Process, ...]

    @property
    def busy(self) -> float:
        return sum(bar.seconds for bar in self.bars)


@dataclasses.dataclass(frozen=True)
class ShardView:
    label: str
    index: int
    predicted: float
    actual: float
    counts: Mapping[str, int]
    units: int
    jobs: int
    host: str
    status: str  # passed, failed or interrupted
    lanes: tuple[Lane, ...]
    results: tuple[TestResult, ...]
    first_unit: float | None  # seconds from the shard's start to its first unit: startup
    last_unit: float | None  # seconds from the shard's start to the end of its last unit
    is_tail: bool = False
    phases: tuple[Phase, ...] = ()  # its fixed costs: start-up and wrap-up, phase by phase

    @property
    def tests(self) -> int:
        return sum(self.counts.values())

    @property
    def deviation(self) -> float | None:
        """Actual over planned time, as a fraction (0.1: took 10% longer than planned)."""
        return self.actual / self.predicted - 1 if self.predicted > 0 else None


@dataclasses.dataclass(frozen=True)
class FileTime:
    file: str
    seconds: float
    tests: int


@dataclasses.dataclass(frozen=True)
class Overview:
    """Everything the terminal summary, the Markdown summary and the HTML report show."""

    title: str
    shards: tuple[ShardView, ...]
    results: tuple[TestResult, ...]
    problems: tuple[Problem, ...]
    notes: tuple[str, ...]
    planned_makespan: float
    planned_lower_bound: float
    coverage: CoverageSummary | None = None

    @property
    def counts(self) -> dict[str, int]:
        return count_outcomes(self.results)

    @property
    def exit_code(self) -> int:
        return exit_code(self.problems)

    @property
    def verdict(self) -> str:
        """passed, failed (tests failed or coverage short), or incomplete."""
        if any(p.exit_code == ExitCode.RESULTS_INCOMPLETE for p in self.problems):
            return "incomplete"
        return "failed" if self.problems else "passed"

    @property
    def makespan(self) -> float:
        """Wall time of the slowest shard: how long the suite kept CI waiting."""
        return max((s.actual for s in self.shards), default=0.0)

    @property
    def lower_bound(self) -> float:
        """No split of this run's work beats this: the mean shard time, or a shard's own
        startup plus its longest unit, whichever is larger."""
        if not self.shards:
            return 0.0
        mean = sum(s.actual for s in self.shards) / len(self.shards)
        floors = [
            (s.first_unit or 0.0)
            + max((b.seconds for lane in s.lanes for b in lane.bars), default=0)
            for s in self.shards
        ]
        return max(mean, *floors)

    @property
    def tail(self) -> ShardView | None:
        return next((s for s in self.shards if s.is_tail), None)

    @property
    def test_seconds(self) -> float:
        return sum(_seconds(r) for r in self.results)

    @property
    def failures(self) -> list[TestResult]:
        return [r for r in self.results if r.failed]

    @property
    def slowest_tests(self) -> list[TestResult]:
        tests = [r for r in self.results if r.is_test]
        return sorted(tests, key=lambda r: (-_seconds(r), r.id))[:SLOWEST_TESTS]

    @property
    def slowest_files(self) -> list[FileTime]:
        seconds: dict[str, float] = defaultdict(float)
        tests: dict[str, int] = defaultdict(int)
        for result in self.results:
            seconds[result.file] += _seconds(result)
            tests[result.file] += 1
        ranked = sorted(seconds, key=lambda f: (-seconds[f], f))[:SLOWEST_FILES]
        return [FileTime(f, seconds[f], tests[f]) for f in ranked]


def build_overview(
    title: str,
    bundle_set: BundleSet,
    coverage: CoverageSummary | None = None,
    problems: Sequence[Problem] = (),
) -> Overview:
    shards = [_shard_view(b) for b in bundle_set.bundles]
    if shards:
        tail = max(shards, key=lambda s: (s.actual, -s.index))
        shards = [dataclasses.replace(s, is_tail=s is tail and len(shards) > 1) for s in shards]
    bundles = bundle_set.bundles
    return Overview(
        title=title,
        shards=tuple(shards),
        results=tuple(bundle_set.results),
        problems=(*bundle_set.problems, *problems),
        notes=bundle_set.notes,
        planned_makespan=max((b.plan_makespan for b in bundles), default=0.0),
        planned_lower_bound=max((b.plan_lower_bound for b in bundles), default=0.0),
        coverage=coverage,
    )


def _shard_view(bundle: Bundle) -> ShardView:
    def since_start(t: float) -> float:
        return max(0.0, t - bundle.started)

    failed: dict[str, int] = defaultdict(int)
    for result in bundle.results:
        if result.failed:
            failed[result.id] += 1
    lanes = []
    for worker in sorted({s.worker for s in bundle.units} | {w.worker for w in bundle.workers}):
        spans = sorted((s for s in bundle.units if s.worker == worker), key=lambda s: s.stop)
        bars: list[Bar] = []
        for span in spans:
            # A worker is handed its next unit before it finishes the current one, and runs
            # them one after the other: a unit starts no earlier than the previous one ended.
            start = max(since_start(span.start), bars[-1].stop if bars else 0.0)
            bars.append(
                Bar(
                    unit=span.unit,
                    start=min(start, since_start(span.stop)),
                    stop=since_start(span.stop),
                    tests=span.tests,
                    predicted=span.predicted,
                    failed=sum(n for test, n in failed.items() if _in_unit(test, span.unit)),
                )
            )
        processes = tuple(
            Process(w.pid, since_start(w.start), since_start(w.stop), w.crashed)
            for w in sorted(bundle.workers, key=lambda w: w.start)
            if w.worker == worker
        )
        lanes.append(Lane(worker, tuple(bars), processes))
    starts = [bar.start for lane in lanes for bar in lane.bars]
    stops = [bar.stop for lane in lanes for bar in lane.bars]
    status = "passed"
    if bundle.interrupted:
        status = "interrupted"
    elif failed:
        status = "failed"
    return ShardView(
        label=bundle.label,
        index=bundle.shard_index,
        predicted=bundle.predicted,
        actual=bundle.actual,
        counts=count_outcomes(bundle.results),
        units=len(bundle.units),
        jobs=bundle.jobs,
        host=bundle.host,
        status=status,
        lanes=tuple(lanes),
        results=bundle.results,
        first_unit=min(starts) if starts else None,
        last_unit=max(stops) if stops else None,
        phases=bundle.phases,
    )


def _in_unit(test_id: str, unit: str) -> bool:
    return test_id == unit or test_id.startswith(unit + "::")


def _seconds(result: TestResult) -> float:
    return result.setup + result.call + result.teardown
