"""The worker side: a pytest session that collects and runs the units the coordinator sends.

The worker skips pytest's own collection (the first worker may discover the suite's files
instead: fastci.plugin.discovery). For each unit it collects only that unit's files,
runs the unit's tests, and asks for more work while its last test is still held back: that
test runs once the next unit is known, so fixtures shared across units (session, package)
are torn down only when the worker has nothing left to do.

Directories are collected once per worker and their collector nodes reused by every later
unit: conftest fixtures belong to the directory node that first collected them, so a fresh
collection per unit would lose them.
"""

from __future__ import annotations

import os
import signal
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from fastci.execute.channel import WorkerChannel
from fastci.execute.messages import (
    Abort,
    Bye,
    Collected,
    CollectError,
    Next,
    Ready,
    RunUnit,
    Stop,
    TestDone,
    Warned,
)
from fastci.model import TestResult, in_part
from fastci.plugin.discovery import FoundFiles, discover_in_worker
from fastci.plugin.header import session_header
from fastci.plugin.observe import TestObserver, skip_reason
from fastci.plugin.ordering import SEED_VARIABLE, shuffled
from fastci.plugin.teardown_scope import TeardownScope
from fastci.plugin.warned import collection_warnings, warning_record


class WorkerLoop(TestObserver):
    """Registered by the plugin under ``--fastci-worker=IN,OUT``."""

    def __init__(
        self, config: pytest.Config, fd_in: int, fd_out: int, group_markers: tuple[str, ...]
    ) -> None:
        super().__init__(group_markers, worker=os.environ.get("FASTCI_WORKER_ID"))
        self.config = config
        self.phases.count_subtest_passes = _subtests_verbose(config)
        # Not inherited by processes the tests start: a daemon left behind must not keep the
        # coordinator waiting for this pipe to close.
        os.set_inheritable(fd_in, False)
        os.set_inheritable(fd_out, False)
        # The coordinator stops workers with SIGINT; a parent that ignored it (nohup, a
        # background job) must not make them deaf to it.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        self.channel = WorkerChannel(fd_in, fd_out)
        self.tree: CollectionTree | None = None
        self.collect_seconds: dict[str, float] = {}
        self.collect_imports: dict[str, dict[str, float]] = {}
        self.collect_errors: list[CollectError] = []
        self.deselected: list[str] = []
        self.aborted = False
        self.teardown_scope = TeardownScope()
        config.pluginmanager.register(self.teardown_scope, "fastci-teardown-scope")

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # After every plugin's pytest_configure, so none mistakes this for a real xdist worker.
        _look_like_an_xdist_worker(session.config)

    # -- collection, one unit at a time ---------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> bool:
        self.tree = CollectionTree(session, self.collect_errors, discover_in_worker(session))
        return True  # no tests up front: each unit is collected when it arrives

    def file_collected(self, file: str, seconds: float) -> None:
        self.collect_seconds[file] = seconds

    def file_imported(self, file: str, packages: dict[str, float]) -> None:
        self.collect_imports[file] = packages

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # A module that fails to import is an error; one that skips itself at import
        # (pytest.importorskip, allow_module_level) is a skip, counted as pytest counts it.
        if report.failed:
            self.collect_errors.append(CollectError(report.nodeid, "error", report.longreprtext))
        elif report.skipped:
            self.collect_errors.append(CollectError(report.nodeid, "skipped", skip_reason(report)))

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected.extend(item.nodeid for item in items)

    def _collect(self, session: pytest.Session, unit: RunUnit) -> list[pytest.Item]:
        self.collect_seconds.clear()
        self.collect_imports = {}
        self.collect_errors.clear()
        self.deselected.clear()
        started = time.time()
        if self.tree is None:
            raise RuntimeError("fastci: a unit arrived before pytest_collection made the tree")
        items: list[pytest.Item] = []
        collected_by_pytest: list[pytest.Item] = []  # already through modifyitems
        config = session.config
        with collection_warnings(config):  # as pytest's pytest_collection records them
            for file in unit.files:
                found = self.tree.items_of(file)
                if found is None:
                    collected_by_pytest.extend(self.tree.collect_as_argument(file))
                else:
                    items.extend(found)
            config.hook.pytest_collection_modifyitems(session=session, config=config, items=items)
        items.extend(collected_by_pytest)
        if unit.tests is not None:
            chosen = set(unit.tests)
            items = [i for i in items if i.nodeid in chosen]
        excluded = set(unit.exclude)
        items = [i for i in items if i.nodeid not in excluded]
        if unit.part is not None:
            part = unit.part
            items = [i for i in items if in_part(i.nodeid, part)]
        seed = os.environ.get(SEED_VARIABLE)
        if seed is not None:  # --random-order: the same seed, the same order, anywhere
            items = shuffled(items, int(seed), unit.id, lambda i: i.nodeid)
        session.items.extend(items)
        self.channel.send(Collected(
            unit=unit.id,
            tests=tuple(i.nodeid for i in items),
            errors=tuple(self.collect_errors),
            deselected=tuple(self.deselected),
            files=dict(self.collect_seconds),
            start=started,
            stop=time.time(),
            imports=self.collect_imports,
        ))  # fmt: skip
        return items

    # -- running ----------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        self.channel.send(Ready(header=session_header(session)))
        held: pytest.Item | None = None
        while not self.aborted:
            message = self.channel.receive()
            if message is None or isinstance(message, Stop):
                break
            if isinstance(message, Abort):
                self.aborted = True
                break
            held = self._run_unit(session, message, held)
        if held is not None and not self.aborted:
            self._run(session, held, nextitem=None)
        self.channel.send(Bye(aborted=self.aborted))
        return True

    def _run_unit(
        self, session: pytest.Session, unit: RunUnit, held: pytest.Item | None
    ) -> pytest.Item | None:
        """Run the unit's tests but the last, held back until the next unit is known."""
        for item in self._collect(session, unit):
            if held is not None and self._run(session, held, nextitem=item):
                return None
            held = item
        self.channel.send(Next())
        return held

    def _run(
        self, session: pytest.Session, item: pytest.Item, nextitem: pytest.Item | None
    ) -> bool:
        """Run one test; whether the run must stop now (the coordinator or pytest said so)."""
        item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
        if isinstance(self.channel.poll(), Abort) or session.shouldfail or session.shouldstop:
            self.aborted = True
        return self.aborted

    def test_finished(self, result: TestResult) -> None:
        shared = self.teardown_scope.take(result.id)
        if result.teardown_error is not None:
            result.teardown_node = shared
        self.channel.send(TestDone(result))

    def pytest_warning_recorded(
        self, warning_message: warnings.WarningMessage, when: str, nodeid: str
    ) -> None:
        invoked_in = self.config.invocation_params.dir
        self.channel.send(Warned(warning_record(warning_message, when, nodeid, invoked_in)))


def _subtests_verbose(config: pytest.Config) -> bool:
    """Whether the user's pytest would count passed subtests: its subtests verbosity is not 0.

    That is ``verbosity_subtests`` when set, else the global verbosity, which in a worker is
    one lower than the user's: fastci starts workers with ``-q``.
    """
    kind = getattr(config, "VERBOSITY_SUBTESTS", None)
    if kind is None:  # a pytest without built-in subtests
        return False
    try:
        level = str(config.getini(f"verbosity_{kind}"))
    except ValueError:  # no such ini option
        level = "auto"
    return (config.get_verbosity() + 1 if level == "auto" else int(level)) != 0


def _look_like_an_xdist_worker(config: Any) -> None:
    """Give tests that isolate per worker (worker_id, pytest-django's db names) a worker id."""
    worker_id = os.environ.get("PYTEST_XDIST_WORKER")
    if worker_id and not hasattr(config, "workerinput"):
        config.workerinput = {
            "workerid": worker_id,
            "workercount": int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")),
            "testrunuid": os.environ.get("PYTEST_XDIST_TESTRUNUID", ""),
        }
        config.workeroutput = {}


class CollectionTree:
    """Collects single files on demand, reusing each directory's collector node."""

    def __init__(
        self, session: pytest.Session, errors: list[CollectError], found: FoundFiles | None = None
    ) -> None:
        """``found``: files this worker's discovery reached, with their collectors."""
        self.session = session
        self.errors = errors
        self.rootpath = session.config.rootpath
        self._root: pytest.Collector | None = None
        self._children: dict[pytest.Collector, list[pytest.Item | pytest.Collector]] = {}
        self._found: FoundFiles = found or {}

    def items_of(self, file: str) -> list[pytest.Item] | None:
        """The items of one file (by node id path), or None when the tree cannot reach it.

        Collection errors go to ``errors``.
        """
        nodes = self._file_nodes((self.rootpath / file).resolve())
        if not nodes:
            return None
        items: list[pytest.Item] = []
        for node in nodes:
            items.extend(self._items(node))
        return items

    def collect_as_argument(self, file: str) -> list[pytest.Item]:
        """pytest's own collection of one file, as if given on the command line.

        For files the tree cannot reach: outside the rootdir, or collected only because the
        user named them (a name python_files does not match). A named file inside the rootdir
        is collected under the tree's own directory node, which holds its conftest fixtures.
        """
        path = (self.rootpath / file).resolve()
        named = self._named_file(path)
        if named:
            return [item for node in named for item in self._items(node)]
        try:
            found = self.session.perform_collect([str(path)])
        except pytest.UsageError as e:
            self.errors.append(CollectError(file, "error", str(e)))
            return []
        return list(found)

    def _named_file(self, path: Path) -> list[pytest.Collector]:
        """The collectors of a file as pytest makes them for one named on its command line:
        an initial path, which python_files does not filter."""
        session: Any = self.session
        initial = getattr(session, "_initialpaths", None)
        parent = next(iter(self._file_nodes(path.parent)), None)
        if not isinstance(initial, frozenset) or not isinstance(parent, pytest.Directory):
            return []
        session._initialpaths = initial | {path}
        try:
            found = parent.ihook.pytest_collect_file(file_path=path, parent=parent)
        finally:
            session._initialpaths = initial
        return [node for node in found if isinstance(node, pytest.Collector)]

    def _file_nodes(self, path: Path) -> list[pytest.Item | pytest.Collector]:
        if path in self._found:  # under the discovery's directory nodes, with their fixtures
            return list(self._found[path])
        try:
            parts = path.relative_to(self.rootpath).parts
        except ValueError:
            return []
        level: list[pytest.Item | pytest.Collector] = [self._root_node()]
        here = self.rootpath
        for part in parts:
            here = here / part
            level = [
                child
                for node in level
                if isinstance(node, pytest.Collector)
                for child in self._collect(node)
                if child.path == here
            ]
            if not level:
                return []
        return level

    def _root_node(self) -> pytest.Collector:
        if self._root is None:
            ihook = self.session.gethookproxy(self.rootpath.parent)
            node = ihook.pytest_collect_directory(path=self.rootpath, parent=self.session)
            if node is None:
                raise RuntimeError(f"fastci: no collector for the rootdir {self.rootpath}")
            self._root = node
        return self._root

    def _collect(self, node: pytest.Collector) -> list[pytest.Item | pytest.Collector]:
        cached = self._children.get(node)
        if cached is None:
            report = node.ihook.pytest_make_collect_report(collector=node)
            node.ihook.pytest_collectreport(report=report)
            cached = list(report.result) if report.passed else []
            self._children[node] = cached
        return cached

    def _items(self, node: pytest.Item | pytest.Collector) -> list[pytest.Item]:
        if isinstance(node, pytest.Item):
            node.ihook.pytest_itemcollected(item=node)
            return [node]
        return [item for child in self._collect(node) for item in self._items(child)]
