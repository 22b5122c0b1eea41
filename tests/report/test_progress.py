"""The status line: it never promises "00:00 left" while a slow or hung test holds the run."""

from __future__ import annotations

import io

from fastci.model import UnitSpan
from fastci.report.progress import Progress


def test_the_status_line_says_the_run_is_past_the_plan_instead_of_nothing_left() -> None:
    # The plan thought the second unit free; it is still running (slow, or hung).
    progress = Progress(total_units=2, predicted_work=4.0, jobs=1, stream=io.StringIO())
    assert "about 00:04 left" in progress.status()
    progress.unit_done(UnitSpan("a", "gw0", start=0.0, stop=4.0, tests=1, predicted=4.0))
    status = progress.status()
    assert "00:00 left" not in status
    assert status.endswith("units 1/2, 00:00 elapsed, longer than the plan predicted")
