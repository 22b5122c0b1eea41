"""Folding runs into the store's tables and back out, and deriving each estimate."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from fastci.plan.estimates import median
from fastci.plan.schema import (
    FileRow,
    FileSampleRow,
    ImportSampleRow,
    ReportRow,
    SampleRow,
    TestRow,
    fetch,
    insert_sql,
    select_sql,
    write_meta,
)
from fastci.results.timings import FileRecord, Run, RunHeader, TestRecord

MAX_SAMPLES_PER_TEST = 20
CHUNK = 500  # ids per IN (...) query, well under SQLite's limit on bound parameters

INSERT_REPORT = insert_sql("reports", ReportRow, replace=True)
INSERT_SAMPLE = insert_sql("samples", SampleRow, replace=True)
INSERT_FILE_SAMPLE = insert_sql("file_samples", FileSampleRow, replace=True)
INSERT_IMPORT_SAMPLE = insert_sql("import_samples", ImportSampleRow, replace=True)
# What a second measured in a run is worth alone: a run of N workers on C < N cores made
# each CPU-bound test take about N / C times as long (fastci.plan.costs predicts for a -j).
ALONE = "(CASE WHEN r.workers > r.cpus THEN CAST(r.cpus AS REAL) / r.workers ELSE 1.0 END)"
MARK_COMPLETE = insert_sql(
    "files",
    FileRow,
    "ON CONFLICT(file) DO UPDATE SET last_complete = max(last_complete, excluded.last_complete)",
)
UPSERT_TEST = insert_sql("tests", TestRow, "ON CONFLICT(test_id) DO UPDATE SET " + ", ".join(
    f"{c} = excluded.{c}" for c in TestRow._fields[1:]))  # fmt: skip
UPSERT_FILE_COLLECT = insert_sql(
    "files", FileRow, "ON CONFLICT(file) DO UPDATE SET collect = excluded.collect"
)


@dataclasses.dataclass(frozen=True)
class ImportResult:
    runs_new: int
    runs_unchanged: int
    tests: int


class Sample(NamedTuple):
    """One sample as estimates need it, newest first per test."""

    test_id: str
    file: str
    duration: float
    started: float
    report_id: str
    group_name: str | None


class Collect(NamedTuple):
    file: str
    collect: float


_OLD = frozenset(("report_id", "run_id", "started", "complete", "shard", "startup", "rootdir"))


def run_digest(run: Run) -> str:
    content = {  # vars, not dataclasses.asdict: a run may hold 10^5 flat records
        # Without a commit and tree, as before they were kept: a re-import stays unchanged.
        "header": {k: v for k, v in vars(run.header).items() if v is not None or k in _OLD},
        "tests": [vars(t) for _, t in sorted(run.tests.items())],
        "files": [_present(vars(f)) for _, f in sorted(run.files.items())],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _present(fields: dict[str, object]) -> dict[str, object]:
    """Without fields a run did not record, as before they existed: a re-import stays unchanged."""
    return {k: v for k, v in fields.items() if v is not None}


def fold_runs(db: sqlite3.Connection, runs: Sequence[Run], window: int) -> ImportResult:
    """Add the runs' samples and rederive what they touch; the caller holds the transaction."""
    new = unchanged = tests = 0
    touched_tests: set[str] = set()
    touched_files: set[str] = set()
    for run in runs:
        digest = run_digest(run)
        known = db.execute("SELECT digest FROM reports WHERE id = ?", (run.header.report_id,))
        existing = known.fetchone()
        if existing is not None and existing[0] == digest:
            unchanged += 1
            continue
        new += 1
        tests += len(run.tests)
        _add_run(db, run, digest)
        touched_tests.update(run.tests)
        touched_files.update(run.files)
        touched_files.update(t.file for t in run.tests.values())
    rederive(db, touched_tests, touched_files, window)
    return ImportResult(runs_new=new, runs_unchanged=unchanged, tests=tests)


def _add_run(db: sqlite3.Connection, run: Run, digest: str) -> None:
    head = run.header
    db.execute(
        INSERT_REPORT,
        ReportRow(
            id=head.report_id,
            run_id=head.run_id,
            shard=head.shard,
            started=head.started,
            complete=int(head.complete),
            startup=head.startup,
            digest=digest,
            commit_sha=head.commit,
            tree=head.tree,
            workers=head.workers,
            cpus=head.cpus,
        ),
    )
    db.execute("DELETE FROM import_samples WHERE report_id = ?", (head.report_id,))
    db.executemany(
        INSERT_IMPORT_SAMPLE,
        [
            ImportSampleRow(head.report_id, f.file, package, seconds, head.started)
            for f in run.files.values()
            for package, seconds in sorted((f.packages or {}).items())
        ],
    )
    db.executemany(
        INSERT_SAMPLE,
        [
            SampleRow(
                report_id=head.report_id,
                test_id=t.id,
                file=t.file,
                setup=t.setup,
                call=t.call,
                teardown=t.teardown,
                outcome=t.outcome,
                group_name=t.group,
                started=head.started,
            )
            for t in run.tests.values()
        ],
    )
    db.executemany(
        INSERT_FILE_SAMPLE,
        [
            FileSampleRow(head.report_id, f.file, f.collect, head.started)
            for f in run.files.values()
        ],
    )
    if head.complete:
        ran = {t.file for t in run.tests.values()} | set(run.files)
        db.executemany(MARK_COMPLETE, [FileRow(f, 0.0, head.started) for f in sorted(ran)])


def rederive(db: sqlite3.Connection, test_ids: set[str], files: set[str], window: int) -> None:
    """Recompute the estimates of the given tests and files from their samples."""
    for chunk in _chunks(sorted(test_ids)):
        _rederive_tests(db, chunk, window)
    for chunk in _chunks(sorted(files)):
        marks = ",".join("?" * len(chunk))
        rows = fetch(
            db,
            Collect._make,
            # A file's own import: its collect time without the packages it was first to load.
            f"SELECT fs.file, max(0.0, fs.collect - coalesce((SELECT sum(i.seconds) FROM"  # noqa: S608 -- only ?s
            " import_samples i WHERE i.file = fs.file AND i.report_id = fs.report_id), 0.0))"
            f" * {ALONE} FROM file_samples fs LEFT JOIN reports r ON r.id = fs.report_id"
            f" WHERE fs.file IN ({marks}) ORDER BY fs.file, fs.started DESC, fs.report_id",
            chunk,
        )
        by_file: dict[str, list[float]] = defaultdict(list)
        for row in rows:
            by_file[row.file].append(row.collect)
        db.executemany(
            UPSERT_FILE_COLLECT,
            [FileRow(f, median(c[:window]), 0.0) for f, c in by_file.items()],
        )


def _rederive_tests(db: sqlite3.Connection, test_ids: list[str], window: int) -> None:
    """Each test's estimate from its newest samples; samples beyond the newest 20 go."""
    marks = ",".join("?" * len(test_ids))
    rows = fetch(
        db,
        Sample._make,
        "SELECT s.test_id, s.file, (s.setup + s.call + s.teardown) * "  # noqa: S608 -- only ?s
        f"{ALONE}, s.started, s.report_id, s.group_name FROM samples s"
        f" LEFT JOIN reports r ON r.id = s.report_id WHERE s.test_id IN ({marks})"
        " ORDER BY s.test_id, s.started DESC, s.report_id",
        test_ids,
    )
    by_test: dict[str, list[Sample]] = defaultdict(list)
    for row in rows:
        by_test[row.test_id].append(row)
    updates = []
    stale: list[tuple[str, str]] = []
    for test_id, samples in by_test.items():
        newest = samples[0]
        estimate = median(s.duration for s in samples[:window])
        updates.append(TestRow(test_id, newest.file, estimate, newest.started, newest.group_name))
        stale.extend((test_id, s.report_id) for s in samples[MAX_SAMPLES_PER_TEST:])
    db.executemany(UPSERT_TEST, updates)
    db.executemany("DELETE FROM samples WHERE test_id = ? AND report_id = ?", stale)


def rederive_all(db: sqlite3.Connection, window: int) -> None:
    """Every estimate again, for a new window; the caller holds the transaction."""
    tests = {str(r[0]) for r in db.execute("SELECT DISTINCT test_id FROM samples")}
    files = {str(r[0]) for r in db.execute("SELECT DISTINCT file FROM file_samples")}
    rederive(db, tests, files, window)
    write_meta(db, "window", window)


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def unfold_runs(db: sqlite3.Connection) -> list[Run]:
    """Every stored run, rebuilt as the report it came from, oldest first."""
    result: dict[str, Run] = {}
    for r in fetch(db, ReportRow._make, select_sql("reports", ReportRow, "ORDER BY started, id")):
        header = RunHeader(
            report_id=r.id,
            run_id=r.run_id,
            started=r.started,
            complete=bool(r.complete),
            shard=r.shard,
            startup=r.startup,
            commit=r.commit_sha,
            tree=r.tree,
            workers=r.workers,
            cpus=r.cpus,
        )
        result[r.id] = Run(header)
    order = "ORDER BY report_id, test_id"
    for s in fetch(db, SampleRow._make, select_sql("samples", SampleRow, order)):
        if s.report_id in result:
            result[s.report_id].tests[s.test_id] = TestRecord(
                id=s.test_id,
                file=s.file,
                setup=s.setup,
                call=s.call,
                teardown=s.teardown,
                outcome=s.outcome,
                group=s.group_name,
            )
    order = "ORDER BY report_id, file"
    for f in fetch(db, FileSampleRow._make, select_sql("file_samples", FileSampleRow, order)):
        if f.report_id in result:
            result[f.report_id].files[f.file] = FileRecord(file=f.file, collect=f.collect)
    for i in fetch(db, ImportSampleRow._make, select_sql("import_samples", ImportSampleRow, order)):
        record = result[i.report_id].files.get(i.file) if i.report_id in result else None
        if record is not None:
            packages = {**(record.packages or {}), i.package: i.seconds}
            result[i.report_id].files[i.file] = dataclasses.replace(record, packages=packages)
    return list(result.values())
