"""Coverage with coverage.py: pytest-cov's flags, measured in each worker, combined per run.

The user asks for coverage the way they know (``--cov=src --cov-report=term-missing
--cov-fail-under=90``, on the command line or in addopts). Each worker reads those options
from its own pytest configuration as it starts, turns pytest-cov off, and measures with
coverage.py into its own data file; the coordinator, which learns the same options from
discovery, combines the files and writes the requested reports once, as if the suite had
run in one process.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
from pathlib import Path
from typing import Any

import pytest

ENV_VARIABLE = "FASTCI_COVERAGE_DATA"  # where workers write their coverage data files
TERMINAL_REPORTS = ("term", "term-missing")
SUPPORTED_REPORTS = frozenset({*TERMINAL_REPORTS, "html", "xml", "json", "lcov"})


@dataclasses.dataclass(frozen=True)
class CoverageRequest:
    source: tuple[str, ...] | None  # None: measure everything but the standard library
    branch: bool | None = None
    config_file: str | bool = True  # a path, or True for coverage.py's own search
    reports: tuple[tuple[str, str | None], ...] = (("term", None),)
    fail_under: float | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CoverageRequest:
        return cls(
            source=None if data["source"] is None else tuple(data["source"]),
            branch=data["branch"],
            config_file=data["config_file"],
            reports=tuple((t, d) for t, d in data["reports"]),
            fail_under=data["fail_under"],
        )


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
    return os.environ.get(ENV_VARIABLE) or None


def worker_env(data_dir: Path) -> dict[str, str]:
    return {ENV_VARIABLE: str(data_dir / "coverage")}


def combine(request: CoverageRequest, data_dir: Path, out_file: Path) -> bool:
    """Combine the workers' data files under ``data_dir`` into ``out_file``; False if none."""
    import coverage

    pieces = [p for p in data_dir.iterdir() if p.name.startswith("coverage.")]
    if not pieces:
        return False
    out_file.parent.mkdir(parents=True, exist_ok=True)
    cov = coverage.Coverage(data_file=str(out_file), config_file=request.config_file)
    cov.combine([str(p) for p in pieces], keep=False)
    cov.save()
    return True


def write_reports(request: CoverageRequest, data_file: Path, root: Path) -> tuple[float, str]:
    """Write the requested file reports; return the total percent and the terminal report."""
    import coverage

    cov = coverage.Coverage(data_file=str(data_file), config_file=request.config_file)
    cov.load()
    terminal = io.StringIO()
    total: float | None = None
    for kind, dest in request.reports:
        if kind in TERMINAL_REPORTS:
            total = cov.report(
                file=terminal,
                show_missing=kind == "term-missing",
                skip_covered=dest == "skip-covered",
            )
        else:
            total = _file_report(cov, kind, dest, root)
    if total is None:
        total = cov.report(file=io.StringIO())
    return total, terminal.getvalue()


def _file_report(cov: Any, kind: str, dest: str | None, root: Path) -> float:
    def where(default: str) -> str:
        return str(root / (dest or default))

    if kind == "html":
        return float(cov.html_report(directory=where("htmlcov")))
    if kind == "xml":
        return float(cov.xml_report(outfile=where("coverage.xml")))
    if kind == "json":
        return float(cov.json_report(outfile=where("coverage.json")))
    if kind == "lcov":
        return float(cov.lcov_report(outfile=where("coverage.lcov")))
    from fastci.errors import UsageError

    raise UsageError(
        f"--cov-report={kind} is not supported by fastci; use term, "
        "term-missing, html, xml, json or lcov"
    )


def misses_threshold(percent: float, fail_under: float, precision: int) -> bool:
    """As ``coverage report --fail-under``: the total as shown must reach it; 100 means 100."""
    if fail_under <= 0:
        return False
    if fail_under >= 100:
        return percent < 100
    return float(f"{percent:.{precision}f}") < fail_under


def _report_option(request: CoverageRequest, name: str) -> object:
    import coverage
    from coverage.exceptions import CoverageException

    try:
        return coverage.Coverage(config_file=request.config_file).get_option(f"report:{name}")
    except CoverageException:
        return None  # the workers met the same configuration and said so


def threshold_problem(request: CoverageRequest, total: float | None) -> str | None:
    """Why the run misses its coverage threshold (--cov-fail-under, else coverage.py's own
    [report] fail_under); None when it meets it or has none.

    No data at all misses it too: a mistyped --cov must not turn a coverage gate green.
    """
    required = request.fail_under
    if required is None:
        configured = _report_option(request, "fail_under")
        required = float(configured) if isinstance(configured, int | float) else 0.0
    if required <= 0:
        return None
    if total is None:
        return (
            f"coverage of {required:g}% is required, but no coverage data was collected "
            "(check that --cov names code the tests import)"
        )
    precision = _report_option(request, "precision")
    places = precision if isinstance(precision, int) else 0
    if misses_threshold(total, required, places):
        return f"coverage {total:.{places}f}% is under the required {required:g}%"
    return None
    if total is None:
        return (
            f"coverage of {required:g}% is required, but no coverage data was collected "
            "(check that --cov names code the tests import)"
        )
    if total < required:
        return f"coverage {total:.2f}% is under the required {required:g}%"
    return None
