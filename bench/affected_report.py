"""A pytest plugin for bench/affected.py: every test's outcome and seconds, written as JSON.

Loaded with ``-p affected_report`` (bench/ on PYTHONPATH) into plain pytest and
pytest-testmon runs alike; the file named by $FASTCI_BENCH_OUTCOMES gets
{"tests": {nodeid: [outcome, seconds]}, "errors": [collection error nodeids]}.
Tests a selector deselected send no report, so they are absent.
"""

from __future__ import annotations

import json
import os
from typing import Any

_tests: dict[str, list[Any]] = {}
_errors: list[str] = []


def pytest_runtest_logreport(report: Any) -> None:
    seen = _tests.setdefault(report.nodeid, ["passed", 0.0])
    seen[1] += report.duration
    if report.failed:
        seen[0] = "failed"
    elif report.skipped and report.when != "teardown" and seen[0] == "passed":
        seen[0] = "skipped"


def pytest_collectreport(report: Any) -> None:
    if report.failed:
        _errors.append(report.nodeid or ".")


def pytest_sessionfinish(session: Any) -> None:
    out = os.environ.get("FASTCI_BENCH_OUTCOMES")
    if out:
        with open(out, "w") as handle:
            json.dump({"tests": _tests, "errors": _errors}, handle)
