"""The coordinator's view of one worker: its process, the units it was given, what it said."""

from __future__ import annotations

import dataclasses

from fastci.execute import messages
from fastci.execute.channel import LineReader
from fastci.execute.crashes import UnitRun
from fastci.execute.process import WorkerProcess
from fastci.plan.planner import Unit


@dataclasses.dataclass
class Worker:
    """A worker as the coordinator knows it: its process, what it was given, what it said."""

    process: WorkerProcess
    reader: LineReader = dataclasses.field(default_factory=LineReader)
    ready: bool = False
    told_to_stop: bool = False
    said_bye: bool = False
    broken: str | None = None  # why fastci killed it: a line it sent could not be read
    assigned: list[UnitRun] = dataclasses.field(default_factory=list)
    last_result_at: float = 0.0
    rerun: Unit | None = None  # a fresh worker's one unit: a failed test's rerun
    rerun_only: bool = False

    @property
    def slot(self) -> str:
        return self.process.slot

    def send(self, message: messages.ToWorker) -> None:
        self.process.send(messages.encode(message))
