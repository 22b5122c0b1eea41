"""Live progress while tests run: a status line on a terminal, a line every 30 s in CI logs."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple, TextIO

from fastci.model import TestResult, UnitSpan
from fastci.report.terminal import DEFAULT_TERMINAL, TerminalOptions, verbose_lines

REDRAW_SECONDS = 0.25
PLAIN_LINE_SECONDS = 30.0


def use_color(stream: TextIO) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def paint(text: str, color: str, enabled: bool) -> str:
    codes = {"red": "31", "green": "32", "yellow": "33", "bold": "1"}
    return f"\x1b[{codes[color]}m{text}\x1b[0m" if enabled else text


def clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


class Forecast(NamedTuple):
    """The plan's prediction of the whole run (fastci.plan.costs), and whether it is a guess
    from the files' contents (nothing timed yet)."""

    wall: float | None
    rough: bool


class Progress:
    """Counts results as they arrive and shows them; prints each failure as it happens."""

    def __init__(  # noqa: PLR0913 -- the pool's three (a ListenerFactory), then what to show
        self,
        total_units: int,
        predicted_work: float,
        jobs: int,
        stream: TextIO | None = None,
        *,
        terminal: TerminalOptions = DEFAULT_TERMINAL,
        total_tests: int = 0,  # 0: unknown, and -v lines show no percentage
        header: Callable[[], Sequence[str]] = tuple,  # pytest's, once a worker sent it
        forecast: Forecast | None = None,
    ) -> None:
        # sys.stderr as it is now, not as it was at import (a test's capture may replace it).
        self.stream = stream = stream or sys.stderr
        self.terminal = terminal
        self.total_tests = total_tests
        self.header = header
        self._header_shown = False
        self.wall = forecast.wall if forecast else None
        self.rough = forecast.rough if forecast else False
        self.interactive = stream.isatty()
        self.color = use_color(stream)
        self.total_units = total_units
        self.predicted_work = predicted_work
        self.jobs = max(1, jobs)
        self.started = time.time()
        self.tests = 0
        self.failed = 0
        self.units_done = 0
        self.predicted_done = 0.0
        self.actual_done = 0.0
        self._last_draw = 0.0
        self._status_shown = False

    def show_header(self) -> None:
        """pytest's session header, then fastci's own line about the plan, once, on stdout."""
        if self._header_shown or self.terminal.verbosity < 0:
            return
        lines = self.header()
        if not lines:
            return
        self._header_shown = True
        jobs = f"{self.jobs} worker{'s' * (self.jobs != 1)}"
        units = f"{self.total_units} unit{'s' * (self.total_units != 1)}"
        plan = f"fastci: {units} on {jobs}, {self.predicted_work:.2f}s of tests predicted"
        self._print("\n".join([*lines, plan, ""]), sys.stdout)

    def test_done(self, result: TestResult) -> None:
        self.show_header()
        self.tests += 1
        self.failed += result.failed
        if self.terminal.verbosity > 0:  # pytest's -v line, on stdout as pytest prints it
            lines = verbose_lines(result, self.tests, self.total_tests, self.terminal)
            self._print("\n".join(lines), sys.stdout)
        elif result.failed:
            self._print(paint(f"{result.outcome.upper()} {result.id}", "red", self.color))

    def unit_done(self, span: UnitSpan) -> None:
        self.units_done += 1
        self.predicted_done += span.predicted
        self.actual_done += span.stop - span.start

    def eta(self) -> float:
        """Seconds left: the predicted work not yet done, corrected by how the plan fared so far."""
        remaining = max(0.0, self.predicted_work - self.predicted_done) / self.jobs
        if self.wall is not None and self.predicted_work > 0:  # fixed costs and imports too
            remaining = self.wall * remaining * self.jobs / self.predicted_work
        if self.predicted_done > 0:
            remaining *= min(3.0, max(0.3, self.actual_done / self.predicted_done))
        return remaining

    def status(self) -> str:
        elapsed = time.time() - self.started
        failed = f", {self.failed} failed" if self.failed else ""
        eta = self.eta()
        # Past the plan's prediction (a test slower than ever, or hung), say so, not "00:00 left".
        left = f"about {clock(eta)} left" if eta >= 1 else "longer than the plan predicted"
        left += " (rough: no timings yet)" if self.rough else ""
        return (
            f"fastci: {self.tests} tests done{failed}, units {self.units_done}/{self.total_units}, "
            f"{clock(elapsed)} elapsed, {left}"
        )

    def tick(self) -> None:
        now = time.time()
        if self.interactive and now - self._last_draw >= REDRAW_SECONDS:
            self.stream.write("\r\x1b[K" + self.status())
            self.stream.flush()
            self._status_shown = True
            self._last_draw = now
        elif not self.interactive and now - self._last_draw >= PLAIN_LINE_SECONDS:
            if self._last_draw:
                self.stream.write(self.status() + "\n")
                self.stream.flush()
            self._last_draw = now

    def _print(self, line: str, out: TextIO | None = None) -> None:
        if self._status_shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._status_shown = False
        out = out or self.stream
        out.write(line + "\n")
        out.flush()

    def close(self) -> None:
        self.show_header()
        if self._status_shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._status_shown = False
