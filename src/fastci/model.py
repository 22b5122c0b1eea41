"""What every stage speaks of: a test's result, and when units and workers ran.

Plain data with no behaviour beyond reading itself, so that results, merge and reports can
share it without depending on the executor or on pytest.
"""

from __future__ import annotations

import dataclasses
import zlib

from fastci.results.timings import TestRecord

# Outcomes that fail a test by themselves (a flaky test fails a run only when not allowed).
FAILING_OUTCOMES = ("failed", "error", "crashed")


@dataclasses.dataclass
class TestResult:
    """What happened to one test: the timings record plus what a person needs to read."""

    __test__ = False  # not a pytest test class, whatever its name

    id: str
    file: str
    outcome: str = "passed"
    setup: float = 0.0
    call: float = 0.0
    teardown: float = 0.0
    start: float = 0.0
    stop: float = 0.0
    group: str | None = None
    longrepr: str | None = None
    stdout: str = ""
    stderr: str = ""
    worker: str | None = None
    attempts: int = 1  # runs it took, with --reruns: each rerun in a fresh worker
    # A teardown that raised: pytest reports it as an error of its own, beside the outcome
    # of the test's setup and call (a test can be "passed" and have a teardown error).
    teardown_error: str | None = None
    # The collectors (session, package, module, class) whose teardown raised teardown_error,
    # when the test's own fixtures did not: every worker that set them up tears them down, so
    # the same (teardown_node, teardown_error) may come from several; reported once.
    teardown_node: str | None = None
    # Failed subtests (pytest's subtests fixture, unittest's subTest), each "LABEL\nTEXT":
    # pytest counts each as a failure of its own, beside the test's outcome.
    subtest_failures: list[str] = dataclasses.field(default_factory=list)
    # Labels of passed subtests, kept only when pytest counts them (subtest verbosity, -v).
    subtest_passes: list[str] = dataclasses.field(default_factory=list)
    # pytest's one-line crash messages (the short summary's "FAILED id - MESSAGE"): of the
    # phase that decided the outcome, and of a failed teardown.
    crash: str | None = None
    teardown_crash: str | None = None
    # Where a skip happened, as pytest folds skips in its short summary: "path:line", or
    # "path" for a skip marker; None for anything but a skip (or when not known).
    skipped_at: str | None = None

    def timing(self) -> TestRecord:
        return TestRecord(
            id=self.id,
            file=self.file,
            setup=self.setup,
            call=self.call,
            teardown=self.teardown,
            outcome=self.outcome,
            group=self.group,
        )

    @property
    def failed(self) -> bool:
        return (
            self.outcome in FAILING_OUTCOMES
            or self.teardown_error is not None
            or bool(self.subtest_failures)
        )

    @property
    def verdicts(self) -> tuple[str, ...]:
        """What pytest counts for this test: its outcome, "failed" for each failed subtest,
        and "error" for a failed teardown."""
        errors = ("error",) if self.teardown_error is not None else ()
        passes = ["subtests passed"] * len(self.subtest_passes)
        return (self.outcome, *["failed"] * len(self.subtest_failures), *passes, *errors)

    def subtests(self) -> list[tuple[str, str]]:
        """Each failed subtest as (its label, its failure text)."""
        return [
            (label, text) for label, _, text in (s.partition("\n") for s in self.subtest_failures)
        ]

    @property
    def is_test(self) -> bool:
        """A test's result, not a whole file's or directory's (an import error, a skip)."""
        return "::" in self.id


@dataclasses.dataclass(frozen=True)
class WarningRecord:
    """A warning pytest recorded, as its warnings summary shows it."""

    location: str  # the test's node id, or "path:line" for one raised while collecting
    message: str  # pytest's text of it: "path:line: Category: message" and the source line
    category: str
    filename: str
    lineno: int
    nodeid: str  # "" when no test was running (collection, configuration)
    when: str  # "config", "collect" or "runtest"


NOT_RUN = "<not run>"  # the test part of a file's entry when its unit never ran


def not_run_id(file: str) -> str:
    """The id of the entry that stands for a file whose unit never ran."""
    return f"{file}::{NOT_RUN}"


def is_not_run(result: TestResult) -> bool:
    return result.id == not_run_id(result.file)


def in_part(nodeid: str, part: tuple[int, int]) -> bool:
    """Whether a test is in part ``index`` of ``count`` of its file's tests, by a stable hash
    of its node id: every process agrees on it without seeing the other parts' tests."""
    index, count = part
    return zlib.crc32(nodeid.encode()) % count == index


def node_file(nodeid: str) -> str:
    """The file part of a node id: what pytest collected the test from."""
    return nodeid.split("::", 1)[0]


@dataclasses.dataclass(frozen=True)
class UnitSpan:
    """When a unit ran on which worker: a bar on the timeline."""

    unit: str
    worker: str
    start: float
    stop: float
    tests: int
    predicted: float


@dataclasses.dataclass(frozen=True)
class WorkerSpan:
    """One worker process's life: a row on the timeline."""

    worker: str
    pid: int
    start: float
    stop: float
    crashed: str | None = None  # why the process died, if it did
