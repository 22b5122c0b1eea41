"""The pytest plugin: inert unless a --fastci-* option turns one of its parts on.

- ``--fastci-discover=OUT``: list the test files pytest would collect, importing none of them.
- ``--fastci-collect=OUT``: with --collect-only, write every test with its class and group.
- ``--fastci-report=OUT``: append a timings report of this run (see fastci.results.timings).
- ``--fastci-worker=IN,OUT``: run test units that fastci's coordinator sends over two pipes;
  with ``--fastci-discover`` too, the worker discovers the files first (plugin.discovery).
- ``--fastci-confirm=DIR``: run the tests DIR names after a whole collection (plugin.confirm).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from fastci.files import write_atomically
from fastci.plugin.coverage import (
    WorkerCoverage,
    add_fallback_options,
    request_from_options,
    worker_data_file,
)
from fastci.plugin.launch import ACTIVE_VARIABLE, DEPS_VARIABLE
from fastci.plugin.observe import item_record, selection_is_complete, skip_reason

_worker_coverage: list[WorkerCoverage] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fastci", "fastci (used by the fastci command)")
    group.addoption("--fastci-discover", metavar="OUT", help="write the test files to OUT")
    group.addoption("--fastci-collect", metavar="OUT", help="write the collected tests to OUT")
    group.addoption("--fastci-report", metavar="OUT", help="append a timings report to OUT")
    group.addoption("--fastci-worker", metavar="IN,OUT", help="serve fastci on these fds")
    group.addoption("--fastci-confirm", metavar="DIR", help="run only the tests DIR names")
    group.addoption(
        "--fastci-group-markers",
        metavar="NAMES",
        default="fastci_group,xdist_group",
        help="markers naming groups of tests that stay together",
    )
    group.addoption("--fastci-shard", metavar="K/N", help="label reports with this shard")
    if os.environ.get(ACTIVE_VARIABLE) and not _has_pytest_cov():
        add_fallback_options(parser)


def _has_pytest_cov() -> bool:
    return importlib.util.find_spec("pytest_cov") is not None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Start measuring before conftests import the code under test (fastci workers only):
    coverage when the options ask for it, else dependency recording when fastci asks."""
    data_file = worker_data_file()
    if data_file is None or _worker_coverage:
        return
    request = request_from_options(
        early_config.known_args_namespace, early_config.rootpath, _has_pytest_cov()
    )
    if request is not None:
        _worker_coverage.append(WorkerCoverage(request, data_file))
    elif early_config.known_args_namespace.fastci_worker and os.environ.get(DEPS_VARIABLE):
        from fastci.plugin import deps  # coverage owns sys.settrace when it runs

        deps.start(early_config.rootpath)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure() -> None:
    while _worker_coverage:
        _worker_coverage.pop().stop()
    if "fastci.plugin.deps" in sys.modules:
        sys.modules["fastci.plugin.deps"].stop()


def effective_settings(config: pytest.Config) -> dict[str, Any]:
    """The settings fastci's coordinator needs from the user's effective pytest configuration."""
    request = request_from_options(config.option, config.rootpath, _has_pytest_cov())
    cache_dir = None
    if config.pluginmanager.has_plugin("cacheprovider"):
        raw = os.path.expandvars(os.path.expanduser(str(config.getini("cache_dir"))))
        cache_dir = str(config.rootpath / raw)
    return {
        "maxfail": config.option.maxfail,
        "continue_on_collection_errors": bool(config.option.continue_on_collection_errors),
        "import_mode": str(config.option.importmode),
        "reportchars": str(getattr(config.option, "reportchars", "fE")),
        # The user's -v/-q: fastci's own pytest processes add one -q.
        "verbosity": int(config.option.verbose) + 1,
        "durations": getattr(config.option, "durations", None),
        "durations_min": getattr(config.option, "durations_min", None),
        "disable_warnings": bool(getattr(config.option, "disable_warnings", False)),
        "fold_skipped": bool(getattr(config.option, "fold_skipped", True)),
        "complete": selection_is_complete(config),
        "junitxml": config.stash.get(JUNITXML, None),
        "cache_dir": cache_dir,
        "coverage": None if request is None else request.to_json(),
    }


# The options of the pytest processes fastci starts and reads (not the user's own runs).
OWN_PROCESSES = ("fastci_discover", "fastci_collect", "fastci_worker")
# The name FileDiscovery is registered under: a worker that discovers unregisters it after.
DISCOVERY_PLUGIN = "fastci-discovery"
# The user's --junitxml, which fastci's own pytest processes leave to the coordinator.
JUNITXML = pytest.StashKey[str | None]()


@pytest.hookimpl(tryfirst=True)  # before pytest's junitxml plugin reads the option
def pytest_configure(config: pytest.Config) -> None:
    if any(config.getoption(o) for o in (*OWN_PROCESSES, "fastci_confirm")):
        # One JUnit file for the whole run, written by the coordinator: a discovery, a
        # collection or a worker writing it too would only race to overwrite it.
        xmlpath = getattr(config.option, "xmlpath", None)
        # pytest expands ~ and $VARS in it; so does fastci, before taking it over.
        config.stash[JUNITXML] = xmlpath and os.path.expanduser(os.path.expandvars(xmlpath))
        config.option.xmlpath = None
    markers = tuple(m for m in config.getoption("fastci_group_markers").split(",") if m)
    config.addinivalue_line(
        "markers", "fastci_group(name): keep tests with the same name on one fastci worker"
    )
    if config.getoption("fastci_discover"):
        discovery = FileDiscovery(Path(config.getoption("fastci_discover")))
        config.pluginmanager.register(discovery, DISCOVERY_PLUGIN)
    if config.getoption("fastci_collect"):
        config.pluginmanager.register(
            ItemCollection(Path(config.getoption("fastci_collect")), markers)
        )
    if config.getoption("fastci_confirm"):
        from fastci.plugin.confirm import Confirmation

        directory = Path(config.getoption("fastci_confirm"))
        config.pluginmanager.register(Confirmation(directory, config.rootpath))
    if config.getoption("fastci_report"):
        from fastci.plugin.observe import ReportRecorder

        config.pluginmanager.register(
            ReportRecorder(
                config,
                Path(config.getoption("fastci_report")),
                markers,
                config.getoption("fastci_shard"),
            )
        )
    if config.getoption("fastci_worker"):
        from fastci.plugin import watchdog
        from fastci.plugin.worker import WorkerLoop

        watchdog.install(config)
        _record_deps(config)

        fd_in, fd_out = (int(fd) for fd in config.getoption("fastci_worker").split(","))
        config.pluginmanager.register(WorkerLoop(config, fd_in, fd_out, markers), "fastci-worker")


def _record_deps(config: pytest.Config) -> None:
    if "fastci.plugin.deps" not in sys.modules:
        return  # not recording: loading the recorder (and coverage.py) would only cost time
    from fastci.plugin import deps

    recorder = deps.recording()
    if recorder is not None:
        config.pluginmanager.register(deps.DepsPlugin(recorder), "fastci-deps")


class DiscoveredFile(pytest.File):
    """Stands in for a test file's real collectors: records the file when pytest reaches it."""

    discovery: FileDiscovery
    found: list[pytest.Collector]  # the collectors it stands in for, none of them collected

    def collect(self) -> list[pytest.Item]:
        self.discovery.record(self)
        return []


class SkipRecorder:
    """Remembers collectors that skipped themselves (a conftest's or a module's
    ``pytest.skip(allow_module_level=True)``, ``pytest.importorskip``): they hold no items,
    yet pytest reports each as skipped, and so must fastci."""

    def __init__(self) -> None:
        self.skipped: dict[str, str] = {}  # node id -> reason

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.skipped:
            self.skipped[report.nodeid] = skip_reason(report)

    def skipped_modules(self, root: Path) -> list[str]:
        """Test files that skipped themselves at import: a worker meets them again."""
        return [n for n in self.skipped if self._is_file(root, n)]

    def skipped_outside_files(self, root: Path) -> list[list[str]]:
        """[node id, reason] of skipped directories and packages (no worker meets them)."""
        return [
            [n, why]
            for n, why in self.skipped.items()
            if "::" not in n and not self._is_file(root, n)
        ]

    @staticmethod
    def _is_file(root: Path, nodeid: str) -> bool:
        return "::" not in nodeid and (root / nodeid).is_file()


class FileDiscovery(SkipRecorder):
    """Lists the files pytest would collect, without importing any of them.

    Each file's real collectors are swapped for one stand-in that collects nothing. pytest
    still walks the tree and prunes it to the command-line arguments as usual, and only the
    stand-ins it actually reaches are recorded.
    """

    def __init__(self, out: Path) -> None:
        super().__init__()
        self.out = out
        self.files: dict[str, dict[str, Any]] = {}  # node id -> {path, size, collector}

    @pytest.hookimpl(wrapper=True)
    def pytest_collect_file(
        self, file_path: Path, parent: pytest.Collector
    ) -> Generator[None, list[pytest.Collector], list[pytest.Collector]]:
        collectors = yield
        if not collectors:
            return []
        stand_in = DiscoveredFile.from_parent(parent, path=file_path)
        stand_in.discovery = self
        stand_in.found = collectors
        return [stand_in]

    def record(self, stand_in: DiscoveredFile) -> None:
        self.files.setdefault(
            stand_in.nodeid,
            {
                "path": stand_in.nodeid,
                "size": _size(stand_in.path),
                "collector": ",".join(type(c).__name__ for c in stand_in.found),
            },
        )

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        _write_json(
            self.out,
            {
                "rootdir": str(session.config.rootpath),
                "files": [self.files[nodeid] for nodeid in sorted(self.files)],
                "skipped": self.skipped_outside_files(session.config.rootpath),
                "settings": effective_settings(session.config),
            },
        )


class ItemCollection(SkipRecorder):
    """Writes every collected item: its node id, file, outermost class, markers and group."""

    def __init__(self, out: Path, group_markers: tuple[str, ...]) -> None:
        super().__init__()
        self.out = out
        self.group_markers = group_markers
        self.deselected: list[str] = []

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected.extend(item.nodeid for item in items)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # A module skipped at import has no items but is listed, so a worker collects it
        # again and reports the skip as pytest does.
        root = session.config.rootpath
        files = {nodeid: _size(root / nodeid) for nodeid in self.skipped_modules(root)}
        items = []
        for item in session.items:
            record = item_record(item, self.group_markers)
            files.setdefault(record["file"], _size(item.path))
            items.append(record)
        _write_json(
            self.out,
            {
                "rootdir": str(session.config.rootpath),
                "files": [{"path": f, "size": s, "collector": "Module"} for f, s in files.items()],
                "items": items,
                "skipped": self.skipped_outside_files(root),
                "deselected": self.deselected,
                "settings": effective_settings(session.config),
            },
        )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _write_json(path: Path, data: object) -> None:
    write_atomically(path, json.dumps(data))
