"""Discovery inside the first worker: the suite's files listed by a pytest that then runs tests.

A separate discovery process is a whole pytest start (interpreter, plugins, conftest files)
on the path to the first test, beside workers that pay the same start. Instead the first
worker walks the tree with the stand-ins of ``FileDiscovery`` (no test module imported),
writes the same JSON, and keeps the real collectors behind each stand-in: conftest fixtures
belong to the directory node that first collected their directory, so the worker's own
collection must start from those collectors, whose parents are the walk's nodes.

Only a clean walk counts: on any error the JSON is removed, the session is put back as it
was, and the coordinator discovers in a process of its own, which reports the error as
pytest does.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from fastci.plugin.hooks import DISCOVERY_PLUGIN, DiscoveredFile, FileDiscovery

# Each discovered file (resolved path) and the collectors it stood in for.
FoundFiles = dict[Path, list[pytest.Collector]]


class _StandIns:
    """Every stand-in the walk reached: its file, and the real collectors behind it."""

    def __init__(self) -> None:
        self.found: FoundFiles = {}

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        for child in report.result if report.passed else ():
            if isinstance(child, DiscoveredFile):
                self.found.setdefault(child.path.resolve(), child.found)


def discover_in_worker(session: pytest.Session) -> FoundFiles | None:
    """Discover in this session if asked (``--fastci-discover``): the files found, each with
    the collectors the worker's collection reuses; None when not asked or the walk failed."""
    manager = session.config.pluginmanager
    discovery = manager.get_plugin(DISCOVERY_PLUGIN)
    if not isinstance(discovery, FileDiscovery):
        return None
    reports = _StandIns()
    manager.register(reports)
    before = dict(vars(session))  # what perform_collect changes: items, counts, initial paths
    try:
        session.perform_collect()
        clean = not session.testsfailed  # the session counts failed collection reports too
    except Exception:  # any failure: the coordinator discovers on its own
        clean = False
    finally:
        manager.unregister(discovery)
        manager.unregister(reports)
        vars(session).update(before)
    if not clean:
        with contextlib.suppress(OSError):
            discovery.out.unlink()
        return None
    return reports.found
