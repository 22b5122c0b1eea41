"""Inside a worker: coverage.py's C tracer tells which project code ran since the last look:
each file's functions whose bodies ran, and whether its module-level code did
(fastci.affected.units), or the whole file when it cannot be split into functions.

fastci affected needs, per record (a test, a fixture's setup, a module's body), the project
files whose code ran. coverage.py's tracer is written in C, so a call costs no Python code
(a Python ``sys.settrace`` function made recording 3.3x slower on SymPy's tests, this 1.75x,
the tracer's own cost on Python 3.11 being 1.6x). Only the
project root is measured, without branches, and never a virtualenv inside it. The records
read the data at each of their boundaries, turn each file's lines into its units' keys, and
erase it: that is cheaper than one dynamic context per record, whose lines must be
decoded to tell contexts apart, and memory stays flat over a long worker.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import coverage

from fastci.affected.units import SKELETON, line_units, parse, unit_key


class FileTracer:
    """Which project files ran since the last look."""

    def __init__(self, root: Path) -> None:
        self.coverage = coverage.Coverage(
            data_file=None,  # in memory: nothing is written beside the project
            config_file=False,  # the user's [tool.coverage] settings are for their own runs
            branch=False,
            include=[str(root / "*")],
            omit=[str(root / "**" / "site-packages" / "**")],
        )
        # A record that ran no project code is no news: never a warning in the test's report.
        self.coverage.set_option("run:disable_warnings", ["no-data-collected"])
        self.tracer: object = None
        self.units: dict[str, dict[int, str] | None] = {}  # file -> line -> unit (None: whole)
        self.busy = False  # coverage.py's own work (its in-memory SQLite) is not the test's

    def start(self, unseen: Callable[[], None]) -> None:
        """Start tracing; ``unseen`` is called when another coverage.py measurement starts
        in this process (a test measuring code itself): it pauses this one until it stops,
        so what runs meanwhile is not seen."""
        original = coverage.Coverage.start
        ours = self.coverage

        def start(measurement: coverage.Coverage) -> None:
            if measurement is not ours:
                unseen()
            original(measurement)

        setattr(coverage.Coverage, "start", start)  # noqa: B010 (mypy forbids assigning a method)
        self.coverage.start()
        self.tracer = sys.gettrace()

    def armed(self) -> bool:
        """Whether the tracer still runs on this thread (another tool, or CPython after an
        error inside it, can unset it)."""
        return sys.gettrace() is self.tracer

    def arm(self) -> None:
        """Start the tracer again if it was unset."""
        if not self.armed():
            self.coverage.stop()
            self.coverage.start()
            self.tracer = sys.gettrace()

    def take(self) -> set[str]:
        """The keys of the code that ran since the last take (absolute paths); forgets it."""
        self.busy = True
        try:
            data = self.coverage.get_data()
            keys: set[str] = set()
            for filename in data.measured_files():
                keys |= self.keys(filename, data.lines(filename) or ())
            if keys:
                data.erase()
        finally:
            self.busy = False
        return keys

    def keys(self, filename: str, lines: Iterable[int]) -> set[str]:
        if filename not in self.units:
            self.units[filename] = _line_units(filename)
        units = self.units[filename]
        if units is None:
            return {filename}
        return {unit_key(filename, units.get(line, SKELETON)) for line in lines}

    def stop(self) -> None:
        self.coverage.stop()


def _line_units(filename: str) -> dict[int, str] | None:
    try:
        with open(filename, "rb") as f:
            tree = parse(f.read())
    except OSError:
        return None
    return None if tree is None else line_units(tree)
