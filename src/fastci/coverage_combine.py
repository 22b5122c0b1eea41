"""One coverage data file from every shard's, measured in different checkouts, and its reports.

Each shard measured its files under its own runner's checkout root (``/home/runner/work/app``
on one, ``/builds/app`` on another). Combining remaps every file measured under a bundle's
root to the same relative path under this machine's project root, through coverage.py's own
``CoverageData.update(..., map_path=...)``, so the result reads like one local run. Files
measured outside a bundle's root (installed packages) keep their paths.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

import coverage
from coverage.exceptions import CoverageException

from fastci.coverage import CoverageRequest, misses_threshold, write_reports
from fastci.errors import FastciError

# Reports ``fastci merge`` writes when not told otherwise.
DEFAULT_REPORTS: tuple[tuple[str, str | None], ...] = (
    ("term", None),
    ("xml", None),
    ("html", None),
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
    def under_threshold(self) -> bool:
        return misses_threshold(self.percent, self.fail_under, self.precision)


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
    out_file.parent.mkdir(parents=True, exist_ok=True)
    scratch = out_file.with_name(f"{out_file.name}.{os.getpid()}.tmp")
    scratch.unlink(missing_ok=True)
    combined = coverage.CoverageData(basename=str(scratch))
    left_out = []
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
        combined.close()
        os.replace(scratch, out_file)
    finally:
        combined.close()
        scratch.unlink(missing_ok=True)
    return left_out


def summarize(
    data_file: Path,
    root: Path,
    reports: Sequence[tuple[str, str | None]],
    out_dir: Path,
    fail_under: float | None,
) -> CoverageSummary:
    """Write the requested reports (files under ``out_dir``) and sum the data up.

    Runs in the project root, as ``coverage report`` would: the project's coverage settings
    apply and file names are shown relative to it. ``fail_under`` None takes the project's own
    ``[report] fail_under``.
    """
    out_dir = out_dir.resolve()
    request = CoverageRequest(source=None, reports=tuple(reports))
    try:
        with _working_directory(root):
            total, terminal = write_reports(request, data_file.resolve(), out_dir)
            cov = coverage.Coverage(data_file=str(data_file.resolve()), config_file=True)
            cov.load()
            threshold = cov.get_option("report:fail_under") if fail_under is None else fail_under
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
