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
import os
import sys
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from fastci.errors import UsageError
from fastci.results.records import (
    FLAG,
    NAME,
    TEXT,
    TIME,
    Kind,
    LineError,
    RecordError,
    checked,
    json_object,
    number_in,
    one_of,
    optional,
    parse_json,
    typed,
    whole,
)

FORMAT_VERSION = 1
OUTCOMES = ("passed", "failed", "skipped", "error", "xfailed", "xpassed", "crashed", "flaky")
# A duration past this is damage, not a slow test (115 days); the store refuses it too.
MAX_SECONDS = 1e7
SECONDS = number_in(0, MAX_SECONDS, f"seconds from 0 to {MAX_SECONDS:g}")
LINE_TYPE = one_of(("run", "test", "file", "end"))


@dataclasses.dataclass(frozen=True)
class RunHeader:
    report_id: str
    run_id: str
    started: float
    complete: bool
    shard: str | None = None
    startup: float | None = None
    rootdir: str | None = None
    commit: str | None = None  # the git commit the run ran on; None: not in a git checkout
    tree: str | None = None  # its tree (with a digest of uncommitted changes, if any)
    workers: int | None = None  # worker processes the run used; None: not recorded
    cpus: int | None = None  # the machine's cores, so durations under contention are scaled


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
    collect: float  # seconds to import and collect it, its packages' below included
    # Own seconds of each top-level package this file was first to import in its process.
    packages: dict[str, float] | None = None


@dataclasses.dataclass
class Run:
    header: RunHeader
    tests: dict[str, TestRecord] = dataclasses.field(default_factory=dict)
    files: dict[str, FileRecord] = dataclasses.field(default_factory=dict)


# What each field of each line must hold (see fastci.results.records).
HEADER_KINDS: dict[str, Kind] = {
    "report_id": NAME,
    "run_id": TEXT,
    "started": TIME,
    "complete": FLAG,
    "shard": optional(TEXT),
    "startup": optional(SECONDS),
    "rootdir": optional(TEXT),
    "commit": optional(TEXT),
    "tree": optional(TEXT),
    "workers": optional(whole(1, 100_000)),
    "cpus": optional(whole(1, 100_000)),
}
TEST_KINDS: dict[str, Kind] = {
    "id": NAME,
    "file": TEXT,
    "setup": SECONDS,
    "call": SECONDS,
    "teardown": SECONDS,
    "outcome": one_of(OUTCOMES),
    "group": optional(TEXT),
}
PACKAGE_SECONDS = Kind(
    "an object of package names to seconds",
    lambda v: (
        isinstance(v, dict)
        and all(isinstance(k, str) and k and SECONDS.accepts(s) for k, s in v.items())
    ),
)
FILE_KINDS: dict[str, Kind] = {
    "file": TEXT,
    "collect": SECONDS,
    "packages": optional(PACKAGE_SECONDS),
}


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
            finished, run = _apply(json_object(parse_json(line)), run)
        except RecordError as e:
            if line.endswith("\n"):
                raise LineError(
                    f"{path}:{number}: not a fastci timings report line ({e})", number, str(e)
                ) from None
            cuts.append(f"its last line, {number}, is incomplete")
            break  # the last line was cut short by a killed writer: keep what came before
        if finished is not None:
            if run is not None:
                cuts.append(f"the run before line {number} has no end line")
            yield finished
    if run is not None:
        if not cuts:
            cuts.append("its last run has no end line")
        yield _unfinished(run)


def _apply(row: dict[str, Any], run: Run | None) -> tuple[Run | None, Run | None]:
    """Fold one line into the current run: (a run it finished, the run now open)."""
    kind = checked(row, {"type": LINE_TYPE})["type"]
    if kind == "run":
        if row.get("format") != FORMAT_VERSION:
            raise RecordError(
                f"report format is not {FORMAT_VERSION}; it was written by another fastci version"
            )
        header = typed(RunHeader, row, HEADER_KINDS)
        return (None if run is None else _unfinished(run)), Run(header=header)
    if run is None:
        raise RecordError(f"expected a 'run' line before {kind!r}")
    if kind == "test":
        record = typed(TestRecord, row, TEST_KINDS)
        run.tests[record.id] = record
    elif kind == "file":
        file_record = typed(FileRecord, row, FILE_KINDS)
        run.files[file_record.file] = file_record
    else:  # the end line
        complete = run.header.complete and row.get("complete") is True
        return dataclasses.replace(
            run, header=dataclasses.replace(run.header, complete=complete)
        ), None
    return None, run


def _unfinished(run: Run) -> Run:
    """A run with no end line was cut short: what it recorded counts, its file lists do not."""
    return dataclasses.replace(run, header=dataclasses.replace(run.header, complete=False))
