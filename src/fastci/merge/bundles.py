"""Merging shard bundles: find them, check that the set is whole, and decide one verdict.

Every reason the merged run is not a plain success becomes a Problem: one line naming the
shard or bundle, with the exit code it calls for. When several apply, the exit code is the
first of EXIT_PRECEDENCE present: results that are incomplete make every other answer
unreliable, so they win; then failed tests, then no tests at all, then coverage under the
threshold.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from fastci.errors import ExitCode, FastciError, Problem, UsageError
from fastci.merge.coverage import (
    CoveragePiece,
    CoverageRequest,
    CoverageSummary,
    combine_pieces,
    summarize,
)
from fastci.model import FAILING_OUTCOMES, TestResult, is_not_run
from fastci.plan.folding import ImportResult
from fastci.plan.quarantine import Judge
from fastci.plan.store import TimingsStore
from fastci.results.bundle import (
    BUNDLE_NAME,
    MANIFEST,
    PARTIAL_NAME,
    Bundle,
    BundleError,
    read_bundle,
)
from fastci.results.junit import JunitSuite, write_junit_suites
from fastci.results.teardowns import once_over_shards

EXIT_PRECEDENCE: tuple[ExitCode, ...] = (
    ExitCode.INTERNAL_ERROR,  # a shard's pytest reported an INTERNALERROR: fix that first
    ExitCode.RESULTS_INCOMPLETE,
    ExitCode.INTERRUPTED,  # by a collection error, as pytest is: not a cancelled job (7)
    ExitCode.TESTS_FAILED,
    ExitCode.NO_TESTS_COLLECTED,
    ExitCode.COVERAGE_UNDER_THRESHOLD,
)
SEARCH_DEPTH = 4  # how deep under each DIR bundles are looked for (artifact-name/results/…)
NAMED_TESTS = 3  # failing tests named on a shard's line


@dataclasses.dataclass(frozen=True)
class BundleSet:
    """The bundles found under the given directories, checked as a whole."""

    bundles: tuple[Bundle, ...]  # readable ones, by shard index
    shard_total: int
    problems: tuple[Problem, ...]
    notes: tuple[str, ...]

    @property
    def results(self) -> list[TestResult]:
        return [r for _, results in distinct_results(self.bundles) for r in results]

    @property
    def deselected(self) -> int:
        """How many tests -k, -m or --deselect left out: each once, however many shards
        left it out."""
        return len({test for b in self.bundles for test in b.deselected})


def exit_code(problems: Iterable[Problem]) -> int:
    """The exit code the problems call for, by EXIT_PRECEDENCE; OK when there are none."""
    present = {p.exit_code for p in problems}
    return next((int(code) for code in EXIT_PRECEDENCE if code in present), int(ExitCode.OK))


def load_bundles(
    dirs: Sequence[Path], expect_shards: int | None = None, judge: Judge | None = None
) -> BundleSet:
    """Read every bundle under ``dirs`` and name every missing, corrupt or failed shard."""
    problems: list[Problem] = []
    found: list[Path] = []
    partials: dict[str, Path] = {}
    dirs = list(dict.fromkeys(d.resolve() for d in dirs))  # one directory named twice is one
    require_directories(dirs)
    for directory in dirs:
        for path in bundle_dirs(directory):
            partial = PARTIAL_NAME.fullmatch(path.name)
            if partial is not None:
                partials.setdefault(partial["final"], path)
            else:
                found.append(path)
    found = sorted(set(found))  # overlapping directories name a bundle once
    read = {path: _read(path) for path in found}
    bundles = [b for b in read.values() if isinstance(b, Bundle)]
    problems += [_incomplete(e.message) for e in read.values() if isinstance(e, BundleError)]
    # bundle names already reported as corrupt
    unreadable = {path.name for path, b in read.items() if isinstance(b, BundleError)}
    # A queue runner's bundle is no shard: fastci.queue.merge checks those as a set.
    shards = [b for b in bundles if b.queue_job is None]
    total = _shard_total(shards, [*found, *partials.values()], expect_shards)
    problems += _set_problems(shards, total, expect_shards)
    queued = len(shards) < len(bundles) or any(n.startswith("fastci-queue-") for n in unreadable)
    if shards or not queued:
        problems += _missing(shards, total, unreadable, partials, dirs)
    if not found and not partials:
        where = ", ".join(str(d) for d in dirs)
        problems.append(
            _incomplete(
                f"no fastci bundles under {where}: run the shards with "
                "'fastci run --results DIR' and download every shard's artifact here"
            )
        )
    bundles.sort(key=lambda b: (b.shard_index, str(b.path)))
    bundles = once_over_shards(bundles)  # a session fixture's teardown error once, not per shard
    for bundle in bundles:
        problems += shard_problems(bundle, judge or Judge())
    if bundles and not any(r.is_test for b in bundles for r in b.results):
        problems.append(Problem("no tests ran in any shard", ExitCode.NO_TESTS_COLLECTED))
    return BundleSet(tuple(bundles), total, tuple(problems), tuple(_notes(bundles)))


def _read(path: Path) -> Bundle | BundleError:
    try:
        return read_bundle(path)
    except BundleError as e:
        return e


def require_directories(dirs: Sequence[Path]) -> None:
    """A DIR that is not a directory is a mistyped argument (exit 4), not a missing shard."""
    wrong = [str(d) for d in dirs if not d.is_dir()]
    if wrong:
        raise UsageError(
            f"{', '.join(wrong)}: no such directory; pass the directories that hold the shards' "
            "bundles (their downloaded artifacts, or a --results directory)"
        )


def bundle_dirs(directory: Path) -> Iterator[Path]:
    """Bundles at or under ``directory``: fastci's bundle names, or any dir with a manifest."""
    base_depth = len(directory.parts)
    for current, subdirs, files in os.walk(directory):
        here = Path(current)
        named = BUNDLE_NAME.fullmatch(here.name) or PARTIAL_NAME.fullmatch(here.name)
        if named is not None or MANIFEST in files:
            yield here
            subdirs.clear()
        elif len(here.parts) - base_depth >= SEARCH_DEPTH:
            subdirs.clear()
        else:  # bundle names never start with a dot: skip .git, .venv and the like
            subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))


def _shard_total(
    bundles: Sequence[Bundle], paths: Sequence[Path], expect_shards: int | None
) -> int:
    """The shard count: as expected, else the readable bundles' own, else their names'."""
    if expect_shards is not None:
        return expect_shards
    totals = Counter(b.shard_total for b in bundles)
    if not totals:
        for path in paths:
            named = BUNDLE_NAME.match(path.name)
            if named is not None:
                totals[int(named["total"] or 1)] += 1
    return totals.most_common(1)[0][0] if totals else 1


def _set_problems(
    bundles: Sequence[Bundle], total: int, expect_shards: int | None
) -> Iterator[Problem]:
    others = f"--expect-shards {total}" if expect_shards is not None else f"the others' {total}"
    for bundle in bundles:
        if bundle.shard_total != total:
            yield _incomplete(
                f"{bundle.path} is {bundle.label}, which does not fit {others} shards: "
                "merge the bundles of one run"
            )
    digests = {b.plan_digest: b for b in bundles if b.plan_digest and b.shard_total == total}
    if len(digests) > 1:
        shards = ", ".join(sorted(b.label for b in digests.values()))
        yield _incomplete(
            f"the shards did not share one plan ({shards} differ), so some tests may have run "
            "twice and others never: run every shard from the same timings store"
        )
    by_index: dict[int, list[Bundle]] = {}
    for bundle in bundles:
        if bundle.shard_total == total:
            by_index.setdefault(bundle.shard_index, []).append(bundle)
    for _, same in sorted(by_index.items()):
        if len(same) > 1:
            paths = " and ".join(str(b.path) for b in same)
            yield _incomplete(
                f"{same[0].label} appears {len(same)} times ({paths}): keep only one of them"
            )


def _missing(
    bundles: Sequence[Bundle],
    total: int,
    unreadable: set[str],
    partials: dict[str, Path],
    dirs: Sequence[Path],
) -> Iterator[Problem]:
    if not bundles and not unreadable and not partials:
        return  # nothing at all was found: reported once, not once per shard
    present = {b.shard_index for b in bundles if b.shard_total == total}
    where = ", ".join(str(d) for d in dirs)
    for index in range(1, total + 1):
        name = f"fastci-shard-{index}-of-{total}" if total > 1 else "fastci-local"
        if index in present or name in unreadable:
            continue
        label = f"shard {index}/{total}" if total > 1 else "the run"
        if name in partials:
            yield _incomplete(
                f"{label} is missing: only the half-written {partials[name]} was found "
                "(its run was killed while writing results)"
            )
        else:
            yield _incomplete(
                f"{label} is missing: no {name} bundle under {where} (its job failed before "
                "writing results, or its artifact was not uploaded or downloaded)"
            )


def shard_problems(bundle: Bundle, judge: Judge) -> Iterator[Problem]:
    """What went wrong inside one shard: an interruption, failed tests, units with no results."""
    not_run = _units_without_results(bundle)
    never_ran = [r for r in bundle.results if is_not_run(r)]
    if never_ran and not bundle.interrupted:
        why = (never_ran[0].longrepr or "").removeprefix("fastci: ")
        yield _incomplete(f"{bundle.label}: {len(never_ran)} test file(s) never ran ({why})")
    if bundle.interrupted:
        yield _incomplete(
            f"{bundle.label} was interrupted: {len(not_run)} of its "
            f"{len(bundle.planned_units)} planned units have no results"
        )
    if bundle.exit_code == ExitCode.INTERNAL_ERROR:
        yield Problem(
            f"{bundle.label} stopped at pytest's INTERNALERROR (exit 3); its log says why",
            ExitCode.INTERNAL_ERROR,
        )
    if bundle.exit_code == ExitCode.INTERRUPTED and not bundle.interrupted:
        yield Problem(
            f"{bundle.label} stopped at a collection error, as pytest does "
            "(--continue-on-collection-errors runs the rest)",
            ExitCode.INTERRUPTED,
        )
    failed = [r for r in bundle.results if judge.fails(r) and not is_not_run(r)]
    if failed:
        counts = Counter(v for r in failed for v in r.verdicts if v in (*FAILING_OUTCOMES, "flaky"))
        what = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        named = ", ".join(r.id for r in failed[:NAMED_TESTS])
        more = f" and {len(failed) - NAMED_TESTS} more" if len(failed) > NAMED_TESTS else ""
        stopped = ""
        if bundle.stopped_early:
            stopped = f"; {bundle.stopped_early}, so {len(not_run)} planned units did not run"
        yield Problem(
            f"{bundle.label} failed: {what}: {named}{more}{stopped}", ExitCode.TESTS_FAILED
        )
    elif not_run and not bundle.interrupted:
        shown = ", ".join(not_run[:NAMED_TESTS])
        yield _incomplete(
            f"{bundle.label}: {len(not_run)} planned units have no results ({shown}"
            f"{', …' if len(not_run) > NAMED_TESTS else ''})"
        )


def _units_without_results(bundle: Bundle) -> list[str]:
    """Planned units with no span and no result: tests that would otherwise go unnoticed."""
    ran = {span.unit for span in bundle.units}
    touched = {r.id for r in bundle.results} | {r.file for r in bundle.results}
    return [
        unit
        for unit in bundle.planned_units
        if unit not in ran and unit not in touched and unit.split("::", 1)[0] not in touched
    ]


def _notes(bundles: Sequence[Bundle]) -> Iterator[str]:
    run_ids = sorted({b.run_id for b in bundles})
    if len(run_ids) > 1:
        yield f"the bundles come from {len(run_ids)} different runs (run ids differ)"
    measured = [b for b in bundles if b.has_coverage]
    if measured:
        for bundle in bundles:
            if not bundle.has_coverage and bundle.results:
                yield f"{bundle.label} measured no coverage: its tests count for none"
    for bundle in bundles:
        for worker in bundle.workers:
            if worker.crashed:
                yield f"{bundle.label}: worker {worker.worker} (pid {worker.pid}) {worker.crashed}"


def _incomplete(message: str) -> Problem:
    return Problem(message, ExitCode.RESULTS_INCOMPLETE)


# -- what a merge writes --------------------------------------------------------------------


def distinct_results(bundles: Sequence[Bundle]) -> list[tuple[Bundle, list[TestResult]]]:
    """Each bundle's results, a whole file's or directory's (an import error, a skipped
    directory) kept in the first bundle that has it: every queue runner plans the whole
    suite and reports them, and any of them may be the one that survives."""
    seen: set[str] = set()
    kept = []
    for bundle in bundles:
        results = [r for r in bundle.results if r.is_test or r.id not in seen]
        seen.update(r.id for r in results if not r.is_test)
        kept.append((bundle, results))
    return kept


def write_merged_junit(path: Path, bundles: Sequence[Bundle]) -> None:
    """One JUnit XML with a <testsuite> per shard, holding every test of every shard, and
    pytest's one "internal" case if any shard ended in an INTERNALERROR (the first's text)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    first = next((b for b in bundles if b.internal_error is not None), None)
    write_junit_suites(
        path,
        [
            JunitSuite(
                f"fastci {b.label}", results, b.host, b.internal_error if b is first else None
            )
            for b, results in distinct_results(bundles)
        ],
    )


def import_timings(bundles: Sequence[Bundle], store: TimingsStore) -> ImportResult:
    """Fold every shard's timings into the store; a bundle imported before changes nothing."""
    return store.import_runs(run for bundle in bundles for run in bundle.runs)


MERGED_COVERAGE = "coverage.db"  # the combined data file, beside the reports


def merge_coverage(
    bundles: Sequence[Bundle], root: Path, request: CoverageRequest, out_dir: Path
) -> tuple[CoverageSummary | None, list[Problem]]:
    """Combine the shards' coverage into ``out_dir/coverage.db``, write the requested reports
    there, judge the threshold (a request without ``fail_under`` takes the project's
    ``[report] fail_under``)."""
    fail_under = request.fail_under
    pieces = [
        CoveragePiece(f"bundle {b.path}", b.coverage_file, b.rootdir)
        for b in bundles
        if b.coverage_file is not None
    ]
    if not pieces:
        if fail_under:
            return None, [
                Problem(
                    f"--fail-under {fail_under:g} was asked for, but no shard measured "
                    "coverage (run the shards with --cov=PKG)",
                    ExitCode.COVERAGE_UNDER_THRESHOLD,
                )
            ]
        return None, []
    data_file = out_dir / MERGED_COVERAGE
    problems = [_incomplete(line) for line in combine_pieces(pieces, root, data_file)]
    try:
        summary = summarize(data_file, root, request, out_dir)
    except FastciError as e:
        return None, [*problems, _incomplete(e.message)]
    if summary.threshold_problem is not None:
        problems.append(Problem(summary.threshold_problem, ExitCode.COVERAGE_UNDER_THRESHOLD))
    return summary, problems
