"""A run's fixed costs, phase by phase: where start-up and wrap-up time went, as a bundle keeps it.

Start-up runs from the process's start (the interpreter, fastci's imports, reading the
options) to the first test; wrap-up from the last test's end to the run's results being
written. The bundle's manifest keeps them under ``phases``, in the order they happened, and
``fastci merge`` and ``fastci report --html`` show them per shard.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from fastci.errors import UsageError
from fastci.files import write_atomically
from fastci.model import UnitSpan
from fastci.results.records import NAME, Kind, one_of, typed
from fastci.results.timings import SECONDS

STARTUP, TESTS, WRAPUP = "start-up", "tests", "wrap-up"
PARTS = (STARTUP, TESTS, WRAPUP)


@dataclasses.dataclass(frozen=True)
class Phase:
    name: str
    part: str  # one of PARTS
    seconds: float


PHASE_KINDS: dict[str, Kind] = {"name": NAME, "part": one_of(PARTS), "seconds": SECONDS}
PHASES = Kind(
    "a list of {name, part, seconds}",
    lambda v: isinstance(v, list) and all(isinstance(p, dict) for p in v),
)


class PhaseClock:
    """Times the phases of one run as they happen."""

    def __init__(self) -> None:
        self.phases: list[Phase] = []

    def add(self, name: str, part: str, seconds: float) -> None:
        self.phases.append(Phase(name, part, max(0.0, seconds)))

    @contextmanager
    def phase(self, name: str, part: str = STARTUP) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, part, time.perf_counter() - started)

    def to_json(self) -> list[dict[str, object]]:
        return [dataclasses.asdict(p) for p in self.phases]


def add_test_phases(
    clock: PhaseClock, planned: float, returned: float, units: Sequence[UnitSpan]
) -> None:
    """The phases around the tests, from when the plan was ready until the pool returned:
    waiting for a worker to start the first unit, the tests, and the workers' end."""
    if not units:
        return
    first = min(u.start for u in units)
    last = max(u.stop for u in units)
    clock.add("waiting for the first test", STARTUP, first - planned)
    clock.add("tests", TESTS, last - first)
    clock.add("workers finishing", WRAPUP, returned - last)


def read_phases(rows: list[object]) -> tuple[Phase, ...]:
    """The phases of a manifest, each field checked (a RecordError names a bad one)."""
    return tuple(typed(Phase, row, PHASE_KINDS, f"phases[{i}].") for i, row in enumerate(rows))


def amend_phases(manifest: Path, clock: PhaseClock) -> None:
    """Put the phases into a written bundle's manifest: the last ones end after the bundle.

    Another run writing the same bundle may have replaced it meanwhile (its manifest is then
    missing for an instant, or its own): the phases are left out rather than the run failing.
    """
    try:
        document = json.loads(manifest.read_text(encoding="utf-8"))
        document["phases"] = clock.to_json()
        write_atomically(manifest, json.dumps(document, indent=1, sort_keys=True) + "\n")
    except (OSError, ValueError, UsageError):
        return


def process_started() -> float | None:
    """When this process started (epoch seconds, to the kernel's 10 ms), or None off Linux."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        ticks = os.sysconf("SC_CLK_TCK")
        since_boot = int(fields[19]) / ticks  # field 22 of stat: starttime, in clock ticks
    except (OSError, ValueError, IndexError):
        return None
    return time.time() - uptime + since_boot
