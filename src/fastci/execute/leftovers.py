"""Processes a worker's tests left behind: found in its process group, named, then ended.

When a worker ends, whatever is still running in its process group (a forked child, a
server a test started and never stopped) is asked to end (SIGTERM) and killed (SIGKILL)
after a short grace. The worker stays unreaped until then, so its group id stays its own.
On Linux each leftover is named, with the test during which it started; elsewhere the
group is killed at once, unnamed.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

from fastci.execute.process import WorkerProcess
from fastci.model import TestResult

LEFTOVER_GRACE_SECONDS = 2.0
REAP_GIVE_UP_SECONDS = 5.0  # after the SIGKILL: a process stuck in the kernel is left be
PROC = Path("/proc")
_STATE, _PGRP, _STARTTIME = 0, 2, 19  # fields of /proc/PID/stat after the command name


@dataclasses.dataclass(frozen=True)
class Stray:
    pid: int
    name: str
    started: float  # wall-clock time


def strays(group: int) -> list[Stray] | None:
    """The live processes of a process group but its leader; None where this cannot be told."""
    if not (PROC / "self" / "stat").exists():
        return None
    boot = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
    ticks = os.sysconf("SC_CLK_TCK")
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == group:
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue  # it ended meanwhile
        name = text[text.find("(") + 1 : text.rfind(")")]
        fields = text[text.rfind(")") + 2 :].split()
        if int(fields[_PGRP]) == group and fields[_STATE] != "Z":
            started = boot + int(fields[_STARTTIME]) / ticks
            found.append(Stray(int(entry.name), name, started))
    return found


def culprit(stray: Stray, results: Iterable[TestResult]) -> str | None:
    """The test during which a stray started, if one did."""
    tolerance = 0.05  # the kernel counts start times in clock ticks
    for result in results:
        if result.start - tolerance <= stray.started <= result.stop + tolerance:
            return result.id
    return None


@dataclasses.dataclass
class _Grave:
    worker: WorkerProcess
    deadline: float
    killed: bool = False


class Sweeper:
    """Ended workers, kept unreaped until what they left behind is gone."""

    def __init__(self, grace: float = LEFTOVER_GRACE_SECONDS) -> None:
        self.grace = grace
        self.graves: list[_Grave] = []

    def sweep(self, worker: WorkerProcess) -> list[Stray]:
        """Take an ended worker: its leftovers are asked to end; returns them."""
        found = strays(worker.pid)
        if found is None:
            worker.signal_group(signal.SIGKILL)  # cannot tell who is left: end whoever is
            worker.reap()
            return []
        if not found:
            worker.reap()
            return []
        worker.signal_group(signal.SIGTERM)
        self.graves.append(_Grave(worker, time.monotonic() + self.grace))
        return found

    def tend(self) -> None:
        """Reap workers whose groups are clean; kill what outlived its grace."""
        now = time.monotonic()
        for grave in list(self.graves):
            if not strays(grave.worker.pid) or now > grave.deadline + REAP_GIVE_UP_SECONDS:
                grave.worker.reap()
                self.graves.remove(grave)
            elif now > grave.deadline and not grave.killed:
                grave.worker.signal_group(signal.SIGKILL)
                grave.killed = True

    def hurry(self) -> None:
        """No more grace: kill every leftover now (a second Ctrl-C, a failed start)."""
        for grave in self.graves:
            grave.deadline = min(grave.deadline, time.monotonic())

    def finish(self) -> None:
        """Wait for every grave to be clean, killing what outlives its grace."""
        while self.graves:
            self.tend()
            if self.graves:
                time.sleep(0.05)


def name_strays(
    found: Iterable[Stray], worker: WorkerProcess, results: Iterable[TestResult]
) -> list[str]:
    """A line per stray: which of the worker's tests (by start time) left it running."""
    ran = [r for r in results if r.worker == worker.slot and r.start >= worker.started]
    lines = []
    for stray in found:
        test = culprit(stray, ran)
        lines.append(
            f"{f'test {test}' if test else 'a test'} on worker {worker.slot} left process "
            f"{stray.pid} ({stray.name}) running; fastci ended it"
        )
    return lines
