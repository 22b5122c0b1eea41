"""The result bundle: what one shard (or one local run) leaves behind for a later merge.

A bundle is a directory named ``fastci-shard-K-of-N`` (``fastci-local`` without a shard,
``fastci-queue-JOB`` for a queue runner, whose manifest names its job and the queue's units);
no file in it starts with a dot, so CI artifact uploads keep every one:

- ``manifest.json``  the run: shard, plan vs actual (and the plan's digest), workers, a span
                     per unit, counts, exit code. Written last: a bundle without it is incomplete.
- ``results.jsonl``  one line per test: outcome, phases, failure text, worker.
- ``timings.jsonl``  the timings report (fastci.results.timings), for the store.
- ``junit.xml``      JUnit XML of this bundle's tests.
- ``coverage.db``    coverage.py data, when coverage was measured.
- ``logs/``          each worker's pytest output.

A bundle is built in a scratch sibling directory and renamed into place (fastci.results.building),
so a killed run never leaves a half-written bundle under the final name, and two runs writing
the same bundle at once both succeed. ``read_bundle`` checks a bundle whole
before anything is merged from it, and names the bundle in its one-line error.
"""

from __future__ import annotations

import dataclasses
import json
import re
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from fastci.errors import ExitCode, FastciError
from fastci.model import TestResult, UnitSpan, WarningRecord, WorkerSpan
from fastci.results.building import PARTIAL_SUFFIX
from fastci.results.phases import PHASES, Phase, read_phases
from fastci.results.records import (
    ANYTHING,
    FLAG,
    LIST,
    TEXT,
    TIME,
    Kind,
    LineError,
    RecordError,
    checked,
    json_object,
    list_of,
    number_in,
    optional,
    parse_json,
    typed,
    whole,
)
from fastci.results.timings import SECONDS, TEST_KINDS, Run, read_report

BUNDLE_FORMAT = 1
MANIFEST = "manifest.json"
RESULTS = "results.jsonl"
TIMINGS = "timings.jsonl"
JUNIT = "junit.xml"
COVERAGE = "coverage.db"
LOGS = "logs"
T = TypeVar("T")
# The directory names fastci gives bundles, and the scratch name of one still being written.
BUNDLE_NAME = re.compile(r"fastci-(?:shard-(?P<index>\d+)-of-(?P<total>\d+)|local)")
PARTIAL_NAME = re.compile(rf"(?P<final>{BUNDLE_NAME.pattern}){PARTIAL_SUFFIX}")


def bundle_name(shard_slug: str | None) -> str:
    return f"fastci-{shard_slug}" if shard_slug else "fastci-local"


def count_outcomes(results: Iterable[TestResult]) -> dict[str, int]:
    """pytest's counts: an outcome per test, and an error per failed teardown."""
    return dict(sorted(Counter(v for r in results for v in r.verdicts).items()))


def write_results(path: Path, results: Iterable[TestResult]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for result in results:
            f.write(json.dumps(vars(result), separators=(",", ":")) + "\n")


def read_results(path: Path) -> list[TestResult]:
    """Every result in a results file, each line checked; LineError names the first bad one."""
    with path.open(encoding="utf-8") as f:
        return [_result(path, number, line) for number, line in enumerate(f, 1)]


def _result(path: Path, number: int, line: str) -> TestResult:
    try:
        return typed(TestResult, parse_json(line), RESULT_KINDS)
    except RecordError as e:
        raise LineError(
            f"{path}:{number}: not a fastci result line ({e})", number, str(e)
        ) from None


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
    queue_job: str | None = None  # a queue runner's job (docs/queue.md); None for a shard
    queue_units: tuple[str, ...] = ()  # every unit of the queue run's published plan
    phases: tuple[Phase, ...] = ()  # its fixed costs (absent before fastci.results.phases)
    deselected: tuple[str, ...] = ()  # ids left out by -k, -m or --deselect
    internal_error: str | None = None  # pytest's INTERNALERROR text, if a worker met one
    warnings: tuple[WarningRecord, ...] = ()  # as its workers recorded them

    @property
    def label(self) -> str:
        if self.queue_job is not None:
            return f"queue job {self.queue_job}"
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
    except RecordError as e:
        raise BundleError(f"corrupt bundle {path}: {MANIFEST}: {e}") from None
    counts, found = manifest.get("counts"), count_outcomes(results)
    if counts != found:
        raise BundleError(
            f"corrupt bundle {path}: {RESULTS} holds {sum(found.values())} results {found} but "
            f"{MANIFEST} counts {counts}: the file was cut short or altered"
        )
    if bundle.has_coverage and not (path / COVERAGE).is_file():
        raise BundleError(
            f"corrupt bundle {path}: {MANIFEST} says coverage was measured but {COVERAGE} "
            "is missing"
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
        manifest = json_object(parse_json(manifest_path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, RecordError) as e:
        raise BundleError(f"corrupt bundle {path}: {MANIFEST}: {e}") from None
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(
            f"bundle {path} has format {manifest.get('format')!r:.40}, not {BUNDLE_FORMAT}: "
            "merge it with the fastci version that wrote it"
        )
    return manifest


def _read_part(path: Path, name: str, reader: Callable[[Path], list[T]]) -> list[T]:
    if not (path / name).is_file():
        raise BundleError(f"corrupt bundle {path}: {name} is missing")
    try:
        return reader(path / name)
    except LineError as e:
        raise BundleError(f"corrupt bundle {path}: {name} line {e.line}: {e.reason}") from None
    except (OSError, UnicodeDecodeError, FastciError) as e:
        raise BundleError(f"corrupt bundle {path}: {name} is unreadable: {e}") from None


def _bundle_from_manifest(
    path: Path, m: dict[str, Any], results: list[TestResult], runs: list[Run]
) -> Bundle:
    f = checked(m, MANIFEST_KINDS, MANIFEST_OPTIONAL)
    shard = f["shard"]
    index, total = (1, 1) if shard is None else (shard["index"], shard["total"])
    named = BUNDLE_NAME.fullmatch(path.name)
    if named is not None and (named["index"] is not None) != (shard is not None):
        raise RecordError("its shard does not match the directory name")
    if (
        named is not None
        and named["index"] is not None
        and (index, total)
        != (
            int(named["index"]),
            int(named["total"]),
        )
    ):
        raise RecordError(f"it says shard {index}/{total}, unlike the directory name")
    return Bundle(
        path=path,
        shard_index=index,
        shard_total=total,
        is_shard=shard is not None,
        run_id=f["run_id"],
        host=f.get("host", ""),
        rootdir=f["rootdir"],
        started=float(f["started"]),
        finished=float(f["finished"]),
        exit_code=f["exit_code"],
        interrupted=f["interrupted"],
        stopped_early=f["stopped_early"],
        jobs=f["jobs"],
        predicted=float(f["predicted"]),
        plan_makespan=float(f["plan_makespan"]),
        plan_lower_bound=float(f["plan_lower_bound"]),
        plan_digest=f.get("plan_digest"),
        startup=None if f["startup"] is None else float(f["startup"]),
        planned_units=tuple(f["planned_units"]),
        units=_spans(UnitSpan, f["units"], UNIT_KINDS, "units"),
        workers=_spans(WorkerSpan, f["workers"], WORKER_KINDS, "workers"),
        has_coverage=f["coverage"] is not None,
        coverage_fail_under=(
            None if f.get("coverage_fail_under") is None else float(f["coverage_fail_under"])
        ),
        results=tuple(results),
        runs=tuple(runs),
        queue_job=None if f.get("queue") is None else f["queue"]["job"],
        queue_units=() if f.get("queue") is None else tuple(f["queue"]["units"]),
        phases=read_phases(f.get("phases", [])),
        deselected=tuple(f.get("deselected") or ()),
        internal_error=f.get("internal_error"),
        warnings=_spans(WarningRecord, f.get("warnings", []), WARNING_KINDS, "warnings"),
    )


def _spans(cls: type[T], rows: list[object], kinds: dict[str, Kind], name: str) -> tuple[T, ...]:
    return tuple(typed(cls, row, kinds, f"{name}[{i}].") for i, row in enumerate(rows))


def _is_shard(value: object) -> bool:
    """A manifest's shard: null, or {"index": K, "total": N} with 1 <= K <= N."""
    if value is None:
        return True
    if not isinstance(value, dict):
        return False
    index, total = value.get("index"), value.get("total")
    counts = whole(1, MAX_SHARDS).accepts
    return counts(index) and counts(total) and index <= total  # type: ignore[operator]


def _is_queue(value: object) -> bool:
    """A queue runner's manifest: its job's name and the published plan's unit ids."""
    if not isinstance(value, dict):
        return False
    units = value.get("units")
    job = value.get("job")
    return isinstance(job, str) and bool(job) and list_of(TEXT, "").accepts(units)


# What each field of each record must hold (see fastci.results.records).
MAX_SHARDS = 100_000
MANIFEST_KINDS: dict[str, Kind] = {
    "shard": Kind("null or {index: K, total: N} with 1 <= K <= N", _is_shard),
    "run_id": TEXT,
    "host": TEXT,
    "rootdir": TEXT,
    "started": TIME,
    "finished": TIME,
    "exit_code": whole(0, 255),
    "interrupted": FLAG,
    "stopped_early": optional(TEXT),
    "jobs": whole(1, 1_000_000),
    "predicted": SECONDS,
    "plan_makespan": SECONDS,
    "plan_lower_bound": SECONDS,
    "plan_digest": optional(TEXT),
    "startup": optional(SECONDS),
    "planned_units": list_of(TEXT, "strings"),
    "units": LIST,
    "workers": LIST,
    "coverage": ANYTHING,
    "coverage_fail_under": optional(number_in(0, 100, "a percentage from 0 to 100")),
    "queue": optional(Kind("{job: NAME, units: [unit ids]}", _is_queue)),
    "phases": PHASES,
    "deselected": list_of(TEXT, "strings"),
    "internal_error": optional(TEXT),
    "warnings": LIST,
}
# absent in older bundles
MANIFEST_OPTIONAL = (
    "host",
    "plan_digest",
    "coverage_fail_under",
    "queue",
    "phases",
    "deselected",
    "internal_error",
    "warnings",
)

UNIT_KINDS: dict[str, Kind] = {
    "unit": TEXT,
    "worker": TEXT,
    "start": TIME,
    "stop": TIME,
    "tests": whole(0, 1_000_000_000),
    "predicted": SECONDS,
}
WORKER_KINDS: dict[str, Kind] = {
    "worker": TEXT,
    "pid": whole(0, 2**31 - 1),
    "start": TIME,
    "stop": TIME,
    "crashed": optional(TEXT),
}
WARNING_KINDS: dict[str, Kind] = {
    **dict.fromkeys(("location", "message", "category", "filename", "nodeid", "when"), TEXT),
    "lineno": whole(0, 2**31 - 1),
}
RESULT_KINDS: dict[str, Kind] = {
    **TEST_KINDS,
    "start": TIME,
    "stop": TIME,
    "longrepr": optional(TEXT),
    "stdout": TEXT,
    "stderr": TEXT,
    "worker": optional(TEXT),
    "attempts": whole(1, 1000),
    "teardown_error": optional(TEXT),
    "teardown_node": optional(TEXT),
    "subtest_failures": list_of(TEXT, "strings"),
    "subtest_passes": list_of(TEXT, "strings"),
    "crash": optional(TEXT),
    "teardown_crash": optional(TEXT),
    "skipped_at": optional(TEXT),
}
