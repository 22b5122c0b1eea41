"""A test over its time limit: what the worker's watchdog left behind, made into the test's failure.

The worker's watchdog (``fastci.plugin.watchdog``) dumps every thread's stack into the
worker's stacks file and ends the worker; the pool then takes the crash path (the rest of
the unit goes to a fresh worker), and this module turns the crash of the running test into
a failure that says it timed out and where each thread was.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

from fastci.model import TestResult
from fastci.plugin.launch import STACKS_HEADER_BYTES


@dataclasses.dataclass(frozen=True)
class TimedOut:
    limit: float  # seconds
    stacks: str  # faulthandler's dump of every thread

    @property
    def cause(self) -> str:
        return f"was stopped: its test exceeded its timeout of {self.limit:g} s"


def stacks_path(log_path: Path) -> Path:
    """Where a worker whose output goes to ``log_path`` dumps its stacks."""
    return log_path.with_suffix(".stacks")


def take_timeout(path: Path) -> TimedOut | None:
    """The timeout a dead worker's watchdog recorded, if it fired; the file is removed."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    with contextlib.suppress(OSError):
        path.unlink()
    stacks = data[STACKS_HEADER_BYTES:].decode(errors="replace").strip()
    if not stacks:
        return None  # armed, perhaps, but it never fired
    try:
        limit = float(data[:STACKS_HEADER_BYTES].strip())
    except ValueError:
        return None
    return TimedOut(limit, stacks)


def timed_out(crashed: TestResult, timeout: TimedOut) -> TestResult:
    """The crash of the test that was running, told as what it was: a failed, timed-out test."""
    return dataclasses.replace(
        crashed,
        outcome="failed",
        call=crashed.stop - crashed.start,  # so the plan learns how long it held its worker
        longrepr=(
            f"Timeout: test exceeded {timeout.limit:g} s\n\n{timeout.stacks}\n\n"
            f"(fastci stopped worker {crashed.worker}; a new worker ran the rest of its unit)"
        ),
    )
