"""Turning pytest's per-phase reports and items into fastci's per-test records."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from fastci.model import TestResult, node_file
from fastci.plugin.imports import ImportClock
from fastci.results.timings import FileRecord, ReportWriter, RunHeader

MAX_OUTPUT_CHARS = 64_000
SKIP_LONGREPR_PARTS = 3  # pytest describes a skip as (path, line, message)
# Outcomes in increasing order of precedence when a test's phases disagree.
_PRECEDENCE = ("passed", "skipped", "xfailed", "xpassed", "error", "failed", "crashed")


def item_group(item: pytest.Item, group_markers: tuple[str, ...]) -> str | None:
    """The group an item belongs to: the first argument (or name=) of a group marker."""
    for name in group_markers:
        marker = item.get_closest_marker(name)
        if marker is not None:
            value = marker.args[0] if marker.args else marker.kwargs.get("name")
            if value is not None:
                return f"{name}:{value}"
    return None


def item_record(item: pytest.Item, group_markers: tuple[str, ...]) -> dict[str, Any]:
    classes = [node.name for node in item.listchain() if isinstance(node, pytest.Class)]
    file = node_file(item.nodeid)
    return {
        "id": item.nodeid,
        "file": file,
        "cls": f"{file}::{classes[0]}" if classes else None,
        "markers": sorted({m.name for m in item.iter_markers()}),
        "group": item_group(item, group_markers),
    }


class PhaseRecorder:
    """Folds each test's setup/call/teardown reports into one TestResult."""

    def __init__(self, worker: str | None = None) -> None:
        self.worker = worker
        self.count_subtest_passes = False  # pytest counts them only when asked to (-v)
        self.started_in = Path.cwd()  # where pytest started: skip places are relative to it
        self._open: dict[str, TestResult] = {}

    def start(self, nodeid: str, group: str | None = None) -> None:
        self._open[nodeid] = TestResult(
            id=nodeid,
            file=node_file(nodeid),
            start=time.time(),
            group=group,
            worker=self.worker,
        )

    def add(self, report: pytest.TestReport) -> None:
        result = self._open.get(report.nodeid)
        if result is None:
            self.start(report.nodeid)
            result = self._open[report.nodeid]
        if report.when in ("setup", "call", "teardown"):
            setattr(result, report.when, getattr(result, report.when) + report.duration)
        if hasattr(report, "context"):  # a subtest's report: counted apart, as pytest does
            if report.failed:
                result.subtest_failures.append(f"{subtest_label(report)}\n{report.longreprtext}")
            elif report.passed and self.count_subtest_passes:
                result.subtest_passes.append(subtest_label(report))
            return
        if report.when == "teardown" and report.failed:  # counted apart, as pytest does
            result.teardown_error = report.longreprtext
            result.teardown_crash = crash_message(report)
            _keep_output(result, report)
            return
        outcome = _phase_outcome(report)
        if _PRECEDENCE.index(outcome) > _PRECEDENCE.index(result.outcome):
            result.outcome = outcome
        if report.failed:
            text = report.longreprtext
            result.longrepr = text if result.longrepr is None else f"{result.longrepr}\n{text}"
            result.crash = result.crash or crash_message(report)
            _keep_output(result, report)
        elif (report.skipped or outcome == "xpassed") and result.longrepr is None:
            result.longrepr = skip_reason(report)  # an xpass keeps its reason, as pytest's
            result.skipped_at = skip_place(report, self.started_in)

    def finish(self, nodeid: str) -> TestResult | None:
        result = self._open.pop(nodeid, None)
        if result is not None:
            result.stop = time.time()
        return result


def subtest_label(report: pytest.TestReport) -> str:
    """How pytest names a subtest after its test: "[msg] (k=v, ...)"."""
    context = getattr(report, "context", None)
    msg, kwargs = getattr(context, "msg", None), getattr(context, "kwargs", None) or {}
    parts = [f"[{msg}]"] if msg is not None else []
    if kwargs:
        parts.append("(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")")
    return " ".join(parts) or "(<subtest>)"


def _keep_output(result: TestResult, report: pytest.TestReport) -> None:
    result.stdout = report.capstdout[-MAX_OUTPUT_CHARS:]
    result.stderr = report.capstderr[-MAX_OUTPUT_CHARS:]


def _phase_outcome(report: pytest.TestReport) -> str:
    if str(report.outcome) == "rerun":  # pytest-rerunfailures: a later attempt decides
        return "passed"
    xfail = hasattr(report, "wasxfail")
    if report.skipped:
        return "xfailed" if xfail else "skipped"
    if report.failed:
        return "failed" if report.when == "call" else "error"
    return "xpassed" if xfail and report.when == "call" else "passed"


def crash_message(report: pytest.TestReport) -> str | None:
    """pytest's message of the exception that failed a phase, as its short summary shows it."""
    message = getattr(getattr(report.longrepr, "reprcrash", None), "message", None)
    return message if isinstance(message, str) else None


def skip_place(report: pytest.TestReport, start: Path) -> str | None:
    """Where a skip happened as pytest's folded short summary names it: "path:line", or the
    path alone for a skip marker that is not a module's ``pytestmark``."""
    longrepr = report.longrepr
    if hasattr(report, "wasxfail") or not isinstance(longrepr, tuple):
        return None
    if len(longrepr) != SKIP_LONGREPR_PARTS:
        return None
    path = os.path.relpath(os.path.abspath(str(longrepr[0])), start)
    keywords = report.keywords
    if report.when == "setup" and "skip" in keywords and "pytestmark" not in keywords:
        return path
    return f"{path}:{longrepr[1]}"


def skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    """Why it was skipped (or the xfail reason), without the report's file and line."""
    if hasattr(report, "wasxfail"):
        return f"xfail: {report.wasxfail}"
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == SKIP_LONGREPR_PARTS:
        return str(longrepr[2]).removeprefix("Skipped: ")  # as pytest shows it
    return report.longreprtext


def selection_is_complete(config: pytest.Config) -> bool:
    """True when this run selects the whole suite, so it tells which tests each file holds."""
    option = config.option
    narrowed = (
        getattr(option, "keyword", "")
        or getattr(option, "markexpr", "")
        or getattr(option, "lf", False)
        or getattr(option, "deselect", None)
        or getattr(option, "maxfail", 0)
        or any("::" in arg for arg in config.args)
    )
    return not narrowed


class TestObserver:
    """The hooks shared by everything that watches tests run; subclasses say what to keep."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, group_markers: tuple[str, ...], worker: str | None = None) -> None:
        self.group_markers = group_markers
        self.phases = PhaseRecorder(worker=worker)

    def test_started(self, nodeid: str) -> None:
        """Called just before a test's setup."""

    def test_finished(self, result: TestResult) -> None:
        """Called once a test's teardown has been reported."""

    def file_collected(self, file: str, seconds: float) -> None:
        """Called after a test file was imported and collected."""

    def file_imported(self, file: str, packages: dict[str, float]) -> None:
        """Called, before ``file_collected``, with the own seconds of each top-level package
        the file was first to import."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> None:
        self.test_started(item.nodeid)
        self.phases.start(item.nodeid, item_group(item, self.group_markers))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.phases.add(report)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        result = self.phases.finish(nodeid)
        if result is not None:
            self.test_finished(result)

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        if not isinstance(collector, pytest.File):
            return (yield)
        origin = str(collector.path)
        started = time.perf_counter()
        with ImportClock(skip=lambda path: path == origin) as clock:
            report = yield
        seconds = time.perf_counter() - started
        if clock.seconds:
            self.file_imported(collector.nodeid, clock.seconds)
        self.file_collected(collector.nodeid, seconds)
        return report


class ReportRecorder(TestObserver):
    """``--fastci-report``: appends this pytest run's timings to a report file."""

    def __init__(
        self, config: pytest.Config, out: Path, group_markers: tuple[str, ...], shard: str | None
    ) -> None:
        super().__init__(group_markers)
        self.packages: dict[str, dict[str, float]] = {}
        self.writer = ReportWriter(
            out,
            RunHeader(
                report_id=uuid.uuid4().hex,
                run_id=uuid.uuid4().hex,
                started=time.time(),
                complete=selection_is_complete(config),
                shard=shard,
                rootdir=str(config.rootpath),
            ),
        )

    def test_finished(self, result: TestResult) -> None:
        self.writer.test(result.timing())

    def file_imported(self, file: str, packages: dict[str, float]) -> None:
        self.packages[file] = packages

    def file_collected(self, file: str, seconds: float) -> None:
        self.writer.file(FileRecord(file, seconds, self.packages.pop(file, None)))

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        interrupted = exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR)
        self.writer.end(complete=not interrupted and not session.shouldstop)
        self.writer.close()
