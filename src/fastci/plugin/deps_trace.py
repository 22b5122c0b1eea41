"""Inside a worker: coverage.py's C tracer notes which project files ran, one context a record.

fastci affected needs, per record (a test, a fixture's setup, a module's body), the project
files whose code ran. coverage.py's tracer is written in C, so a call costs no Python frame
(a Python ``sys.settrace`` function made recording 3x slower on call-heavy suites). Only the
project root is measured, without branches, and never a virtualenv inside it; each record
is a dynamic context, and the files each context ran are read back in batches, after which
the data is erased, so memory stays flat over a long worker.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import coverage


class ContextTracer:
    """Which project files ran under each named context."""

    def __init__(self, root: Path) -> None:
        self.coverage = coverage.Coverage(
            data_file=None,  # in memory: nothing is written beside the project
            config_file=False,  # the user's [tool.coverage] settings are for their own runs
            branch=False,
            include=[str(root / "*")],
            omit=[str(root / "**" / "site-packages" / "**")],
        )
        self.tracer: object = None
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

    def switch(self, context: str) -> None:
        self.busy = True
        try:
            self.coverage.switch_context(context)
        finally:
            self.busy = False

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

    def take(self) -> dict[str, set[str]]:
        """The files each context ran since the last take (absolute paths); forgets them."""
        self.busy = True
        try:
            data = self.coverage.get_data()
            ran: defaultdict[str, set[str]] = defaultdict(set)
            for filename in data.measured_files():
                for context in set().union(*data.contexts_by_lineno(filename).values()):
                    ran[context].add(filename)
            data.erase()
        finally:
            self.busy = False
        return ran

    def stop(self) -> None:
        self.coverage.stop()
