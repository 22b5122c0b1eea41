"""The status line: it never promises "00:00 left" while a slow or hung test holds the run."""

from __future__ import annotations

import io

from fastci.model import UnitSpan
from fastci.report.progress import Forecast, Progress


def test_the_status_line_says_the_run_is_past_the_plan_instead_of_nothing_left() -> None:
    # The plan thought the second unit free; it is still running (slow, or hung).
    progress = Progress(total_units=2, predicted_work=4.0, jobs=1, stream=io.StringIO())
    assert "about 00:04 left" in progress.status()
    progress.unit_done(UnitSpan("a", "gw0", start=0.0, stop=4.0, tests=1, predicted=4.0))
    status = progress.status()
    assert "00:00 left" not in status
    assert status.endswith("units 1/2, 00:00 elapsed, longer than the plan predicted")


def test_the_status_line_counts_down_the_plans_whole_prediction_and_says_when_it_is_rough() -> None:
    # 2 s of tests on 2 workers, but the plan predicts 10 s: startup and imports count too.
    forecast = Forecast(wall=10.0, rough=True)
    progress = Progress(2, predicted_work=2.0, jobs=2, stream=io.StringIO(), forecast=forecast)
    assert progress.status().endswith("about 00:10 left (rough: no timings yet)")
    progress.unit_done(UnitSpan("a", "gw0", start=0.0, stop=1.0, tests=1, predicted=1.0))
    assert "about 00:05 left" in progress.status()
