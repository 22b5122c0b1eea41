"""The coordinator's pool of pytest workers: hands out units as workers free up, survives crashes.

Each worker is a real pytest process (so the user's plugins and conftests behave as usual)
talking to the coordinator over two pipes in typed messages (``fastci.execute.messages``).
Work is handed out one unit at a time as workers ask for it, so a slow unit never leaves
other workers idle behind a fixed split; which unit is the scheduler's choice
(``fastci.execute.scheduler``).

Nothing is lost:

- A worker that dies (``os._exit``, a segfault, the OOM killer) fails the test it was
  running with the cause, and a fresh worker takes over the rest of its units
  (``fastci.execute.crashes``). So does one that sends a line fastci cannot read.
- A worker that stops on its own (pytest's ``-x``, ``--maxfail``, ``--sw``) stops the run.
- Whatever is left unrun at the end without a reason (interrupt, stop) is reported.
- A worker is watched by its exit, not only its pipe: a process its tests left behind,
  holding the pipe open, cannot keep the run waiting; it is ended and named
  (``fastci.execute.leftovers``).
"""

from __future__ import annotations

import select
import selectors
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from fastci.errors import ExitCode
from fastci.execute import messages
from fastci.execute.collection import collection_errors, internal_error, interruption
from fastci.execute.crashes import CrashPolicy, DeadWorker, UnitRun, startup_error
from fastci.execute.deadline import Deadline
from fastci.execute.ledger import Ledger, Listener, PoolResult
from fastci.execute.leftovers import Sweeper, name_strays
from fastci.execute.process import PoolOptions, WorkerProcess, describe_exit
from fastci.execute.reruns import Reruns
from fastci.execute.scheduler import LongestFirst, Scheduler
from fastci.execute.timeouts import TimedOut, take_timeout
from fastci.execute.worker import Worker
from fastci.model import TestResult, WorkerSpan
from fastci.plan.planner import Unit

LOG_TAIL_LINES = 30
SHUTDOWN_GRACE_SECONDS = 20.0  # after Ctrl-C or SIGTERM, before the workers are killed
TICK_SECONDS = 0.2
DISCOVERING_SLOT = "gw0"  # the worker that lists the suite's files before its first unit


class Pool:
    """Runs units on ``jobs`` workers; see the module docstring.

    ``start`` launches the workers early, so their interpreters and conftests load while the
    coordinator still plans; ``run`` hands out the units; ``close`` ends whatever is left.
    """

    def __init__(self, options: PoolOptions, scheduler: Scheduler | None = None) -> None:
        self.options = options
        self.launch = options.launch()
        self.scheduler: Scheduler = scheduler or LongestFirst()
        self.crashes = CrashPolicy(options.jobs)
        self.reruns = Reruns(options.reruns)
        self.sweeper = Sweeper()
        self.ledger = Ledger()
        self.result = self.ledger.result
        self.selector = selectors.DefaultSelector()
        self.workers: dict[str, Worker] = {}
        self.started = 0.0
        self.maxfail = 0
        self.stop_on_collection_error = False  # pytest's way unless --continue-on-collection-errors
        self.dispatching = False
        self.stopping = False
        self.deadline: Deadline | None = None

    def start(self, count: int | None = None, discover_to: Path | None = None) -> None:
        """Start ``count`` workers (default: all of them) before the units are known; with
        ``discover_to``, the first lists the suite's files there (``discovered``)."""
        self.started = time.time()
        self.deadline = Deadline.after(self.options.deadline, self.started)
        self.options.log_dir.mkdir(parents=True, exist_ok=True)
        if discover_to is not None:
            self._spawn(DISCOVERING_SLOT, discover_to)
        self._grow(self.options.jobs if count is None else min(count, self.options.jobs))

    def discovered(self, discover_to: Path) -> bool:
        """Wait until the discovering worker is ready or gone: whether it wrote the files.

        Only its messages are read; its end, if it ended, is left for ``run`` to notice.
        """
        worker = self.workers.get(DISCOVERING_SLOT)
        while worker is not None and not worker.ready:
            data = worker.process.read()
            if data:
                self._feed(worker, data)
            elif data == b"" or worker.process.exit_status() is not None:
                return False
            else:
                select.select([worker.process.from_worker], [], [], TICK_SECONDS)
        return worker is not None and discover_to.is_file()

    def _grow(self, count: int) -> None:
        n = 0
        while len(self.workers) < count:
            if f"gw{n}" not in self.workers:
                self._spawn(f"gw{n}")
            n += 1

    def close(self) -> None:
        """End every worker and what it left behind (planning failed, or a worker could not
        start)."""
        self._kill_all()
        for worker in list(self.workers.values()):
            worker.process.exit_status(block=True)
            self._forget(worker)
            self.sweeper.sweep(worker.process)
        self.sweeper.hurry()
        self.sweeper.finish()
        self.selector.close()

    def run(self, units: Sequence[Unit], listener: Listener, maxfail: int = 0) -> PoolResult:
        """Run every unit (in the order given, as workers free up) and return what happened.

        ``maxfail`` stops the run after that many failures across all workers (0: never).
        """
        self.ledger.listener = listener
        self.maxfail = maxfail
        if not self.workers:
            self.start()
        self._grow(min(self.options.jobs, max(1, len(units))))  # no worker without a unit
        self.scheduler.add(units)
        self._pump(timeout=0)  # take in the "ready" messages sent while the plan was made
        self.dispatching = True
        for worker in list(self.workers.values()):
            if worker.ready:
                self._dispatch(worker)
        deadline: float | None = None
        while self.workers:
            deadline = self._step(deadline)
        for held in self.reruns.abandon():  # the run stopped before their reruns
            self.ledger.record(held.worker or "", [], held)
        self._finish_sweeping()
        self.selector.close()
        if not self.result.interrupted and self.result.stopped_early is None:
            self._report_left_over("the workers could not run it")
        return self.result

    def _step(self, deadline: float | None) -> float | None:
        """Take in what the workers sent and notice who ended; returns the kill deadline."""
        try:
            self._pump(timeout=TICK_SECONDS)
            for worker in list(self.workers.values()):  # ended, a stray holding its pipe?
                returncode = worker.process.exit_status()
                if returncode is not None:
                    self._feed(worker, worker.process.read_rest())
                    self._ended(worker, returncode)
            self.sweeper.tend()
            self.ledger.listener.tick()
            deadline = self._watch_deadline(deadline)
            if deadline is not None and time.time() > deadline:
                self._kill_all()
        except KeyboardInterrupt:
            return self._interrupt()
        return deadline

    def _interrupt(self) -> float:
        """Ctrl-C or SIGTERM: the first stops every worker; a second kills them. The deadline
        by which they are killed anyway."""
        if self.result.interrupted:
            self._kill_all()
        else:
            self.result.interrupted = True
            self._stop_all(signal.SIGINT)
        return time.time() + SHUTDOWN_GRACE_SECONDS

    def _watch_deadline(self, kill_at: float | None) -> float | None:
        """Past the run's deadline: start no more units; past its grace, stop the running."""
        if self.deadline is None:
            return kill_at
        now = time.time()
        if self.deadline.reach(now):
            self.stopping = True
            left = self.scheduler.drain()
            if left:  # else every unit had begun: the run may still end in time
                self.result.stopped_early = self.deadline.message(len(left))
            self.ledger.not_run(left, Deadline.NOT_STARTED)
        if self.deadline.halt(now) and self.workers:
            self.result.stopped_early = self.result.stopped_early or self.deadline.message(0)
            for worker in self.workers.values():
                worker.process.signal_group(signal.SIGINT)
            return now + Deadline.KILL_AFTER
        return kill_at

    def _finish_sweeping(self) -> None:
        try:
            self.sweeper.finish()
        except KeyboardInterrupt:  # no more grace for what tests left behind
            self.result.interrupted = True
            self.sweeper.hurry()
            self.sweeper.finish()

    # -- processes ----------------------------------------------------------------------

    def _spawn(self, slot: str, discover_to: Path | None = None) -> None:
        worker = Worker(WorkerProcess.spawn(slot, self.launch, discover_to))
        self.workers[slot] = worker
        self.selector.register(worker.process.from_worker, selectors.EVENT_READ, worker)

    def _pump(self, timeout: float) -> None:
        for key, _ in self.selector.select(timeout):
            worker: Worker = key.data
            data = worker.process.read()
            if data is None:
                continue
            if data:
                self._feed(worker, data)
            else:  # its pipe closed: it is ending
                self._ended(worker, worker.process.exit_status(block=True) or 0)

    def _feed(self, worker: Worker, data: bytes) -> None:
        for line in worker.reader.feed(data):
            message = self._decode(worker, line)
            if message is None:
                return
            self._handle(worker, message)

    def _decode(self, worker: Worker, line: bytes) -> messages.FromWorker | None:
        """The message, or None once the worker is broken: it sent a line that is not one."""
        if worker.broken is None:
            try:
                return messages.decode_from_worker(line)
            except messages.ProtocolError as e:
                worker.broken = f"sent a line fastci cannot read ({e}); fastci killed it"
                worker.process.signal_group(signal.SIGKILL)
        return None

    def _stop_all(self, sig: signal.Signals) -> None:
        self.stopping = True
        self.scheduler.drain()
        for worker in self.workers.values():
            worker.process.signal_group(sig)

    def _kill_all(self) -> None:
        for worker in self.workers.values():
            worker.process.signal_group(signal.SIGKILL)
        self.sweeper.hurry()

    def _stop_early(self, reason: str) -> None:
        """Run nothing more: the queue is dropped and every worker ends after its test."""
        if self.stopping:
            return
        self.result.stopped_early = reason
        self.stopping = True
        self.scheduler.drain()
        for worker in self.workers.values():
            worker.told_to_stop = True
            worker.send(messages.Abort())

    # -- messages -----------------------------------------------------------------------

    def _handle(self, worker: Worker, message: messages.FromWorker) -> None:
        self.ledger.heard(message)  # what a worker says for the report: header, warnings
        if isinstance(message, messages.TestDone):
            self._record(worker, message.result)
        elif isinstance(message, messages.Collected):
            self.ledger.collected(worker.slot, worker.assigned, message)
            if self.stop_on_collection_error and any(e.outcome == "error" for e in message.errors):
                self.result.collection_stop = interruption(collection_errors(self.result.results))
                self._stop_early(self.result.collection_stop)
        elif isinstance(message, messages.Next):
            self._dispatch(worker)
        elif isinstance(message, messages.Ready):
            worker.ready = True
            if self.result.startup is None:
                self.result.startup = time.time() - self.started
            if self.dispatching:
                self._dispatch(worker)
        elif isinstance(message, messages.Bye):
            worker.said_bye = True
            if message.aborted and not worker.told_to_stop:
                self._stop_early(
                    f"worker {worker.slot} stopped the run (pytest's -x, --maxfail or --sw)"
                )

    def _dispatch(self, worker: Worker) -> None:
        if worker.rerun_only:  # a fresh worker runs its one rerun, then ends
            unit, worker.rerun = worker.rerun, None
        else:
            unit = None if self.stopping else self.scheduler.next_for(worker.slot)
        if unit is None:
            worker.told_to_stop = True
            worker.send(messages.Stop())
            return
        worker.assigned.append(UnitRun(unit, start=time.time()))
        worker.send(messages.RunUnit(unit.id, unit.files, unit.tests, unit.exclude, unit.part))

    def _record(self, worker: Worker, result: TestResult) -> None:
        worker.last_result_at = result.stop
        final = self.reruns.take(result)
        if final is None:  # held back: the test runs again in a fresh worker
            self.ledger.settle(worker.slot, worker.assigned, result)
            return
        result = final
        self.ledger.record(worker.slot, worker.assigned, result)
        failures = self.ledger.failures
        if result.failed and self.maxfail and failures >= self.maxfail:
            self._stop_early(f"stopping after {failures} failure(s)")

    # -- a worker's end -------------------------------------------------------------------

    def _forget(self, worker: Worker) -> None:
        self.selector.unregister(worker.process.from_worker)
        worker.process.close_pipes()
        del self.workers[worker.slot]

    def _ended(self, worker: Worker, returncode: int) -> None:
        self._forget(worker)
        now = time.time()
        timeout = take_timeout(worker.process.stacks_path)  # a test ran past its timeout
        ended = timeout.cause if timeout else describe_exit(returncode)
        crashed = worker.broken or (None if worker.said_bye else ended)
        process = worker.process
        self.result.workers.append(
            WorkerSpan(worker.slot, process.pid, process.started, now, crashed)
        )
        self._sweep(worker)
        if self.deadline is not None and self.deadline.halted:  # stopped by the deadline
            self.ledger.not_run([r.unit for r in worker.assigned], Deadline.STOPPED)
            return
        if crashed is not None and not self.result.interrupted:  # not a clean end, nor asked for
            if not worker.ready and self.result.startup is None:
                self._startup_failed(worker, returncode)
            if returncode == ExitCode.INTERNAL_ERROR and self._internal_error(worker):
                return
            self._salvage(worker, crashed, now, timeout)
        self._start_rerun(worker.slot)

    def _start_rerun(self, slot: str) -> None:
        """A fresh worker in the ended one's slot: a failed test's rerun, or units yet to come."""
        if self.stopping or self.result.interrupted or slot in self.workers:
            return
        unit = self.reruns.next_unit()
        if unit is not None:
            self._spawn(slot)
            self.workers[slot].rerun = unit
            self.workers[slot].rerun_only = True
        elif not self.workers and self.crashes.restarts_left > 0 and self.scheduler.pending():
            self._spawn(slot)

    def _internal_error(self, worker: Worker) -> bool:
        """pytest's INTERNALERROR (a hook raised): the run stops as pytest's does, exit 3."""
        text = internal_error(worker.process.log_path.read_text(errors="replace"))
        if text is None:
            return False
        self.result.internal_error = self.result.internal_error or text
        self._stop_early(f"worker {worker.slot} ended with pytest's INTERNALERROR")
        return True

    def _sweep(self, worker: Worker) -> None:
        """End what the worker's tests left running, and say which test left it."""
        found = self.sweeper.sweep(worker.process)
        for line in name_strays(found, worker.process, self.result.results):
            self.result.leftovers.append(line)
            print(f"fastci: warning: {line}", file=sys.stderr)

    def _startup_failed(self, worker: Worker, returncode: int) -> None:
        """No worker ever started: pytest itself refused (bad arguments, a broken conftest)."""
        self.close()
        raise startup_error(returncode, worker.process.log_path)

    def _salvage(self, worker: Worker, crashed: str, now: float, timeout: TimedOut | None) -> None:
        """Fail the test that killed the worker, and hand the rest of its units to a new one."""
        dead = DeadWorker(
            worker.slot, crashed, worker.assigned, worker.told_to_stop,
            since=worker.last_result_at or worker.process.started, died=now,
            log_tail=worker.process.tail(LOG_TAIL_LINES), timeout=timeout,
        )  # fmt: skip
        blamed = self.crashes.blame(dead)
        if blamed is not None:
            self._record(worker, blamed)
        salvage = self.crashes.salvage(dead)
        worker.assigned.clear()
        for unit in salvage.requeue:
            self.scheduler.requeue(unit, front=True)
        for result in salvage.failed:
            self._record(worker, result)
        if not self.scheduler.pending() or self.stopping:
            return
        if timeout is not None or self.crashes.may_restart():  # a timeout costs one test
            self._spawn(worker.slot)
        elif not self.workers:
            self._report_left_over(self.crashes.gave_up())

    def _report_left_over(self, why: str) -> None:
        """Units that neither ran nor were stopped on purpose: never silently missing."""
        left = self.scheduler.drain()
        for worker in list(self.workers.values()):
            left.extend(r.unit for r in worker.assigned)
        self.ledger.not_run(left, why)
