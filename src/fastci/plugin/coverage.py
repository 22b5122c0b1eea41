"""Coverage inside pytest: pytest-cov's flags read, and coverage.py measuring in each worker.

Each worker reads the user's coverage options (``--cov=src --cov-report=term-missing
--cov-fail-under=90``, on the command line or in addopts) from its own pytest configuration
as it starts, turns pytest-cov off, and measures with coverage.py into its own data file;
``fastci.merge.coverage`` combines the files and judges them.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fastci.plugin.launch import COVERAGE_VARIABLE

if TYPE_CHECKING:
    from fastci.merge.coverage import CoverageRequest


def add_fallback_options(parser: pytest.Parser) -> None:
    """pytest-cov's core flags, for projects that use fastci without pytest-cov installed."""
    group = parser.getgroup("fastci-cov", "coverage (measured by fastci with coverage.py)")
    group.addoption(
        "--cov",
        action="append",
        default=[],
        nargs="?",
        const=True,
        dest="cov_source",
        metavar="SOURCE",
        help="measure this path or package",
    )
    group.addoption(
        "--cov-report",
        action="append",
        default=[],
        dest="cov_report",
        metavar="TYPE",
        help="term, term-missing, html, xml, json or lcov[:DEST]",
    )
    group.addoption("--cov-config", default=".coveragerc", dest="cov_config", metavar="PATH")
    group.addoption("--cov-branch", action="store_true", default=None, dest="cov_branch")
    group.addoption(
        "--cov-fail-under", type=float, default=None, dest="cov_fail_under", metavar="MIN"
    )
    group.addoption("--no-cov", action="store_true", default=False, dest="no_cov")


def request_from_options(
    option: argparse.Namespace, rootpath: Path, no_cov_is_ours: bool
) -> CoverageRequest | None:
    """What the user asked pytest-cov (or fastci's stand-in flags) for, or None for no coverage.

    ``option`` is pytest's parsed options, early (``known_args_namespace``) or late.
    """
    from fastci.merge.coverage import CoverageRequest

    sources = list(getattr(option, "cov_source", None) or [])
    if not sources or (getattr(option, "no_cov", False) and not no_cov_is_ours):
        return None
    raw_reports = getattr(option, "cov_report", None)
    reports: list[tuple[str, str | None]] = []
    if isinstance(raw_reports, dict):  # pytest-cov: {type: dest}
        reports = [(t, d) for t, d in raw_reports.items() if t]
    elif raw_reports:  # the stand-in: ["type[:dest]"]
        for text in raw_reports:
            kind, _, dest = str(text).partition(":")
            if kind:
                reports.append((kind, dest or None))
    elif raw_reports is None or raw_reports == []:
        reports = [("term", None)]
    config_file = getattr(option, "cov_config", ".coveragerc")
    if config_file == ".coveragerc" and not (rootpath / ".coveragerc").exists():
        config_file = True
    # pytest parses its arguments twice; an "append" option may hold each value twice.
    return CoverageRequest(
        source=None if True in sources else tuple(dict.fromkeys(str(s) for s in sources)),
        branch=getattr(option, "cov_branch", None),
        config_file=config_file,
        reports=tuple(dict.fromkeys(reports)),
        fail_under=getattr(option, "cov_fail_under", None),
    )


class WorkerCoverage:
    """Started before the worker imports conftests; saves its own data file at the end."""

    def __init__(self, request: CoverageRequest, data_file: str) -> None:
        import coverage

        self.cov = coverage.Coverage(
            data_file=data_file,
            data_suffix=True,
            source=None if request.source is None else list(request.source),
            branch=request.branch,
            config_file=request.config_file,
        )
        self.cov.start()

    def stop(self) -> None:
        self.cov.stop()
        self.cov.save()


def worker_data_file() -> str | None:
    """Where a fastci worker keeps coverage data, should its options ask for coverage."""
    return os.environ.get(COVERAGE_VARIABLE) or None
