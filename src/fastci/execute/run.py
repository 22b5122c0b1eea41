"""One test run, end to end: inventory, plan, the worker pool, then timings, coverage and bundle."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from fastci import __version__
from fastci.ci.providers import run_id_from_env
from fastci.config import Config
from fastci.errors import ExitCode, FastciError, UsageError
from fastci.execute.collection import early_errors, interruption, stops_on_collection_errors
from fastci.execute.lastfailed import update_last_failed
from fastci.execute.ledger import Listener
from fastci.execute.outcome import RunOutcome, RunRequest
from fastci.execute.pool import Pool
from fastci.execute.process import PoolOptions
from fastci.execute.scheduler import Scheduler
from fastci.execute.signals import deferred_interrupts, interrupt_on_sigterm
from fastci.files import writable_directory
from fastci.merge.coverage import (
    CoverageRequest,
    check_report_kinds,
    combine_workers,
    no_data_problem,
    summarize,
    worker_env,
)
from fastci.model import TestResult
from fastci.plan.costs import predicted_wall
from fastci.plan.inventory import Inventory
from fastci.plan.planner import Plan, Unit
from fastci.plan.quarantine import Judge
from fastci.plan.store import TimingsStore, warn
from fastci.plan.suite import inventory_for, plan_suite
from fastci.plugin.ordering import SEED_VARIABLE, UNITS, shuffled
from fastci.queue.scheduler import QueueListener, open_queue
from fastci.results.building import building
from fastci.results.bundle import (
    COVERAGE,
    JUNIT,
    LOGS,
    MANIFEST,
    RESULTS,
    TIMINGS,
    bundle_name,
    write_manifest,
    write_results,
)
from fastci.results.junit import write_junit
from fastci.results.timings import FileRecord, Run, RunHeader, export_runs, new_report_id
from fastci.settings import cpu_count


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
    from fastci.report.progress import Forecast, Progress

    config = request.config
    started = time.time()
    run_id = request.queue.run_id if request.queue else new_run_id()
    queue = open_queue(request.queue) if request.queue else None
    no_cov = "--no-cov" in (*config.pytest_args, *request.pytest_args)
    with tempfile.TemporaryDirectory(prefix="fastci-run-") as scratch_dir:
        scratch = Path(scratch_dir)
        pool = _new_pool(request, scratch, run_id, queue, no_cov)
        with interrupt_on_sigterm():
            # Workers load while the suite is discovered and planned: as many as there are
            # cores; the rest of --jobs once the plan shows there are units for them.
            pool.start(cpu_count())
            try:
                inventory = inventory_for(config, request.pytest_args)
                _check_junitxml(config, inventory.settings.junitxml)
                coverage = None if no_cov else coverage_request(inventory.settings.coverage)
                inventory, early = early_errors(inventory, started)
                shards = request.shard.total if request.shard else 1
                plan = plan_suite(config, inventory, None if queue else shards)
                stop = stops_on_collection_errors(inventory)
                # As pytest: nothing runs after a collection error.
                units = [] if early and stop else _shard_units(request, plan)
                units = queue.join(plan) if queue and units else units
            except BaseException:
                pool.close()
                raise
            pool.stop_on_collection_error = stop
            progress = partial(Progress, forecast=Forecast(predicted_wall(plan, units), plan.rough))
            listener: Listener = (make_listener or progress)(
                len(units), sum(u.duration for u in units), workers_for(config.jobs, units)
            )
            maxfail = inventory.settings.maxfail
            listener = QueueListener(listener, queue, maxfail) if queue else listener
            try:
                result = pool.run(units, listener, maxfail=maxfail)
                if queue:
                    queue.settle(result)
                    units = queue.ran(result)
            except FastciError:
                pool.close()  # the queue was lost: no worker outlives the run
                raise
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


def _new_pool(
    request: RunRequest, scratch: Path, run_id: str, queue: Scheduler | None, no_cov: bool
) -> Pool:
    config = request.config
    seed = {} if request.seed is None else {SEED_VARIABLE: str(request.seed)}
    options = PoolOptions(
        workdir=config.workdir,
        pytest_args=(*config.pytest_args, *request.pytest_args),
        jobs=config.jobs,
        group_markers=config.group_markers,
        log_dir=scratch / LOGS,
        run_id=run_id,
        extra_env={**({} if no_cov else worker_env(scratch / "cov")), **seed},
        timeout=config.timeout,
        deadline=config.deadline,
        reruns=config.reruns,
    )
    return Pool(options, scheduler=queue)


def _check_junitxml(config: Config, junitxml: str | None) -> None:
    """The user's --junitxml is written after the tests: refuse an unusable one before them."""
    if junitxml:
        junit = config.workdir / junitxml
        if junit.is_dir():
            raise UsageError(f"cannot write --junitxml {junit}: it is a directory")
        writable_directory(junit.parent, f"cannot write --junitxml {junit}")


def _shard_units(request: RunRequest, plan: Plan) -> list[Unit]:
    """This shard's units in run order: the plan's, or shuffled by --random-order's seed."""
    shard = plan.shard(request.shard.index if request.shard else 1)
    units = [plan.units[uid] for uid in shard.units]
    return units if request.seed is None else shuffled(units, request.seed, UNITS, lambda u: u.id)


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
        update_last_failed(Path(settings.cache_dir), outcome.pool.results)
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
    config = outcome.request.config
    judge = Judge(config.quarantine, config.allow_flaky)  # the rules fastci merge applies
    if any(judge.fails(r) for r in outcome.pool.results):
        return ExitCode.TESTS_FAILED
    ran_a_test = any(r.is_test for r in outcome.pool.results)
    alone = outcome.request.shard is None and outcome.request.queue is None
    if not ran_a_test and (outcome.units or alone):
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
        commit=request.revision[0] if request.revision else None,
        tree=request.revision[1] if request.revision else None,
        workers=workers_for(request.config.jobs, outcome.units), cpus=os.cpu_count(),
    ))  # fmt: skip
    for result in pool.results:
        if result.is_test:  # not a whole file's or directory's error or skip
            run.tests[result.id] = result.timing()
    for file, seconds in sorted(pool.file_collect.items()):
        run.files[file] = FileRecord(file, seconds, pool.file_imports.get(file))
    return run


def _write_bundle(outcome: RunOutcome, scratch: Path, timings: Run, coverage_file: Path) -> Path:
    request = outcome.request
    if request.results_dir is None:
        raise ValueError("a bundle is written only for a run with a results directory")
    slug = f"queue-{request.queue.job}" if request.queue else None
    final = request.results_dir / bundle_name(request.shard.slug if request.shard else slug)
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
        "random_seed": request.seed,  # --random-order: replays the order with this seed
    }
