"""Inside pytest: run only the named tests, alone or after collecting the whole suite.

``--fastci-confirm=DIR`` reads ``DIR/tests.json`` (``{"tests": [node ids], "alone": bool}``).
Alone, only the named tests' files are collected (every other test file is ignored), so
nothing but their own imports ran; otherwise every test module the arguments name is
collected, and so imported, as in a plain pytest run. Every other test is deselected, and
each named test's outcome (``passed``, ``failed`` or ``skipped``) goes to
``DIR/outcomes.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fastci.files import write_atomically
from fastci.model import node_file


class Confirmation:
    """Keeps the named tests, and what became of each."""

    def __init__(self, directory: Path, rootpath: Path) -> None:
        self.directory = directory
        asked = json.loads((directory / "tests.json").read_text(encoding="utf-8"))
        self.wanted = set(asked["tests"])
        files = {node_file(test) for test in self.wanted}
        self.only = {(rootpath / f).resolve() for f in files} if asked["alone"] else None
        self.outcomes: dict[str, str] = {}

    def pytest_ignore_collect(self, collection_path: Path) -> bool | None:
        if self.only is None or not collection_path.is_file():
            return None
        return collection_path.resolve() not in self.only or None

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        kept = [item for item in items if item.nodeid in self.wanted]
        dropped = [item for item in items if item.nodeid not in self.wanted]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = kept

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.outcomes[report.nodeid] = "failed"
        elif report.skipped and report.when != "teardown":
            self.outcomes.setdefault(report.nodeid, "skipped")
        elif report.when == "call" and report.passed:
            self.outcomes.setdefault(report.nodeid, "passed")

    def pytest_sessionfinish(self) -> None:
        text = json.dumps(self.outcomes, sort_keys=True)
        write_atomically(self.directory / "outcomes.json", text)
