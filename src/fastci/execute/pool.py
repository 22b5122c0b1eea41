"""The coordinator's pool of pytest workers: feeds units longest first, survives crashes.

Each worker is a real pytest process (so the user's plugins and conftests behave as usual)
talking to the coordinator over two pipes. Work is handed out one unit at a time as workers
ask for it, so a slow unit never leaves other workers idle behind a fixed split. A worker that
dies (``os._exit``, a segfault, the OOM killer) fails the test it was running with the cause,
and a fresh worker takes over the rest of its units.
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
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from fastci.errors import ExitCode
from fastci.execute.channel import LineReader, Message, encode
from fastci.inventory import PytestError, neutralizing_args, plugin_args, pytest_env
from fastci.plan import Unit
from fastci.records import TestResult, node_file

LOG_TAIL_LINES = 30
SHUTDOWN_GRACE_SECONDS = 20.0


@dataclasses.dataclass(frozen=True)
class UnitSpan:
    """When a unit ran on which worker: a bar on the timeline."""

    unit: str
    worker: str
    start: float
    stop: float
    tests: int
    predicted: float


@dataclasses.dataclass(frozen=True)
class WorkerSpan:
    worker: str
    pid: int
    start: float
    stop: float
    crashed: str | None = None  # why the process died, if it did


@dataclasses.dataclass
class PoolResult:
    results: list[TestResult]
    units: list[UnitSpan]
    workers: list[WorkerSpan]
    file_collect: dict[str, float]
    startup: float | None  # seconds from the pool's start until the first worker was ready
    interrupted: bool = False
    stopped_early: str | None = None  # why the run stopped before all units ran (-x, --maxfail)


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
    extra_worker_args: Sequence[str] = ()


@dataclasses.dataclass
class _UnitRun:
    unit: Unit
    start: float
    collected: bool = False
    remaining: set[str] = dataclasses.field(default_factory=set)
    tests: int = 0


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
    said_bye: bool = False
    assigned: list[_UnitRun] = dataclasses.field(default_factory=list)
    current_test: str | None = None
    current_test_start: float = 0.0


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
        self.ever_ready = False

    def start(self) -> None:
        self.started = time.time()
        self.options.log_dir.mkdir(parents=True, exist_ok=True)
        for n in range(self.options.jobs):
            self._spawn(f"gw{n}")

    def close(self) -> None:
        """Stop workers that were started but never given work (planning failed)."""
        self._kill_all()
        for worker in list(self.workers.values()):
            worker.proc.wait()
            self.selector.unregister(worker.from_worker)
            os.close(worker.from_worker)
            os.close(worker.to_worker)
        self.workers.clear()
        self.selector.close()

    def run(self, units: Sequence[Unit], listener: Listener, maxfail: int = 0) -> PoolResult:
        """Run every unit (in the order given, as workers free up) and return what happened.

        ``maxfail`` stops the run after that many failures across all workers (0: never).
        """
        self.listener = listener
        self.maxfail = maxfail
        if not self.workers:
            self.start()
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
        return self.result

    # -- processes ----------------------------------------------------------------------

    def _spawn(self, slot: str) -> None:
        to_read, to_write = os.pipe()
        from_read, from_write = os.pipe()
        o = self.options
        command = [
            sys.executable,
            "-m",
            "pytest",
            *plugin_args(),
            f"--fastci-worker={to_read},{from_write}",
            f"--fastci-group-markers={','.join(o.group_markers)}",
            "-q",
            *neutralizing_args(),
            *o.extra_worker_args,
            *o.pytest_args,
        ]
        env = pytest_env(
            {
                **o.extra_env,
                "FASTCI_WORKER_ID": slot,
                "PYTEST_XDIST_WORKER": slot,
                "PYTEST_XDIST_WORKER_COUNT": str(o.jobs),
                "PYTEST_XDIST_TESTRUNUID": o.run_id,
            }
        )
        log_path = o.log_dir / f"{slot}.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                command,
                cwd=o.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(to_read, from_write),
                start_new_session=True,  # Ctrl-C reaches the coordinator, which stops workers once
            )
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

    # -- messages -----------------------------------------------------------------------

    def _handle(self, worker: _Worker, message: Message) -> None:
        kind = message["kind"]
        if kind == "ready":
            worker.ready = True
            if not self.ever_ready:
                self.ever_ready = True
                self.result.startup = time.time() - self.started
            if self.dispatching:
                self._dispatch(worker)
        elif kind == "next":
            self._dispatch(worker)
        elif kind == "collected":
            self._collected(worker, message)
        elif kind == "test_start":
            worker.current_test = message["id"]
            worker.current_test_start = message["t"]
        elif kind == "test":
            del message["kind"]
            worker.current_test = None
            self._record(worker, TestResult(**message))
        elif kind == "bye":
            worker.said_bye = True

    def _dispatch(self, worker: _Worker) -> None:
        if self.stopping or not self.queue:
            self._send(worker, "stop")
            return
        unit = self.queue.popleft()
        worker.assigned.append(_UnitRun(unit, start=time.time()))
        self._send(
            worker,
            "unit",
            id=unit.id,
            files=list(unit.files),
            tests=None if unit.tests is None else list(unit.tests),
            exclude=list(unit.exclude),
        )

    def _collected(self, worker: _Worker, message: Message) -> None:
        run = next(
            (r for r in worker.assigned if r.unit.id == message["unit"] and not r.collected), None
        )
        if run is None:
            return
        run.collected = True
        run.remaining = set(message["tests"])
        run.tests = len(run.remaining)
        self.result.file_collect.update(message["files"])
        for error in message["errors"]:
            self._record(
                worker,
                TestResult(
                    id=error["id"],
                    file=node_file(error["id"]),
                    outcome="error",
                    longrepr=error["longrepr"],
                    start=message["start"],
                    stop=message["stop"],
                    worker=worker.slot,
                ),
            )
        if not run.remaining:
            self._finish_unit(worker, run, message["stop"])

    def _record(self, worker: _Worker, result: TestResult) -> None:
        self.result.results.append(result)
        self.listener.test_done(result)
        for run in worker.assigned:
            if result.id in run.remaining:
                run.remaining.discard(result.id)
                if not run.remaining:
                    self._finish_unit(worker, run, result.stop)
                break
        if result.failed:
            self.failures += 1
            if self.maxfail and self.failures >= self.maxfail and not self.stopping:
                self.result.stopped_early = f"stopping after {self.failures} failure(s)"
                self.stopping = True
                self.queue.clear()
                for other in self.workers.values():
                    self._send(other, "abort")

    def _finish_unit(self, worker: _Worker, run: _UnitRun, stop: float) -> None:
        worker.assigned.remove(run)
        span = UnitSpan(
            unit=run.unit.id,
            worker=worker.slot,
            start=run.start,
            stop=stop,
            tests=run.tests,
            predicted=run.unit.duration,
        )
        self.result.units.append(span)
        self.listener.unit_done(span)

    # -- a worker's end -------------------------------------------------------------------

    def _reap(self, worker: _Worker) -> None:
        self.selector.unregister(worker.from_worker)
        os.close(worker.from_worker)
        os.close(worker.to_worker)
        returncode = worker.proc.wait()
        del self.workers[worker.slot]
        now = time.time()
        crashed = None if worker.said_bye else _describe_exit(returncode)
        self.result.workers.append(
            WorkerSpan(worker.slot, worker.proc.pid, worker.started, now, crashed)
        )
        if crashed is None:
            return
        if not worker.ready:
            self._startup_failed(worker, returncode)
            return
        self._salvage(worker, crashed, now)

    def _startup_failed(self, worker: _Worker, returncode: int) -> None:
        if self.ever_ready or self.result.interrupted:
            return
        self._kill_all()
        for other in self.workers.values():
            other.proc.wait()
        output = worker.log_path.read_text(errors="replace")
        code = returncode if returncode > 0 else ExitCode.INTERNAL_ERROR
        raise PytestError(
            f"a pytest worker could not start (exit code {returncode}); its output is above",
            exit_code=code,
            details=output,
        )

    def _salvage(self, worker: _Worker, crashed: str, now: float) -> None:
        """Fail the test that killed the worker, and hand the rest of its units to a new one."""
        if self.result.interrupted:
            return  # workers were told to stop: nothing they left behind is a failure
        tail = _tail(worker.log_path, LOG_TAIL_LINES)

        def crash(test_id: str, start: float, during: str) -> None:
            self._record(
                worker,
                TestResult(
                    id=test_id,
                    file=node_file(test_id),
                    outcome="crashed",
                    start=start,
                    stop=now,
                    worker=worker.slot,
                    longrepr=f"worker {worker.slot} {crashed} {during}.\n{tail}",
                ),
            )

        if worker.current_test is not None:
            crash(
                worker.current_test,
                worker.current_test_start,
                "while running this test; a new worker ran the rest of its unit",
            )
        for run in list(worker.assigned):
            worker.assigned.remove(run)
            if not run.collected:
                for file in run.unit.files:
                    crash(file, run.start, f"while importing {file}")
            elif run.remaining and not self.stopping:
                self.queue.appendleft(
                    dataclasses.replace(run.unit, tests=tuple(sorted(run.remaining)))
                )
        if self.queue and not self.stopping:
            self._spawn(worker.slot)


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
