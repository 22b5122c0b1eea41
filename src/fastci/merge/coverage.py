"""Coverage across processes and shards: what was asked for, combining it, reports, thresholds.

The user asks for coverage the way they know (pytest-cov's ``--cov=src --cov-report=...
--cov-fail-under=90``). Workers measure with coverage.py into their own data files (the
pytest side lives in ``fastci.plugin.coverage``); this module combines them, per run and
across shards, writes the requested reports once and judges the threshold, as if the suite
had run in one process.

Shards measure their files under their own runner's checkout root (``/home/runner/work/app``
on one, ``/builds/app`` on another). Combining remaps every file measured under a piece's
root to the same relative path under this machine's project root, through coverage.py's own
``CoverageData.update(..., map_path=...)``, so the result reads like one local run. Files
measured outside a piece's root (installed packages) keep their paths.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any

from fastci.errors import FastciError, UsageError
from fastci.files import replacing
from fastci.plugin.launch import COVERAGE_VARIABLE

if TYPE_CHECKING:  # coverage.py is imported where it is used: `fastci --help` needs none of it
    import coverage

# Every report fastci writes, and where its file goes unless told (None: the terminal).
REPORT_FILES: dict[str, str | None] = {
    "term": None,
    "term-missing": None,
    "html": "htmlcov",
    "xml": "coverage.xml",
    "json": "coverage.json",
    "lcov": "coverage.lcov",
}
# Reports ``fastci merge`` writes when not told otherwise.
DEFAULT_REPORTS: tuple[tuple[str, str | None], ...] = (
    ("term", None),
    ("xml", None),
    ("html", None),
)
FULL_COVERAGE = 100.0
Reports = Sequence[tuple[str, str | None]]
# The coverage.Coverage method that writes each file report, and its destination parameter.
_FILE_REPORTS = {
    "html": ("html_report", "directory"),
    "xml": ("xml_report", "outfile"),
    "json": ("json_report", "outfile"),
    "lcov": ("lcov_report", "outfile"),
}


@dataclasses.dataclass(frozen=True)
class CoverageRequest:
    """What the user asked for: sources, branch, config file, reports and threshold."""

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


def check_report_kinds(reports: Reports) -> None:
    """Refuse a report kind fastci cannot write, before anything runs."""
    for kind, _ in reports:
        if kind not in REPORT_FILES:
            raise UsageError(
                f"--cov-report={kind} is not supported by fastci; use {', '.join(REPORT_FILES)}"
            )


def worker_env(data_dir: Path) -> dict[str, str]:
    """The environment that makes a worker measure into ``data_dir``."""
    return {COVERAGE_VARIABLE: str(data_dir / "coverage")}


def misses_threshold(percent: float, fail_under: float, precision: int) -> bool:
    """As ``coverage report --fail-under``: the total as shown must reach it; 100 means 100."""
    if fail_under <= 0:
        return False
    if fail_under >= FULL_COVERAGE:
        return percent < FULL_COVERAGE
    return float(f"{percent:.{precision}f}") < fail_under


def no_data_problem(fail_under: float | None, config_file: str | bool = True) -> str | None:
    """Why a run with no coverage data misses its threshold: a mistyped --cov must not turn a
    coverage gate green. ``fail_under`` None takes coverage.py's own [report] fail_under."""
    import coverage
    from coverage.exceptions import CoverageException

    required = fail_under
    if required is None:
        try:
            configured = coverage.Coverage(config_file=config_file).get_option("report:fail_under")
        except CoverageException:
            configured = None  # the workers met the same configuration and said so
        required = float(configured) if isinstance(configured, int | float) else 0.0
    if required <= 0:
        return None
    return (
        f"coverage of {required:g}% is required, but no coverage data was collected "
        "(check that --cov names code the tests import)"
    )


_WINDOWS_ROOT = re.compile(r"^[A-Za-z]:[\\/]|^\\\\")


@dataclasses.dataclass(frozen=True)
class CoveragePiece:
    """One bundle's coverage data and the checkout root it was measured under."""

    label: str  # names the bundle in error messages
    data_file: Path
    rootdir: str


@dataclasses.dataclass(frozen=True)
class FileCoverage:
    path: str  # relative to the project root when under it
    statements: int
    missing: int
    percent: float


@dataclasses.dataclass(frozen=True)
class CoverageSummary:
    """The combined coverage: totals, every file's numbers, and the threshold verdict."""

    percent: float
    statements: int
    missing: int
    precision: int  # decimals coverage.py shows (its [report] precision)
    files: tuple[FileCoverage, ...]
    fail_under: float  # 0: no threshold
    terminal: str  # the terminal report, as coverage.py prints it

    @property
    def shown(self) -> str:
        """The total the way coverage.py shows it."""
        return f"{self.percent:.{self.precision}f}%"

    @property
    def threshold_problem(self) -> str | None:
        """Why the total misses its threshold, or None when it meets it (or has none)."""
        if misses_threshold(self.percent, self.fail_under, self.precision):
            return f"coverage {self.shown} is under the required {self.fail_under:g}%"
        return None


def path_mapper(rootdir: str, root: Path) -> Callable[[str], str]:
    """Map a file measured under ``rootdir`` (possibly another OS's path) to it under ``root``."""
    flavour: Callable[[str], PurePath] = (
        PureWindowsPath if _WINDOWS_ROOT.match(rootdir) else PurePosixPath
    )
    measured_root = flavour(rootdir)

    def remap(path: str) -> str:
        try:
            relative = flavour(path).relative_to(measured_root)
        except ValueError:
            return path
        return str(root.joinpath(*relative.parts))

    return remap


def combine_pieces(pieces: Sequence[CoveragePiece], root: Path, out_file: Path) -> list[str]:
    """Write ``out_file`` as the union of every piece, each remapped to ``root``.

    Returns one line per piece left out because its data is unreadable or cannot be combined
    with the others (naming its bundle). The file is built beside its destination and renamed
    into place: a merge run again (or killed) never leaves stale or half-combined data.
    """
    import coverage
    from coverage.exceptions import CoverageException

    left_out: list[str] = []
    with replacing(out_file) as scratch:
        combined = coverage.CoverageData(basename=str(scratch))
        try:
            for piece in pieces:
                data = coverage.CoverageData(basename=str(piece.data_file))
                try:
                    data.read()
                    combined.update(data, map_path=path_mapper(piece.rootdir, root))
                except (CoverageException, OSError) as e:
                    left_out.append(
                        f"{piece.label}: its coverage data {piece.data_file} cannot be combined "
                        f"({_one_line(e)})"
                    )
                finally:
                    data.close()
            combined.write()
        finally:
            combined.close()
    return left_out


def summarize(
    data_file: Path, root: Path, request: CoverageRequest, out_dir: Path
) -> CoverageSummary:
    """Write the requested reports (files under ``out_dir``) and sum the data up.

    Runs in the project root, as ``coverage report`` would: the project's coverage settings
    apply and file names are shown relative to it. A request without ``fail_under`` takes the
    project's own ``[report] fail_under``.
    """
    import coverage
    from coverage.exceptions import CoverageException

    out_dir = out_dir.resolve()
    try:
        with _working_directory(root):
            cov = coverage.Coverage(
                data_file=str(data_file.resolve()), config_file=request.config_file
            )
            cov.load()
            total, terminal = _write_reports(cov, request.reports, out_dir)
            threshold = (
                cov.get_option("report:fail_under")
                if request.fail_under is None
                else request.fail_under
            )
            precision = cov.get_option("report:precision")
            summary = _json_summary(cov)
    except CoverageException as e:
        raise FastciError(
            f"coverage report failed: {_one_line(e)}; run fastci merge in a checkout of the "
            "project the shards ran"
        ) from None
    return dataclasses.replace(
        summary,
        percent=total,
        precision=int(precision if isinstance(precision, int) else 0),
        fail_under=float(threshold) if isinstance(threshold, int | float) else 0.0,
        terminal=terminal,
    )


def _json_summary(cov: coverage.Coverage) -> CoverageSummary:
    """Per-file and total numbers from coverage.py's JSON report."""
    with tempfile.TemporaryDirectory(prefix="fastci-cov-") as scratch:
        out = Path(scratch) / "coverage.json"
        cov.json_report(outfile=str(out))
        report = json.loads(out.read_text(encoding="utf-8"))
    files = tuple(
        FileCoverage(
            path=path,
            statements=int(entry["summary"]["num_statements"]),
            missing=int(entry["summary"]["missing_lines"]),
            percent=float(entry["summary"]["percent_covered"]),
        )
        for path, entry in sorted(report["files"].items())
    )
    totals = report["totals"]
    return CoverageSummary(
        percent=float(totals["percent_covered"]),
        statements=int(totals["num_statements"]),
        missing=int(totals["missing_lines"]),
        precision=0,
        files=files,
        fail_under=0.0,
        terminal="",
    )


@contextlib.contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def combine_workers(data_dir: Path, root: Path, out_file: Path) -> bool:
    """Combine one run's worker data files under ``data_dir`` into ``out_file``; False if none."""
    pieces = (
        [
            CoveragePiece(f"worker data {p.name}", p, str(root))
            for p in sorted(data_dir.glob("coverage.*"))
        ]
        if data_dir.is_dir()
        else []
    )
    if not pieces:
        return False
    left_out = combine_pieces(pieces, root, out_file)
    if left_out:
        raise FastciError("; ".join(left_out))
    return True


def _write_reports(cov: coverage.Coverage, reports: Reports, out_dir: Path) -> tuple[float, str]:
    """Write the requested reports; return the total percent and the terminal report."""
    terminal = io.StringIO()
    total: float | None = None
    for kind, dest in reports:
        default = REPORT_FILES.get(kind)
        if kind in ("term", "term-missing"):
            total = cov.report(
                file=terminal,
                show_missing=kind == "term-missing",
                skip_covered=dest == "skip-covered",
            )
            continue
        check_report_kinds([(kind, dest)])
        where = str(out_dir / (dest or str(default)))
        method, parameter = _FILE_REPORTS[kind]
        total = float(getattr(cov, method)(**{parameter: where}))
    if total is None:
        total = cov.report(file=io.StringIO())
    return total, terminal.getvalue()
