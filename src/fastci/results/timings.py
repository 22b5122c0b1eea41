"""The timings report: JSON lines written as tests run, one file per shard, read back by the store.

A report is a sequence of runs. Each run starts with a ``run`` line and is followed by
its ``test`` and ``file`` lines::

    {"type": "run", "format": 1, "report_id": "…", "run_id": "…", "shard": "2/4",
     "started": 1764000000.0, "complete": true, "startup": 0.41, "rootdir": "/src/app"}
    {"type": "test", "id": "tests/test_a.py::test_x", "file": "tests/test_a.py",
     "setup": 0.001, "call": 0.52, "teardown": 0.0, "outcome": "passed", "group": null}
    {"type": "file", "file": "tests/test_a.py", "collect": 0.12}

A run ends with ``{"type": "end", "complete": true}``. A run is complete only when its
header and its end line both say so: it selected the whole suite (no ``-k``, ``-m``, node
ids, ``-x``…) and finished. An incomplete run's per-test durations still count, but it says
nothing about which tests a file holds. A report cut short (a killed writer: a
half-written last line, a run with no end line) keeps what came before, with a warning;
in a result bundle, which fastci writes whole, it is damage.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from fastci.errors import UsageError

FORMAT_VERSION = 1
OUTCOMES = ("passed", "failed", "skipped", "error", "xfailed", "xpassed", "crashed")


@dataclasses.dataclass(frozen=True)
class RunHeader:
    report_id: str
    run_id: str
    started: float
    complete: bool
    shard: str | None = None
    startup: float | None = None
    rootdir: str | None = None


@dataclasses.dataclass(frozen=True)
class TestRecord:
    """One test's durations and outcome in one run."""

    __test__ = False  # not a pytest test class, whatever its name

    id: str
    file: str
    setup: float
    call: float
    teardown: float
    outcome: str
    group: str | None = None

    @property
    def duration(self) -> float:
        return self.setup + self.call + self.teardown


@dataclasses.dataclass(frozen=True)
class FileRecord:
    file: str
    collect: float


@dataclasses.dataclass
class Run:
    header: RunHeader
    tests: dict[str, TestRecord] = dataclasses.field(default_factory=dict)
    files: dict[str, FileRecord] = dataclasses.field(default_factory=dict)


def new_report_id() -> str:
    return uuid.uuid4().hex


class ReportWriter:
    """Appends one run to a report file, a line at a time, flushed so a crash loses little."""

    def __init__(self, path: Path, header: RunHeader) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: IO[str] = path.open("a", encoding="utf-8")
        self._write({"type": "run", "format": FORMAT_VERSION, **dataclasses.asdict(header)})

    def test(self, record: TestRecord) -> None:
        self._write({"type": "test", **vars(record)})  # flat: vars is much cheaper than asdict

    def file(self, record: FileRecord) -> None:
        self._write({"type": "file", **dataclasses.asdict(record)})

    def end(self, complete: bool) -> None:
        self._write({"type": "end", "complete": complete})

    def _write(self, row: dict[str, Any]) -> None:
        self._file.write(_line(row))
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()


def _line(row: dict[str, Any]) -> str:
    return json.dumps(row, separators=(",", ":")) + "\n"


def export_runs(runs: Iterable[Run], stream: IO[str]) -> None:
    """Write runs as one report: what ``fastci timings export`` produces and import reads."""
    for run in runs:
        stream.write(
            _line({"type": "run", "format": FORMAT_VERSION, **dataclasses.asdict(run.header)})
        )
        for _, test in sorted(run.tests.items()):
            stream.write(_line({"type": "test", **vars(test)}))
        for _, file in sorted(run.files.items()):
            stream.write(_line({"type": "file", **dataclasses.asdict(file)}))
        stream.write(_line({"type": "end", "complete": run.header.complete}))


def read_report(path: Path, whole: bool = False) -> list[Run]:
    """Every run in a report file. Raises UsageError naming the file when it is not a report.

    A report cut short (a killed writer) keeps what came before the cut, with a warning;
    with ``whole`` (a bundle's report, which fastci writes in one piece) it is an error.
    """
    cuts: list[str] = []
    try:
        with path.open(encoding="utf-8") as f:
            runs = list(_parse(f, path, cuts))
    except OSError as e:
        raise UsageError(f"cannot read timings report {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a fastci timings report (not UTF-8 text)") from None
    if cuts and not runs:
        raise UsageError(f"{path} is not a fastci timings report: it holds no run")
    if cuts and whole:
        raise UsageError(f"{path} was cut short: {cuts[0]}")
    if cuts:
        print(f"fastci: warning: {path} was cut short: {cuts[0]}; kept the rest", file=sys.stderr)
    return runs


def _parse(lines: IO[str], path: Path, cuts: list[str]) -> Iterator[Run]:
    """The runs in order; where the report was cut short goes into ``cuts``."""
    run: Run | None = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not an object")
            kind = row.pop("type")
            if kind == "run":
                if row.pop("format", None) != FORMAT_VERSION:
                    raise UsageError(
                        f"{path}:{number}: report format is not {FORMAT_VERSION}; "
                        "it was written by another fastci version"
                    )
                if run is not None:
                    cuts.append(f"the run before line {number} has no end line")
                    yield _unfinished(run)
                run = Run(header=_checked_header(RunHeader(**_known_fields(RunHeader, row))))
            elif run is None:
                raise UsageError(f"{path}:{number}: expected a 'run' line before {kind!r}")
            elif kind == "test":
                record = TestRecord(**_known_fields(TestRecord, row))
                if record.outcome not in OUTCOMES:
                    raise ValueError(f"unknown outcome {record.outcome!r}")
                if not all(_is_seconds(v) for v in (record.setup, record.call, record.teardown)):
                    raise ValueError(f"durations must be seconds from 0 to {MAX_SECONDS:g}")
                run.tests[record.id] = record
            elif kind == "end":
                complete = run.header.complete and row.get("complete") is True
                yield dataclasses.replace(
                    run, header=dataclasses.replace(run.header, complete=complete)
                )
                run = None
            elif kind == "file":
                file_record = FileRecord(**_known_fields(FileRecord, row))
                if not _is_seconds(file_record.collect):
                    raise ValueError(f"collect must be seconds from 0 to {MAX_SECONDS:g}")
                run.files[file_record.file] = file_record
        except (ValueError, TypeError, KeyError) as e:
            if line.endswith("\n"):
                raise UsageError(
                    f"{path}:{number}: not a fastci timings report line ({e})"
                ) from None
            cuts.append(f"its last line, {number}, is incomplete")
            break  # the last line was cut short by a killed writer: keep what came before
    if run is not None:
        if not cuts:
            cuts.append("its last run has no end line")
        yield _unfinished(run)


def _unfinished(run: Run) -> Run:
    """A run with no end line was cut short: what it recorded counts, its file lists do not."""
    return dataclasses.replace(run, header=dataclasses.replace(run.header, complete=False))


def _checked_header(header: RunHeader) -> RunHeader:
    if not (isinstance(header.report_id, str) and header.report_id):
        raise ValueError("report_id must be a non-empty string")
    if not isinstance(header.run_id, str):
        raise ValueError("run_id must be a string")
    if not _is_seconds(header.started, most=math.inf):
        raise ValueError("started must be a number")
    if not isinstance(header.complete, bool):
        raise ValueError("complete must be true or false")
    if header.shard is not None and not isinstance(header.shard, str):
        raise ValueError("shard must be a string")
    if header.startup is not None and not _is_seconds(header.startup):
        raise ValueError("startup must be a number")
    return header


def _known_fields(cls: type, row: dict[str, Any]) -> dict[str, Any]:
    """Drop keys a newer writer added, so older readers still read the rest."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in row.items() if k in names}


# A duration past this is damage, not a slow test (115 days); the store refuses it too.
MAX_SECONDS = 1e7


def _is_seconds(value: object, most: float = MAX_SECONDS) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= most
    )
