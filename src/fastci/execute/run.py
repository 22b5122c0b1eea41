"""One test run, end to end: inventory, plan, the worker pool, then timings, coverage and bundle."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from fastci import __version__
from fastci.ci.providers import ShardSpec, run_id_from_env
from fastci.config import Config
from fastci.errors import ExitCode, FastciError, UsageError
from fastci.execute.collection import early_errors, interruption, stops_on_collection_errors
from fastci.execute.ledger import Listener, PoolResult
from fastci.execute.pool import Pool, PoolOptions
from fastci.execute.signals import deferred_interrupts, interrupt_on_sigterm
from fastci.files import writable_directory, write_atomically
from fastci.merge.coverage import (
    CoverageRequest,
    check_report_kinds,
    combine_workers,
    no_data_problem,
    summarize,
    worker_env,
)
from fastci.model import TestResult
from fastci.plan.inventory import Inventory
from fastci.plan.planner import Plan, Unit
from fastci.plan.store import TimingsStore, warn
from fastci.plan.suite import inventory_for, plan_suite
from fastci.results.bundle import (
    COVERAGE,
    JUNIT,
    LOGS,
    MANIFEST,
    RESULTS,
    TIMINGS,
    building,
    bundle_name,
    count_outcomes,
    write_junit,
    write_manifest,
    write_results,
)
from fastci.results.timings import FileRecord, Run, RunHeader, export_runs, new_report_id
from fastci.settings import cpu_count


@dataclasses.dataclass(frozen=True)
class RunRequest:
    config: Config
    pytest_args: tuple[str, ...] = ()
    shard: ShardSpec | None = None
    results_dir: Path | None = None

    @property
    def whole_suite(self) -> bool:
        """This run is the whole suite, not one shard of several: it writes the store and
        judges coverage itself (for shards, fastci merge does)."""
        return self.shard is None or self.shard.total == 1


@dataclasses.dataclass
class RunOutcome:
    request: RunRequest
    inventory: Inventory
    plan: Plan
    units: list[Unit]
    pool: PoolResult
    run_id: str
    started: float
    finished: float = 0.0
    exit_code: int = ExitCode.OK
    coverage_total: float | None = None
    coverage_report: str = ""
    coverage_problem: str | None = None  # the coverage threshold is missed, and how
    coverage_fail_under: float | None = None  # --cov-fail-under, if given
    bundle: Path | None = None

    @property
    def predicted(self) -> float:
        """Expected wall time: the shard's work shared by its workers, never under its
        largest unit."""
        index = self.request.shard.index if self.request.shard else 1
        shard = self.plan.shard(index)
        startup = self.plan.shard_startup
        largest = max((self.plan.units[u].duration for u in shard.units), default=0.0)
        jobs = max(1, min(self.request.config.jobs, len(shard.units)))
        return startup + max(largest, (shard.predicted - startup) / jobs)

    @property
    def counts(self) -> dict[str, int]:
        return count_outcomes(self.pool.results)


# The standard cache-directory tag (https://bford.info/cachedir/), so backups skip the cache.
CACHEDIR_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n"


def coverage_request(settings: dict[str, object] | None) -> CoverageRequest | None:
    """The coverage the user asked for, refused before any test runs if fastci cannot do it."""
    if settings is None:
        return None
    request = CoverageRequest.from_json(settings)
    check_report_kinds(request.reports)
    return request


def workers_for(jobs: int, units: Sequence[Unit]) -> int:
    """How many of ``jobs`` workers a run of ``units`` keeps: none without a unit to run."""
    return max(1, min(jobs, len(units)))


def new_run_id() -> str:
    return os.environ.get("FASTCI_RUN_ID") or run_id_from_env(os.environ) or uuid.uuid4().hex


# Makes the listener once the plan is known: (units, predicted seconds of work, jobs).
ListenerFactory = Callable[[int, float, int], Listener]


def run_tests(request: RunRequest, make_listener: ListenerFactory | None = None) -> RunOutcome:
    """Plan the suite, run this shard's units on the local pool, and record everything."""
    from fastci.report.progress import Progress

    config = request.config
    started = time.time()
    run_id = new_run_id()
    no_cov = "--no-cov" in (*config.pytest_args, *request.pytest_args)
    with tempfile.TemporaryDirectory(prefix="fastci-run-") as scratch_dir:
        scratch = Path(scratch_dir)
        pool = Pool(
            PoolOptions(
                workdir=config.workdir,
                pytest_args=(*config.pytest_args, *request.pytest_args),
                jobs=config.jobs,
                group_markers=config.group_markers,
                log_dir=scratch / LOGS,
                run_id=run_id,
                extra_env={} if no_cov else worker_env(scratch / "cov"),
            )
        )
        with interrupt_on_sigterm():
            # Workers load while the suite is discovered and planned: as many as there are
            # cores; the rest of --jobs once the plan shows there are units for them.
            pool.start(cpu_count())
            try:
                inventory = inventory_for(config, request.pytest_args)
                if inventory.settings.junitxml:
                    junit = config.workdir / inventory.settings.junitxml
                    if junit.is_dir():
                        raise UsageError(f"cannot write --junitxml {junit}: it is a directory")
                    writable_directory(junit.parent, f"cannot write --junitxml {junit}")
                coverage = None if no_cov else coverage_request(inventory.settings.coverage)
                inventory, early = early_errors(inventory, started)
                plan = plan_suite(config, inventory, request.shard.total if request.shard else 1)
            except BaseException:
                pool.close()
                raise
            units = [
                plan.units[uid]
                for uid in plan.shard(request.shard.index if request.shard else 1).units
            ]
            stop = stops_on_collection_errors(inventory)
            if early and stop:  # as pytest: nothing runs after a collection error
                units = []
            pool.stop_on_collection_error = stop
            listener = (make_listener or Progress)(
                len(units), sum(u.duration for u in units), workers_for(config.jobs, units)
            )
            try:
                result = pool.run(units, listener, maxfail=inventory.settings.maxfail)
            finally:
                listener.close()
        if request.shard is None or request.shard.index == 1:  # every shard saw it: one says so
            result.results += early + _skipped_directories(inventory, started)
        if early and stop:
            result.collection_stop = interruption(len(early))
        outcome = RunOutcome(request, inventory, plan, units, result, run_id, started)
        with deferred_interrupts() as interrupted:
            _finish(outcome, scratch, coverage)
        if interrupted:
            outcome.exit_code = ExitCode.INTERRUPTED
    return outcome


def _finish(outcome: RunOutcome, scratch: Path, coverage: CoverageRequest | None) -> None:
    """Everything after the tests; the bundle comes first, and no later step can lose it."""
    request = outcome.request
    config = request.config
    timings = _timings_run(outcome)
    coverage_file = scratch / COVERAGE
    if coverage is not None:
        _measure_coverage(outcome, scratch, coverage, coverage_file)
    outcome.finished = time.time()
    outcome.exit_code = _exit_code(outcome, coverage)
    if request.results_dir is not None:
        outcome.bundle = _write_bundle(outcome, scratch, timings, coverage_file)
    settings = outcome.inventory.settings
    if settings.junitxml:
        try:
            write_junit(
                config.workdir / settings.junitxml, outcome.pool.results, _suite_name(request)
            )
        except OSError as e:
            warn(f"cannot write --junitxml {settings.junitxml}: {e.strerror}")
    if settings.cache_dir:
        _update_last_failed(Path(settings.cache_dir), outcome.pool.results)
    if request.whole_suite:
        # A shard of several leaves the store alone: every shard must plan from the same
        # store, or a shard run after another plans differently and tests run twice or never.
        # fastci merge folds all shards' timings in at once.
        try:
            with TimingsStore(config.store_path, window=config.estimate_window) as store:
                store.import_runs([timings])
        except FastciError as e:
            warn(f"this run's timings were not stored: {e.message}")


def _measure_coverage(
    outcome: RunOutcome, scratch: Path, coverage: CoverageRequest, coverage_file: Path
) -> None:
    """Combine the workers' coverage data, report it, and judge it against the threshold."""
    workdir = outcome.request.config.workdir
    outcome.coverage_fail_under = coverage.fail_under
    summary = None
    try:
        if combine_workers(scratch / "cov", workdir, coverage_file):
            summary = summarize(coverage_file, workdir, coverage, workdir)
            outcome.coverage_total, outcome.coverage_report = summary.percent, summary.terminal
    except (FastciError, OSError) as e:
        warn(f"coverage could not be combined or reported: {e}")
    if outcome.request.whole_suite:  # a shard measures part of the code
        outcome.coverage_problem = (
            no_data_problem(coverage.fail_under, coverage.config_file)
            if summary is None
            else summary.threshold_problem
        )
    if outcome.coverage_problem is not None:
        print(f"fastci: {outcome.coverage_problem}", file=sys.stderr)


def _skipped_directories(inventory: Inventory, when: float) -> list[TestResult]:
    """Directories whose conftest skipped them: no worker meets them, pytest reports each."""
    return [
        TestResult(id=nodeid, file=nodeid, outcome="skipped", start=when, stop=when, longrepr=why)
        for nodeid, why in inventory.skipped
    ]


def _suite_name(request: RunRequest) -> str:
    return f"fastci shard {request.shard}" if request.shard else "fastci"


def _exit_code(outcome: RunOutcome, coverage: CoverageRequest | None) -> int:
    if outcome.pool.internal_error:
        return ExitCode.INTERNAL_ERROR
    if outcome.pool.interrupted or outcome.pool.collection_stop:
        return ExitCode.INTERRUPTED
    if outcome.pool.not_run:
        return ExitCode.RESULTS_INCOMPLETE
    if any(r.failed for r in outcome.pool.results):
        return ExitCode.TESTS_FAILED
    ran_a_test = any(r.is_test for r in outcome.pool.results)
    if not ran_a_test and (outcome.units or outcome.request.shard is None):
        return ExitCode.NO_TESTS_COLLECTED
    if coverage is not None and outcome.coverage_problem is not None:
        return ExitCode.COVERAGE_UNDER_THRESHOLD
    return ExitCode.OK


def _timings_run(outcome: RunOutcome) -> Run:
    """This run's timings, as the store imports them and the bundle keeps them."""
    request = outcome.request
    pool = outcome.pool
    completed = not pool.interrupted and pool.stopped_early is None and not pool.collection_stop
    completed = completed and not pool.internal_error
    run = Run(RunHeader(
        report_id=new_report_id(), run_id=outcome.run_id, started=outcome.started,
        complete=outcome.inventory.settings.complete and completed,
        shard=None if request.shard is None else str(request.shard),
        startup=pool.startup, rootdir=str(request.config.root),
    ))  # fmt: skip
    for result in pool.results:
        if result.is_test:  # not a whole file's or directory's error or skip
            run.tests[result.id] = result.timing()
    for file, seconds in sorted(pool.file_collect.items()):
        run.files[file] = FileRecord(file, seconds)
    return run


def _update_last_failed(cache_dir: Path, results: list[TestResult]) -> None:
    """Keep pytest's --lf cache right: workers each wrote their own view; this is the whole."""
    path = cache_dir / "v" / "cache" / "lastfailed"
    try:
        last_failed = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        last_failed = {}
    if not isinstance(last_failed, dict):
        last_failed = {}
    for result in results:
        if result.failed:
            last_failed[result.id] = True
        else:
            last_failed.pop(result.id, None)
    with contextlib.suppress(OSError, FastciError):
        new_cache = not cache_dir.exists()
        write_atomically(path, json.dumps(last_failed, indent=2, sort_keys=True))
        if new_cache:  # what pytest puts in a cache directory it creates
            write_atomically(cache_dir / ".gitignore", "# created by fastci\n*\n")
            write_atomically(cache_dir / "CACHEDIR.TAG", CACHEDIR_TAG)


def _write_bundle(outcome: RunOutcome, scratch: Path, timings: Run, coverage_file: Path) -> Path:
    request = outcome.request
    if request.results_dir is None:
        raise ValueError("a bundle is written only for a run with a results directory")
    final = request.results_dir / bundle_name(request.shard.slug if request.shard else None)
    with building(final) as bundle:
        write_results(bundle / RESULTS, outcome.pool.results)
        write_junit(bundle / JUNIT, outcome.pool.results, _suite_name(request))
        with (bundle / TIMINGS).open("w", encoding="utf-8") as stream:
            export_runs([timings], stream)
        if coverage_file.exists():
            (bundle / COVERAGE).write_bytes(coverage_file.read_bytes())
        logs = scratch / LOGS
        if logs.exists():
            (bundle / LOGS).mkdir()
            for log in logs.iterdir():
                (bundle / LOGS / log.name).write_bytes(log.read_bytes())
        write_manifest(bundle / MANIFEST, _manifest(outcome, coverage_file.exists()))
    return final


def _manifest(outcome: RunOutcome, has_coverage: bool) -> dict[str, object]:
    request = outcome.request
    pool = outcome.pool
    return {
        "tool": f"fastci {__version__}",
        "run_id": outcome.run_id,
        "shard": None
        if request.shard is None
        else {"index": request.shard.index, "total": request.shard.total},
        "rootdir": str(request.config.root),
        "python": sys.version.split()[0],
        "platform": sys.platform,
        "started": outcome.started,
        "finished": outcome.finished,
        "exit_code": int(outcome.exit_code),
        "interrupted": pool.interrupted,
        "stopped_early": pool.stopped_early,
        "leftovers": pool.leftovers,  # processes tests left running, which fastci ended
        "jobs": request.config.jobs,
        "granularity": outcome.plan.granularity,
        "predicted": outcome.predicted,
        "actual": outcome.finished - outcome.started,
        "plan_makespan": outcome.plan.makespan,
        # Shards of one run must share one plan; fastci merge compares these.
        "plan_digest": hashlib.sha256(outcome.plan.dumps().encode()).hexdigest(),
        "plan_lower_bound": outcome.plan.lower_bound,
        "startup": pool.startup,
        "planned_units": [u.id for u in outcome.units],
        "units": [dataclasses.asdict(s) for s in pool.units],
        "workers": [dataclasses.asdict(w) for w in pool.workers],
        "counts": outcome.counts,
        "coverage": COVERAGE if has_coverage else None,
        "coverage_total": outcome.coverage_total,
        # --cov-fail-under, for fastci merge to judge the combined total by
        "coverage_fail_under": outcome.coverage_fail_under,
        "pytest_args": list(request.pytest_args),
    }
