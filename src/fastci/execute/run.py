"""One test run, end to end: inventory, plan, the worker pool, then timings, coverage and bundle."""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from fastci import __version__
from fastci.ci.providers import run_id_from_env, run_id_from_revision
from fastci.errors import ExitCode, FastciError
from fastci.execute.collection import interruption
from fastci.execute.confirm import confirm_failures, failures_to_confirm
from fastci.execute.lastfailed import update_last_failed
from fastci.execute.ledger import Listener, PoolResult
from fastci.execute.outcome import RunOutcome, RunRequest
from fastci.execute.pool import Pool
from fastci.execute.process import PoolOptions
from fastci.execute.progress import ListenerFactory, progress_for
from fastci.execute.scheduler import Scheduler
from fastci.execute.signals import deferred_interrupts, interrupt_on_sigterm
from fastci.execute.startup import Prepared, prepare
from fastci.merge.coverage import (
    CoverageRequest,
    combine_workers,
    no_data_problem,
    summarize,
    worker_env,
)
from fastci.model import TestResult
from fastci.plan.inventory import Inventory, read_discovery
from fastci.plan.planner import Unit
from fastci.plan.quarantine import Judge
from fastci.plan.store import TimingsStore, warn
from fastci.plan.suite import discovers_files
from fastci.plugin.ordering import SEED_VARIABLE
from fastci.queue.scheduler import QueueListener, QueueScheduler, open_queue
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
from fastci.results.phases import (
    STARTUP,
    WRAPUP,
    PhaseClock,
    add_test_phases,
    amend_phases,
    process_started,
)
from fastci.results.teardowns import once_per_run
from fastci.results.timings import FileRecord, Run, RunHeader, export_runs, new_report_id
from fastci.settings import cpu_count


def workers_for(jobs: int, units: Sequence[Unit]) -> int:
    """How many of ``jobs`` workers a run of ``units`` keeps: none without a unit to run."""
    return max(1, min(jobs, len(units)))


def new_run_id(revision: tuple[str, str] | None = None) -> str:
    """$FASTCI_RUN_ID, else the CI's run id, else the checkout's: what all shards agree on."""
    env = os.environ
    return (
        env.get("FASTCI_RUN_ID")
        or run_id_from_env(env)
        or run_id_from_revision(revision)
        or uuid.uuid4().hex
    )


def run_tests(request: RunRequest, make_listener: ListenerFactory | None = None) -> RunOutcome:
    """Plan the suite, run this shard's units on the local pool, and record everything."""
    config = request.config
    started = time.time()
    clock = PhaseClock()
    begun = process_started()
    if begun is not None:
        clock.add("interpreter, imports and options", STARTUP, started - begun)
    run_id = request.queue.run_id if request.queue else new_run_id(request.revision)
    queue = open_queue(request.queue) if request.queue else None
    if queue is not None and config.deadline > 0:  # a runner never waits past the deadline
        queue.waits_until = started + config.deadline
    with tempfile.TemporaryDirectory(prefix="fastci-run-") as scratch_dir:
        scratch = Path(scratch_dir)
        pool = _new_pool(request, scratch, run_id, queue)
        with interrupt_on_sigterm():
            # Workers load while the suite is discovered and planned: as many as there are
            # cores; the rest of --jobs once the plan shows there are units for them.
            # The first lists the suite's files for the plan: one pytest start less.
            discovery: Path | None = scratch / "discovery.json"
            if not discovers_files(config, request.pytest_args):
                discovery = None
            with clock.phase("starting workers"):
                pool.start(cpu_count(), discovery)
            try:
                prepared = prepare(
                    request, queue, started, clock, lambda: _discovered(pool, discovery)
                )
            except BaseException:
                pool.close()
                raise
            inventory, plan, units = prepared.inventory, prepared.plan, prepared.units
            early, stop = prepared.early, prepared.stop
            pool.stop_on_collection_error = stop
            listener: Listener = (make_listener or progress_for(inventory, plan, units, pool))(
                len(units), sum(u.duration for u in units), workers_for(config.jobs, units)
            )
            result, units = _run_units(pool, prepared, listener, queue, clock)
            confirming = failures_to_confirm(result) if config.confirm_failures else []
            if confirming:
                with clock.phase("failed tests run again after a whole collection", WRAPUP):
                    args = pool.options.pytest_args
                    confirm_failures(result, confirming, config.workdir, args, scratch / LOGS)
        result.results = once_per_run(result.results)  # not once per worker that tore it down
        if request.shard is None or request.shard.index == 1:  # every shard saw it: one says so
            result.results += early + _skipped_directories(inventory, started)
        if early and stop:
            result.collection_stop = interruption(len(early))
        outcome = RunOutcome(request, inventory, plan, units, result, run_id, started, clock)
        outcome.queue_units = tuple(queue.units) if queue else ()
        with deferred_interrupts() as interrupted:
            _finish(outcome, scratch, prepared.coverage)
        if interrupted:
            outcome.exit_code = ExitCode.INTERRUPTED
    return outcome


def _discovered(pool: Pool, discovery: Path | None) -> Inventory | None:
    """The files the pool's first worker discovered, or None (then a pytest of its own will)."""
    if discovery is None or not pool.discovered(discovery):
        return None
    return read_discovery(discovery)


def _run_units(
    pool: Pool,
    prepared: Prepared,
    listener: Listener,
    queue: QueueScheduler | None,
    clock: PhaseClock,
) -> tuple[PoolResult, list[Unit]]:
    """Run the planned units on the pool: its result, and the units this runner ran."""
    units = prepared.units
    maxfail = prepared.inventory.settings.maxfail
    listener = QueueListener(listener, queue, maxfail) if queue else listener
    try:
        planned = time.time()
        result = pool.run(units, listener, maxfail=maxfail)
        add_test_phases(clock, planned, time.time(), result.units)
        if queue:
            queue.settle(result)
            units = queue.ran(result)
    except FastciError:
        pool.close()  # the queue was lost: no worker outlives the run
        raise
    finally:
        listener.close()
    return result, units


def _new_pool(request: RunRequest, scratch: Path, run_id: str, queue: Scheduler | None) -> Pool:
    config = request.config
    seed = {} if request.seed is None else {SEED_VARIABLE: str(request.seed)}
    options = PoolOptions(
        workdir=config.workdir,
        pytest_args=(*config.pytest_args, *request.pytest_args),
        jobs=config.jobs,
        group_markers=config.group_markers,
        log_dir=scratch / LOGS,
        run_id=run_id,
        extra_env={**({} if request.no_cov else worker_env(scratch / "cov")), **seed},
        timeout=config.timeout,
        deadline=config.deadline,
        reruns=config.reruns,
    )
    return Pool(options, scheduler=queue)


def _finish(outcome: RunOutcome, scratch: Path, coverage: CoverageRequest | None) -> None:
    """Everything after the tests; the bundle comes first, and no later step can lose it."""
    request = outcome.request
    clock = outcome.phases
    with clock.phase("timings", WRAPUP):
        timings = _timings_run(outcome)
    coverage_file = scratch / COVERAGE
    if coverage is not None:
        with clock.phase("coverage combine and report", WRAPUP):
            _measure_coverage(outcome, scratch, coverage, coverage_file)
    outcome.finished = time.time()
    outcome.exit_code = _exit_code(outcome, coverage)
    if request.results_dir is not None:
        with clock.phase("bundle", WRAPUP):
            outcome.bundle = _write_bundle(outcome, scratch, timings, coverage_file)
    with clock.phase("junit and pytest's cache", WRAPUP):
        _write_junit_and_cache(outcome)
    if request.whole_suite:
        with clock.phase("store write", WRAPUP):
            _store(outcome, timings)
    if outcome.bundle is not None:
        amend_phases(outcome.bundle / MANIFEST, clock)


def _write_junit_and_cache(outcome: RunOutcome) -> None:
    """--junitxml and pytest's --lf cache, as pytest would leave them."""
    request = outcome.request
    config = request.config
    settings = outcome.inventory.settings
    if settings.junitxml:
        try:
            write_junit(
                config.workdir / settings.junitxml,
                outcome.pool.results,
                _suite_name(request),
                outcome.pool.internal_error,
            )
        except OSError as e:
            warn(f"cannot write --junitxml {settings.junitxml}: {e.strerror}")
    if settings.cache_dir:
        update_last_failed(Path(settings.cache_dir), outcome.pool.results)


def _store(outcome: RunOutcome, timings: Run) -> None:
    """The run's timings into the store: only for the whole suite. A shard of several leaves
    the store alone: every shard must plan from the same store, or a shard run after another
    plans differently and tests run twice or never; fastci merge folds all shards in at once."""
    config = outcome.request.config
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
        "confirmed": pool.confirmed,  # failed, then passed after a whole collection
        "jobs": request.config.jobs,
        "granularity": outcome.plan.granularity,
        "predicted": outcome.predicted,
        "actual": outcome.finished - outcome.started,
        "plan_makespan": outcome.plan.makespan,
        # Shards of one run must share one plan; fastci merge compares these.
        "plan_digest": outcome.plan.placement_digest(),
        "plan_lower_bound": outcome.plan.lower_bound,
        "startup": pool.startup,
        "planned_units": [u.id for u in outcome.units],
        "units": [dataclasses.asdict(s) for s in pool.units],
        "workers": [dataclasses.asdict(w) for w in pool.workers],
        "warnings": [dataclasses.asdict(w) for w in pool.warnings],  # for merge's summary
        "counts": outcome.counts,
        "deselected": outcome.deselected,  # ids: fastci merge counts each once over shards
        "internal_error": pool.internal_error,  # for the JUnit case pytest writes for one
        "coverage": COVERAGE if has_coverage else None,
        "queue": None
        if request.queue is None
        else {"job": request.queue.job, "units": list(outcome.queue_units)},
        "coverage_total": outcome.coverage_total,
        # --cov-fail-under, for fastci merge to judge the combined total by
        "coverage_fail_under": outcome.coverage_fail_under,
        "pytest_args": list(request.pytest_args),
        "random_seed": request.seed,  # --random-order: replays the order with this seed
        "phases": outcome.phases.to_json(),  # fastci.results.phases; completed after the store
    }
