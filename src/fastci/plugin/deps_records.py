"""Inside a worker: the open records (a test, a fixture's setup, a module's body) and, once
the tracer's contexts are read back, what each finished one ran."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from fastci.plugin.deps_trace import ContextTracer


@dataclass
class FinishedTest:
    """A test whose record is written at the next flush."""

    nodeid: str
    fixtures: list[int]  # id(FixtureDef) of each fixture it uses
    markers: list[str]


@dataclass(eq=False)
class Record:
    """One record: its tracer context, the files noted outside the tracer (imports, opened
    files, started processes) and the records that finished inside it."""

    context: str
    files: set[str] = field(default_factory=set)
    module: str | None = None  # a module body: the module's file, whose import closure it is
    fixture: int | None = None  # a fixture's setup: id(FixtureDef)
    test: FinishedTest | None = None
    children: list[Record] = field(default_factory=list)
    ran: set[str] = field(default_factory=set)


class Records:
    """The stack of open records (``stack[0]`` holds what runs between tests, never written),
    the finished ones in the order they finished, and what the resolved ones leave behind:
    each module's import closure and each fixture's setup."""

    def __init__(self, tracer: ContextTracer) -> None:
        self.tracer = tracer
        self.numbers = itertools.count()
        self.stack: list[Record] = [self.new()]
        self.finished: list[Record] = []
        self.closures: dict[str, set[str]] = {}  # module file -> what its import ran
        self.fixtures: dict[int, set[str]] = {}  # id(FixtureDef) -> what its setup ran

    def context(self) -> str:
        """A context name no record had."""
        return str(next(self.numbers))

    def new(self) -> Record:
        return Record(self.context())

    def open(self, record: Record) -> int:
        """Make ``record`` the innermost; the depth to close it at."""
        depth = len(self.stack)
        self.stack.append(record)
        self.tracer.switch(record.context)
        return depth

    def close(self, depth: int) -> None:
        """Finish every record opened at ``depth`` or deeper."""
        if len(self.stack) <= depth:
            return
        while len(self.stack) > max(depth, 1):
            record = self.stack.pop()
            self.finished.append(record)
            self.stack[-1].children.append(record)
        self.tracer.switch(self.stack[-1].context)

    def close_module(self, filename: str) -> None:
        """Finish the open record of the module body run from ``filename``, if any, and
        whatever opened inside it."""
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].module == filename:
                self.close(depth)
                return

    def between_tests(self) -> None:
        """Finish whatever is still open (a module body run outside the import system ends
        here at the latest: charging it more is safe) and start a fresh outer record."""
        self.close(1)
        self.stack[0] = self.new()
        self.tracer.switch(self.stack[0].context)

    def resolve(self) -> list[tuple[FinishedTest, set[str]]]:
        """Each finished test and the files it ran and read (before import closures are
        expanded), from the tracer's contexts; forgets the finished records."""
        contexts = self.tracer.take()
        tests = []
        for record in self.finished:  # children finish before their parents
            ran = contexts.get(record.context, set()) | record.files
            for child in record.children:
                ran |= child.ran
            if record.module is not None:
                ran = self.expand(ran)  # transitive: see expand()
                self.closures.setdefault(record.module, set()).update(ran)
            elif record.fixture is not None:
                self.fixtures.setdefault(record.fixture, set()).update(ran)
            elif record.test is not None:
                for key in record.test.fixtures:
                    ran |= self.fixtures.get(key, set())
                tests.append((record.test, ran))
            record.ran, record.children = ran, []
        self.finished = []
        return tests

    def expand(self, files: set[str]) -> set[str]:
        """``files`` with the import closure of every module among them.

        Each closure is already closed (it was expanded when its module's record was
        resolved), so a file found inside one needs no look of its own: one union per
        closure, not per file.
        """
        expanded: set[str] = set()
        for name in files:
            if name not in expanded:
                expanded.add(name)
                expanded |= self.closures.get(name, set())
        return expanded
