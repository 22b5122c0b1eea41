"""A run's deadline: no unit starts once it has passed, and running ones stop a grace later.

The deadline counts from the run's start. When it passes, the units not yet started are
reported as not run (the run ends with exit code 7); the units running then may finish for
``GRACE_SECONDS``, after which their workers are stopped as on SIGTERM (SIGINT to each
worker's process group) and killed ``KILL_AFTER_SECONDS`` later. The bundle is written as
for any run, so pick the deadline as the CI job's own limit minus the time to upload it
and minus those two allowances.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

GRACE_SECONDS = 10.0
KILL_AFTER_SECONDS = 5.0


@dataclasses.dataclass
class Deadline:
    seconds: float  # as the user gave it
    at: float  # the time it passes
    reached: bool = False
    halted: bool = False  # the running units' grace is over too

    KILL_AFTER: ClassVar[float] = KILL_AFTER_SECONDS
    NOT_STARTED: ClassVar[str] = "the run's deadline passed before it started"
    STOPPED: ClassVar[str] = "the run's deadline passed while it ran"

    @classmethod
    def after(cls, seconds: float, start: float) -> Deadline | None:
        return cls(seconds, start + seconds) if seconds > 0 else None

    def reach(self, now: float) -> bool:
        """Whether the deadline passes now (True once)."""
        if self.reached or now < self.at:
            return False
        self.reached = True
        return True

    def halt(self, now: float) -> bool:
        """Whether the running units' grace ends now (True once)."""
        if not self.reached or self.halted or now < self.at + GRACE_SECONDS:
            return False
        self.halted = True
        return True

    def message(self, not_started: int) -> str:
        return (
            f"the run's deadline of {self.seconds:g} s was reached; "
            f"{not_started} unit{'s' if not_started != 1 else ''} did not start"
        )
