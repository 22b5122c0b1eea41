"""The result bundle: what one shard (or one local run) leaves behind for a later merge.

A bundle is a directory named ``fastci-shard-K-of-N`` (``fastci-local`` without a shard);
no file in it starts with a dot, so CI artifact uploads keep every one:

- ``manifest.json``  the run: shard, plan vs actual (and the plan's digest), workers, a span
                     per unit, counts, exit code. Written last: a bundle without it is incomplete.
- ``results.jsonl``  one line per test: outcome, phases, failure text, worker.
- ``timings.jsonl``  the timings report (fastci.results.timings), for the store.
- ``junit.xml``      JUnit XML of this bundle's tests.
- ``coverage.db``    coverage.py data, when coverage was measured.
- ``logs/``          each worker's pytest output.

A bundle is built in a temporary sibling directory and renamed into place, so a killed run
never leaves a half-written bundle under the final name. ``read_bundle`` checks a bundle whole
before anything is merged from it, and names the bundle in its one-line error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from fastci.errors import ExitCode, FastciError
from fastci.files import ensure_dir
from fastci.model import TestResult, UnitSpan, WorkerSpan
from fastci.results import junit
from fastci.results.timings import Run, read_report

BUNDLE_FORMAT = 1
MANIFEST = "manifest.json"
RESULTS = "results.jsonl"
TIMINGS = "timings.jsonl"
JUNIT = "junit.xml"
COVERAGE = "coverage.db"
LOGS = "logs"
T = TypeVar("T")
# JUnit lives in fastci.results.junit; execute/run.py still imports write_junit from here.
write_junit = junit.write_junit
# The directory names fastci gives bundles, and the scratch name of one still being written.
BUNDLE_NAME = re.compile(r"fastci-(?:shard-(?P<index>\d+)-of-(?P<total>\d+)|local)")
PARTIAL_NAME = re.compile(rf"(?P<final>{BUNDLE_NAME.pattern})\.partial-\d+")


def bundle_name(shard_slug: str | None) -> str:
    return f"fastci-{shard_slug}" if shard_slug else "fastci-local"


def count_outcomes(results: Iterable[TestResult]) -> dict[str, int]:
    return dict(sorted(Counter(r.outcome for r in results).items()))


@contextlib.contextmanager
def building(final: Path) -> Iterator[Path]:
    """A scratch directory that becomes ``final`` (replacing any old bundle) on success."""
    ensure_dir(final.parent)
    scratch = final.with_name(f"{final.name}.partial-{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        yield scratch
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    old = final.with_name(f"{final.name}.old-{os.getpid()}")
    if final.exists():
        final.rename(old)
    scratch.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def write_results(path: Path, results: Iterable[TestResult]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for result in results:
            f.write(json.dumps(vars(result), separators=(",", ":")) + "\n")


def read_results(path: Path) -> list[TestResult]:
    fields = {f.name for f in dataclasses.fields(TestResult)}
    results = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            try:
                row = json.loads(line)
                results.append(TestResult(**{k: v for k, v in row.items() if k in fields}))
            except (ValueError, TypeError) as e:
                raise FastciError(f"{path}:{number}: not a fastci result line ({e})") from None
    return results


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    document = {
        "format": BUNDLE_FORMAT,
        "host": socket.gethostname(),
        "written": time.time(),
        **manifest,
    }
    path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")


# -- reading a bundle back ------------------------------------------------------------------


class BundleError(FastciError):
    """A bundle that cannot be trusted: missing files, unreadable or inconsistent content."""

    exit_code = ExitCode.RESULTS_INCOMPLETE


@dataclasses.dataclass(frozen=True)
class Bundle:
    """A bundle that passed ``read_bundle``'s checks: its manifest, typed, and its results."""

    path: Path
    shard_index: int  # 1 for a local run
    shard_total: int  # 1 for a local run
    is_shard: bool
    run_id: str
    host: str
    rootdir: str  # the checkout root on the machine that ran it
    started: float
    finished: float
    exit_code: int
    interrupted: bool
    stopped_early: str | None
    jobs: int
    predicted: float  # planned seconds for this shard
    plan_makespan: float
    plan_lower_bound: float
    plan_digest: str | None  # the same for every shard of one run (absent before format 1.1)
    startup: float | None
    planned_units: tuple[str, ...]
    units: tuple[UnitSpan, ...]
    workers: tuple[WorkerSpan, ...]
    has_coverage: bool
    coverage_fail_under: float | None  # the shard's --cov-fail-under, judged by the merge
    results: tuple[TestResult, ...]
    runs: tuple[Run, ...]  # its timings report, for the store

    @property
    def label(self) -> str:
        return f"shard {self.shard_index}/{self.shard_total}" if self.is_shard else "local run"

    @property
    def actual(self) -> float:
        return max(0.0, self.finished - self.started)

    @property
    def coverage_file(self) -> Path | None:
        return self.path / COVERAGE if self.has_coverage else None


def read_bundle(path: Path) -> Bundle:
    """Read and check one bundle; raises BundleError with one line naming it and the fault."""
    manifest = _read_manifest(path)
    results = _read_part(path, RESULTS, read_results)
    runs = _read_part(path, TIMINGS, lambda part: read_report(part, whole=True))
    try:
        bundle = _bundle_from_manifest(path, manifest, results, runs)
    except (KeyError, TypeError, ValueError) as e:
        raise BundleError(
            f"bundle {path}: {MANIFEST} is damaged ({type(e).__name__}: {e})"
        ) from None
    counts, found = manifest.get("counts"), count_outcomes(results)
    if counts != found:
        raise BundleError(
            f"bundle {path}: {RESULTS} holds {sum(found.values())} results {found} but "
            f"{MANIFEST} counts {counts}: the file was cut short or altered"
        )
    if bundle.has_coverage and not (path / COVERAGE).is_file():
        raise BundleError(
            f"bundle {path}: {MANIFEST} says coverage was measured but {COVERAGE} is missing"
        )
    return bundle


def _read_manifest(path: Path) -> dict[str, Any]:
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise BundleError(
            f"bundle {path} has no {MANIFEST}: its run did not finish writing it, or the "
            "artifact upload or download left files out"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise BundleError(f"bundle {path}: {MANIFEST} is not readable JSON ({e})") from None
    if not isinstance(manifest, dict):
        raise BundleError(f"bundle {path}: {MANIFEST} is not a JSON object")
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(
            f"bundle {path} has format {manifest.get('format')!r}, not {BUNDLE_FORMAT}: "
            "merge it with the fastci version that wrote it"
        )
    return manifest


def _read_part(path: Path, name: str, reader: Callable[[Path], list[T]]) -> list[T]:
    if not (path / name).is_file():
        raise BundleError(f"bundle {path}: {name} is missing")
    try:
        return reader(path / name)
    except (OSError, UnicodeDecodeError, FastciError) as e:
        raise BundleError(f"bundle {path}: {name} is unreadable: {e}") from None


def _bundle_from_manifest(
    path: Path, m: dict[str, Any], results: list[TestResult], runs: list[Run]
) -> Bundle:
    shard = m["shard"]
    index, total = 1, 1
    if shard is not None:
        index, total = _number(shard["index"], int), _number(shard["total"], int)
        if not 1 <= index <= total:
            raise ValueError(f"shard {index}/{total} is not K/N with 1 <= K <= N")
    named = BUNDLE_NAME.fullmatch(path.name)
    if named is not None and (named["index"] is not None) != (shard is not None):
        raise ValueError("its shard does not match the directory name")
    if (
        named is not None
        and named["index"] is not None
        and ((int(named["index"]), int(named["total"])) != (index, total))
    ):
        raise ValueError(f"it says shard {index}/{total}, unlike the directory name")
    return Bundle(
        path=path,
        shard_index=index,
        shard_total=total,
        is_shard=shard is not None,
        run_id=str(m["run_id"]),
        host=str(m.get("host", "")),
        rootdir=_text(m["rootdir"]),
        started=_number(m["started"], float),
        finished=_number(m["finished"], float),
        exit_code=_number(m["exit_code"], int),
        interrupted=bool(m["interrupted"]),
        stopped_early=None if m["stopped_early"] is None else str(m["stopped_early"]),
        jobs=_number(m["jobs"], int),
        predicted=_number(m["predicted"], float),
        plan_makespan=_number(m["plan_makespan"], float),
        plan_lower_bound=_number(m["plan_lower_bound"], float),
        plan_digest=None if m.get("plan_digest") is None else _text(m["plan_digest"]),
        startup=None if m["startup"] is None else _number(m["startup"], float),
        planned_units=tuple(_text(u) for u in m["planned_units"]),
        units=tuple(UnitSpan(**_fields_of(UnitSpan, span)) for span in m["units"]),
        workers=tuple(WorkerSpan(**_fields_of(WorkerSpan, span)) for span in m["workers"]),
        has_coverage=m["coverage"] is not None,
        coverage_fail_under=(
            None
            if m.get("coverage_fail_under") is None
            else _number(m["coverage_fail_under"], float)
        ),
        results=tuple(results),
        runs=tuple(runs),
    )


def _fields_of(cls: type, row: dict[str, Any]) -> dict[str, Any]:
    """The dataclass's fields from a JSON object: a required one absent is a KeyError."""
    values = {}
    for field in dataclasses.fields(cls):
        if field.name in row:
            values[field.name] = row[field.name]
        elif field.default is dataclasses.MISSING:
            raise KeyError(field.name)
    return values


def _number(value: object, kind: type[int] | type[float]) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    if kind is int and not isinstance(value, int):
        raise ValueError(f"expected a whole number, got {value!r}")
    return kind(value)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value
