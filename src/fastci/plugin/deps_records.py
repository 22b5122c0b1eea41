"""Inside a worker: the open records (a test, a fixture's setup, a module's body) and what
the finished ones leave behind: each module's import closure and each fixture's setup."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastci.affected.units import SEPARATOR, SKELETON, unit_key
from fastci.plugin.deps_trace import FileTracer

_NONE: frozenset[str] = frozenset()


@dataclass(eq=False)
class Record:
    """One record: the files it ran and read so far."""

    files: set[str] = field(default_factory=set)  # dependency keys (fastci.affected.units)
    module: str | None = None  # a module body: its skeleton key, whose import closure it is
    fixture: int | None = None  # a fixture's setup: id(FixtureDef)


class Records:
    """The stack of open records; ``stack[0]`` holds what runs between tests, never written.

    What the tracer saw since the last change of the stack belongs to the innermost record,
    so the tracer is read at every change; a finished record's files go into the record
    around it, as what ran inside it.
    """

    def __init__(self, tracer: FileTracer) -> None:
        self.tracer = tracer
        self.stack: list[Record] = [Record()]
        self.closures: dict[str, set[str]] = {}  # skeleton key -> what its import ran
        self.fixtures: dict[int, set[str]] = {}  # id(FixtureDef) -> what its setup ran

    def traced(self) -> None:
        """Give what the tracer saw since the last look to the innermost record."""
        self.stack[-1].files |= self.tracer.take()

    def open(self, record: Record) -> int:
        """Make ``record`` the innermost; the depth to close it at."""
        self.traced()
        depth = len(self.stack)
        self.stack.append(record)
        return depth

    def close(self, depth: int) -> None:
        """Finish every record opened at ``depth`` or deeper (never the outermost)."""
        if len(self.stack) <= max(depth, 1):
            return
        self.traced()
        while len(self.stack) > max(depth, 1):
            self.finish(self.stack.pop())

    def finish(self, record: Record) -> set[str]:
        """Keep what a finished record ran, give it to the one around it, and return it."""
        ran = record.files
        if record.module is not None:
            ran = self.expand(ran)  # transitive: see expand()
            self.closures.setdefault(record.module, set()).update(ran)
        elif record.fixture is not None:
            self.fixtures.setdefault(record.fixture, set()).update(ran)
        self.stack[-1].files |= ran
        return ran

    def close_module(self, filename: str) -> None:
        """Finish the open record of the module body run from ``filename``, if any, and
        whatever opened inside it."""
        key = unit_key(filename, SKELETON)
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].module == key:
                self.close(depth)
                return

    def between_tests(self) -> None:
        """Finish whatever is still open (a module body run outside importlib's loader ends
        here at the latest: charging it more is safe) and start a fresh outer record."""
        self.close(1)
        self.traced()
        self.stack[0] = Record()

    def expand(self, files: set[str]) -> set[str]:
        """``files`` with the import closure of every module among them (a function of a
        module stands for the module too).

        Each closure is already closed (it was expanded when its module's body ended), so a
        key found inside one needs no look of its own: one union per closure, not per key.
        """
        expanded: set[str] = set()
        for name in files:
            if name not in expanded:
                expanded.add(name)
                expanded |= self.closures.get(name, _NONE)
                cut = name.rfind(SEPARATOR)
                if cut >= 0 and cut + len(SEPARATOR) < len(name):
                    expanded |= self.closures.get(name[: cut + len(SEPARATOR)], _NONE)
        return expanded
