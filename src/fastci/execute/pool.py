"""The coordinator's pool of pytest workers: feeds units longest first, survives crashes.

Each worker is a real pytest process (so the user's plugins and conftests behave as usual)
talking to the coordinator over two pipes. Work is handed out one unit at a time as workers
ask for it, so a slow unit never leaves other workers idle behind a fixed split.

Nothing is lost:

- A worker that dies (``os._exit``, a segfault, the OOM killer) fails the test it was
  running with the cause; a fresh worker takes over the rest of its units. Workers run their
  tests in the order they reported collecting them, so the test that was running is the
  first collected one without a result.
- A unit that was being imported when its worker died is retried once on a fresh worker
  (it may have been another test's fault); a second death fails its files.
- Restarts are capped: past the cap, what could not run is reported as not run.
- A worker that stops on its own (pytest's ``-x``, ``--maxfail``, ``--sw``) stops the run.
- Whatever is left unrun at the end without a reason (interrupt, stop) is reported.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import selectors
import signal
import subprocess
import sys
import time
from collections import Counter, deque
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from fastci.errors import ExitCode
from fastci.execute.channel import LineReader, Message, encode
from fastci.model import TestResult, UnitSpan, WorkerSpan, node_file
from fastci.plan.planner import Unit
from fastci.plugin.launch import PytestError, neutralizing_args, plugin_args, pytest_env

LOG_TAIL_LINES = 30
SHUTDOWN_GRACE_SECONDS = 20.0
RESTARTS_PER_JOB = 4  # as pytest-xdist's --max-worker-restart defaults to
IMPORT_ATTEMPTS = 2


@dataclasses.dataclass
class PoolResult:
    """What happened in the pool: every result, and when each unit and worker ran."""

    results: list[TestResult]
    units: list[UnitSpan]
    workers: list[WorkerSpan]
    file_collect: dict[str, float]
    startup: float | None  # seconds from the pool's start until the first worker was ready
    interrupted: bool = False
    stopped_early: str | None = None  # why the run stopped before all units ran (-x, --maxfail)
    not_run: list[str] = dataclasses.field(default_factory=list)  # units lost without a reason
    # Deselected by -k, -m or --deselect; a set: every piece of a split file deselects alike.
    deselected: set[str] = dataclasses.field(default_factory=set)


class Listener(Protocol):
    def test_done(self, result: TestResult) -> None: ...

    def unit_done(self, span: UnitSpan) -> None: ...

    def tick(self) -> None: ...

    def close(self) -> None: ...


@dataclasses.dataclass(frozen=True)
class PoolOptions:
    workdir: Path  # where the workers' pytest runs, as the user's own pytest would
    pytest_args: Sequence[str]
    jobs: int
    group_markers: Sequence[str]
    log_dir: Path
    run_id: str
    extra_env: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class _UnitRun:
    unit: Unit
    start: float
    collected: bool = False
    order: list[str] = dataclasses.field(default_factory=list)  # as the worker will run them
    remaining: set[str] = dataclasses.field(default_factory=set)


@dataclasses.dataclass
class _Worker:
    slot: str
    proc: subprocess.Popen[bytes]
    to_worker: int
    from_worker: int
    log_path: Path
    started: float
    reader: LineReader = dataclasses.field(default_factory=LineReader)
    ready: bool = False
    told_to_stop: bool = False
    said_bye: bool = False
    assigned: list[_UnitRun] = dataclasses.field(default_factory=list)
    last_result_at: float = 0.0

    def running_test(self) -> str | None:
        """The test it is running now: the first collected test without a result."""
        if self.assigned and not self.assigned[-1].collected:
            return None  # it was importing its newest unit; its held-back test had not begun
        for run in self.assigned:
            for test_id in run.order:
                if test_id in run.remaining:
                    return test_id
        return None


class _Silent:
    """The listener until run() brings the real one."""

    def test_done(self, result: TestResult) -> None:
        pass

    def unit_done(self, span: UnitSpan) -> None:
        pass

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass


class Pool:
    """Runs units on ``jobs`` workers; see the module docstring.

    ``start`` launches the workers early, so their interpreters and conftests load while the
    coordinator still plans; ``run`` hands out the units; ``close`` ends whatever is left.
    """

    def __init__(self, options: PoolOptions) -> None:
        self.options = options
        self.listener: Listener = _Silent()
        self.selector = selectors.DefaultSelector()
        self.workers: dict[str, _Worker] = {}
        self.queue: deque[Unit] = deque()
        self.result = PoolResult(results=[], units=[], workers=[], file_collect={}, startup=None)
        self.started = 0.0
        self.maxfail = 0
        self.dispatching = False
        self.failures = 0
        self.stopping = False
        self.restarts_left = RESTARTS_PER_JOB * options.jobs
        self.import_crashes: Counter[str] = Counter()

    def start(self, count: int | None = None) -> None:
        """Start ``count`` workers (default: all of them) before the units are known."""
        self.started = time.time()
        self.options.log_dir.mkdir(parents=True, exist_ok=True)
        self._grow(self.options.jobs if count is None else min(count, self.options.jobs))

    def _grow(self, count: int) -> None:
        n = 0
        while len(self.workers) < count:
            if f"gw{n}" not in self.workers:
                self._spawn(f"gw{n}")
            n += 1

    def close(self) -> None:
        """Stop workers that were started but never given work (planning failed)."""
        self._kill_all()
        for worker in list(self.workers.values()):
            worker.proc.wait()
            self._forget(worker)
        self.selector.close()

    def run(self, units: Sequence[Unit], listener: Listener, maxfail: int = 0) -> PoolResult:
        """Run every unit (in the order given, as workers free up) and return what happened.

        ``maxfail`` stops the run after that many failures across all workers (0: never).
        """
        self.listener = listener
        self.maxfail = maxfail
        if not self.workers:
            self.start()
        self._grow(min(self.options.jobs, max(1, len(units))))  # no worker without a unit
        self.queue.extend(units)
        self._pump(timeout=0)  # take in the "ready" messages sent while the plan was made
        self.dispatching = True
        for worker in list(self.workers.values()):
            if worker.ready:
                self._dispatch(worker)
        deadline: float | None = None
        while self.workers:
            try:
                self._pump(timeout=0.2)
                self.listener.tick()
                if deadline is not None and time.time() > deadline:
                    self._kill_all()
            except KeyboardInterrupt:
                if self.result.interrupted:
                    self._kill_all()  # a second interrupt: stop now
                else:
                    self.result.interrupted = True
                    self._stop_all(signal.SIGINT)
                    deadline = time.time() + SHUTDOWN_GRACE_SECONDS
        self.selector.close()
        if not self.result.interrupted and self.result.stopped_early is None:
            self._report_left_over("the workers could not run it")
        return self.result

    # -- processes ----------------------------------------------------------------------

    def _spawn(self, slot: str) -> None:
        to_read, to_write = os.pipe()
        from_read, from_write = os.pipe()
        o = self.options
        command = [
            sys.executable, "-m", "pytest", *plugin_args(),
            f"--fastci-worker={to_read},{from_write}",
            f"--fastci-group-markers={','.join(o.group_markers)}",
            "-q", *o.pytest_args,
            *neutralizing_args(),  # last, so the user's own -n or --cov cannot fan out a worker
        ]  # fmt: skip
        env = pytest_env({
            **o.extra_env,
            "FASTCI_WORKER_ID": slot,
            "PYTEST_XDIST_WORKER": slot,
            "PYTEST_XDIST_WORKER_COUNT": str(o.jobs),
            "PYTEST_XDIST_TESTRUNUID": o.run_id,
        })  # fmt: skip
        log_path = o.log_dir / f"{slot}.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                command, cwd=o.workdir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, pass_fds=(to_read, from_write),
                start_new_session=True,  # Ctrl-C reaches the coordinator, which stops workers once
            )  # fmt: skip
        os.close(to_read)
        os.close(from_write)
        worker = _Worker(slot, proc, to_write, from_read, log_path, started=time.time())
        self.workers[slot] = worker
        self.selector.register(from_read, selectors.EVENT_READ, worker)

    def _send(self, worker: _Worker, kind: str, **fields: object) -> None:
        data = encode(kind, **fields)
        try:
            while data:
                data = data[os.write(worker.to_worker, data) :]
        except OSError:
            pass  # the worker is gone; its end of file arrives through the selector

    def _pump(self, timeout: float) -> None:
        for key, _ in self.selector.select(timeout):
            worker: _Worker = key.data
            try:
                data = os.read(worker.from_worker, 1 << 16)
            except OSError:
                data = b""
            if not data:
                self._reap(worker)
                continue
            for message in worker.reader.feed(data):
                self._handle(worker, message)

    def _stop_all(self, sig: signal.Signals) -> None:
        self.stopping = True
        self.queue.clear()
        for worker in self.workers.values():
            with contextlib.suppress(ProcessLookupError):
                worker.proc.send_signal(sig)

    def _kill_all(self) -> None:
        for worker in self.workers.values():
            with contextlib.suppress(ProcessLookupError):
                worker.proc.kill()

    def _stop_early(self, reason: str) -> None:
        """Run nothing more: the queue is dropped and every worker ends after its test."""
        if self.stopping:
            return
        self.result.stopped_early = reason
        self.stopping = True
        self.queue.clear()
        for worker in self.workers.values():
            worker.told_to_stop = True
            self._send(worker, "abort")

    # -- messages -----------------------------------------------------------------------

    def _handle(self, worker: _Worker, message: Message) -> None:
        kind = message["kind"]
        if kind == "ready":
            worker.ready = True
            if self.result.startup is None:
                self.result.startup = time.time() - self.started
            if self.dispatching:
                self._dispatch(worker)
        elif kind == "next":
            self._dispatch(worker)
        elif kind == "collected":
            self._collected(worker, message)
        elif kind == "test":
            del message["kind"]
            self._record(worker, TestResult(**message))
        elif kind == "bye":
            worker.said_bye = True
            if message.get("aborted") and not worker.told_to_stop:
                self._stop_early(
                    f"worker {worker.slot} stopped the run (pytest's -x, --maxfail or --sw)"
                )

    def _dispatch(self, worker: _Worker) -> None:
        if self.stopping or not self.queue:
            worker.told_to_stop = True
            self._send(worker, "stop")
            return
        unit = self.queue.popleft()
        worker.assigned.append(_UnitRun(unit, start=time.time()))
        self._send(
            worker, "unit", id=unit.id, files=list(unit.files),
            tests=None if unit.tests is None else list(unit.tests), exclude=list(unit.exclude),
        )  # fmt: skip

    def _collected(self, worker: _Worker, message: Message) -> None:
        run = next(
            (r for r in worker.assigned if r.unit.id == message["unit"] and not r.collected), None
        )
        if run is None:
            return
        run.collected = True
        run.order = list(message["tests"])
        run.remaining = set(run.order)
        self.result.file_collect.update(message["files"])
        self.result.deselected.update(message["deselected"])
        for error in message["errors"]:  # and modules that skipped themselves
            self._record(worker, TestResult(
                id=error["id"], file=node_file(error["id"]), outcome=error["outcome"],
                longrepr=error["longrepr"], start=message["start"], stop=message["stop"],
                worker=worker.slot,
            ))  # fmt: skip
        if not run.remaining:
            self._finish_unit(worker, run, message["stop"])

    def _record(self, worker: _Worker, result: TestResult) -> None:
        self.result.results.append(result)
        self.listener.test_done(result)
        worker.last_result_at = result.stop
        for run in worker.assigned:
            if result.id in run.remaining:
                run.remaining.discard(result.id)
                if not run.remaining:
                    self._finish_unit(worker, run, result.stop)
                break
        if result.failed:
            self.failures += 1
            if self.maxfail and self.failures >= self.maxfail:
                self._stop_early(f"stopping after {self.failures} failure(s)")

    def _finish_unit(self, worker: _Worker, run: _UnitRun, stop: float) -> None:
        worker.assigned.remove(run)
        span = UnitSpan(
            unit=run.unit.id, worker=worker.slot, start=run.start, stop=stop,
            tests=len(run.order), predicted=run.unit.duration,
        )  # fmt: skip
        self.result.units.append(span)
        self.listener.unit_done(span)

    # -- a worker's end -------------------------------------------------------------------

    def _forget(self, worker: _Worker) -> None:
        self.selector.unregister(worker.from_worker)
        os.close(worker.from_worker)
        os.close(worker.to_worker)
        del self.workers[worker.slot]

    def _reap(self, worker: _Worker) -> None:
        self._forget(worker)
        returncode = worker.proc.wait()
        now = time.time()
        crashed = None if worker.said_bye else _describe_exit(returncode)
        self.result.workers.append(
            WorkerSpan(worker.slot, worker.proc.pid, worker.started, now, crashed)
        )
        if crashed is None or self.result.interrupted:
            return  # a clean end, or one the coordinator asked for
        if not worker.ready and self.result.startup is None:
            self._startup_failed(worker, returncode)
        self._salvage(worker, crashed, now)

    def _startup_failed(self, worker: _Worker, returncode: int) -> None:
        """No worker ever started: pytest itself refused (bad arguments, a broken conftest)."""
        self._kill_all()
        for other in self.workers.values():
            other.proc.wait()
        raise PytestError(
            f"a pytest worker could not start (exit code {returncode}); its output is above",
            exit_code=returncode if returncode > 0 else ExitCode.INTERNAL_ERROR,
            details=worker.log_path.read_text(errors="replace"),
        )

    def _salvage(self, worker: _Worker, crashed: str, now: float) -> None:
        """Fail the test that killed the worker, and hand the rest of its units to a new one."""
        tail = _tail(worker.log_path, LOG_TAIL_LINES)

        def crash(test_id: str, during: str) -> None:
            self._record(worker, TestResult(
                id=test_id, file=node_file(test_id), outcome="crashed",
                start=worker.last_result_at or worker.started, stop=now, worker=worker.slot,
                longrepr=f"worker {worker.slot} {crashed} {during}.\n{tail}",
            ))  # fmt: skip

        running = worker.running_test()
        if running is not None:
            crash(running, "while running this test; a new worker ran the rest of its unit")
        elif not worker.assigned and worker.told_to_stop:
            crash(f"fastci::{worker.slot}", "after its last test (in session teardown)")
        for run in list(worker.assigned):
            worker.assigned.remove(run)
            if run.collected:
                if run.remaining:
                    kept = tuple(t for t in run.order if t in run.remaining)
                    self.queue.appendleft(run.unit._replace(tests=kept))
                continue
            self.import_crashes[run.unit.id] += 1
            if self.import_crashes[run.unit.id] < IMPORT_ATTEMPTS:
                self.queue.appendleft(run.unit)  # perhaps not its fault: try once more
            else:
                for file in run.unit.files:
                    crash(file, f"while importing {file}, twice")
        if not self.queue or self.stopping:
            return
        if self.restarts_left > 0:
            self.restarts_left -= 1
            self._spawn(worker.slot)
        elif not self.workers:
            self._report_left_over(
                f"workers died {RESTARTS_PER_JOB * self.options.jobs} times; fastci stopped "
                "starting new ones"
            )

    def _report_left_over(self, why: str) -> None:
        """Units that neither ran nor were stopped on purpose: never silently missing."""
        now = time.time()
        left = list(self.queue)
        self.queue.clear()
        for worker in list(self.workers.values()):
            left.extend(r.unit for r in worker.assigned)
        for unit in left:
            self.result.not_run.append(unit.id)
            for file in unit.files:
                result = TestResult(
                    id=f"{file}::<not run>",
                    file=file,
                    outcome="error",
                    start=now,
                    stop=now,
                    longrepr=f"fastci: unit {unit.id} did not run: {why}",
                )
                self.result.results.append(result)
                self.listener.test_done(result)


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"was killed by {name}{hint}"
    return f"exited with code {returncode}"


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    if not text:
        return ""
    return "--- last lines of the worker's output ---\n" + "\n".join(text[-lines:])
