"""The timings store's schema: its version history, tables, row records and checks."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, TypeVar

from fastci.results.timings import MAX_SECONDS

# The schema's history; fastci.plan.migrations holds one step per version to the next.
#   1: reports, samples, file_samples, tests, files and meta (the first fastci).
#   2: samples keep each run's group (samples.group_name), so a test's group is the one of
#      its newest run instead of the last one ever given.
#   3: reports keep the commit and tree they ran on (reports.commit_sha, reports.tree), so a
#      test that passed and failed on one tree is known flaky (fastci flaky).
#   4: reports keep the workers and cores they ran with (reports.workers, reports.cpus), so
#      durations measured under contention are scaled; import_samples keep the own seconds of
#      each top-level package a file was first to import (shared imports, fastci.plan.costs).
#   5: dependency recordings for fastci affected (DEPS_SCHEMA): per commit, each test's files
#      (interned paths), outcome and markers, the files' content hashes and the environment.
#   6: each recorded Python file's units (dep_units): the digests of its functions' bodies and
#      of the rest, so a change to one function selects only the tests that ran it.
SCHEMA_VERSION = 6
# PRAGMA application_id marks the file as ours ("fCI1"), so a foreign SQLite file is told apart.
APPLICATION_ID = 0x66434931

SCHEMA = """
-- One row per folded-in run: a report's run header. digest detects a re-import.
CREATE TABLE reports (
    id TEXT PRIMARY KEY,       -- report_id of the run, unique per writer
    run_id TEXT NOT NULL,      -- shared by all shards of one pipeline run
    shard TEXT,                -- "K/N" or NULL
    started REAL NOT NULL,     -- epoch seconds; orders samples from old to new
    complete INTEGER NOT NULL, -- 1: the whole suite was selected (file contents are known)
    startup REAL,              -- seconds from process start to the first test
    digest TEXT NOT NULL,      -- sha256 of the run's content
    commit_sha TEXT,           -- git commit it ran on; NULL: no git, or stored before version 3
    tree TEXT,                 -- that commit's tree, plus a digest of uncommitted changes
    workers INTEGER,           -- worker processes it ran; NULL: not recorded (before version 4)
    cpus INTEGER               -- the machine's cores; NULL: not recorded
);
-- One duration sample per test per run; pruned to the newest MAX_SAMPLES_PER_TEST per test.
CREATE TABLE samples (
    report_id TEXT NOT NULL,
    test_id TEXT NOT NULL,
    file TEXT NOT NULL,
    setup REAL NOT NULL,
    call REAL NOT NULL,
    teardown REAL NOT NULL,
    outcome TEXT NOT NULL,
    group_name TEXT,           -- group marker value in that run, if any
    started REAL NOT NULL,
    PRIMARY KEY (test_id, report_id)
) WITHOUT ROWID;
-- Seconds spent importing/collecting a test file, per run.
CREATE TABLE file_samples (
    report_id TEXT NOT NULL,
    file TEXT NOT NULL,
    collect REAL NOT NULL,
    started REAL NOT NULL,
    PRIMARY KEY (file, report_id)
) WITHOUT ROWID;
-- Own seconds of a top-level package a file was first to import in its process, per run.
CREATE TABLE import_samples (
    report_id TEXT NOT NULL,
    file TEXT NOT NULL,
    package TEXT NOT NULL,
    seconds REAL NOT NULL,
    started REAL NOT NULL,
    PRIMARY KEY (file, package, report_id)
) WITHOUT ROWID;
-- Derived from samples on import: the current estimate per test.
CREATE TABLE tests (
    test_id TEXT PRIMARY KEY,
    file TEXT NOT NULL,
    estimate REAL NOT NULL,    -- median of the newest `window` samples (setup+call+teardown)
    last_seen REAL NOT NULL,   -- newest run that ran it
    group_name TEXT            -- group marker value in its newest run, if any
) WITHOUT ROWID;
CREATE INDEX tests_by_file ON tests (file);
-- Derived from file_samples and complete runs: the current estimate per file.
CREATE TABLE files (
    file TEXT PRIMARY KEY,
    collect REAL NOT NULL,     -- median of the newest `window` collect samples
    last_complete REAL NOT NULL -- newest complete run that ran it; tests seen since are current
) WITHOUT ROWID;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# fastci affected's recordings (fastci.affected.storage reads and writes them).
DEPS_SCHEMA = """
CREATE TABLE dep_recordings (
    commit_sha TEXT PRIMARY KEY, -- the commit the tests ran on
    recorded REAL NOT NULL,      -- epoch seconds of the newest run folded in
    env TEXT NOT NULL            -- JSON: global input -> value or content hash
) WITHOUT ROWID;
-- Every path any recording names, once: tests refer to paths by id.
CREATE TABLE dep_paths (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
CREATE TABLE dep_hashes (
    commit_sha TEXT NOT NULL,
    path_id INTEGER NOT NULL,
    hash TEXT NOT NULL,          -- content digest when recorded, '' for absent
    PRIMARY KEY (commit_sha, path_id)
) WITHOUT ROWID;
CREATE TABLE dep_tests (
    commit_sha TEXT NOT NULL,
    test_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    markers TEXT NOT NULL,       -- comma-separated marker names
    files BLOB NOT NULL,         -- zlib of the sorted path ids, as 4-byte integers
    PRIMARY KEY (commit_sha, test_id)
) WITHOUT ROWID;
-- The tests collected from each test file (so a file none of whose tests changed is skipped whole).
CREATE TABLE dep_modules (
    commit_sha TEXT NOT NULL,
    path_id INTEGER NOT NULL,
    items TEXT NOT NULL,         -- JSON list of node ids
    PRIMARY KEY (commit_sha, path_id)
) WITHOUT ROWID;
"""
# Each recorded Python file's units (fastci.affected.units.fingerprint), since version 6.
UNITS_SCHEMA = """
CREATE TABLE dep_units (
    commit_sha TEXT NOT NULL,
    path_id INTEGER NOT NULL,
    units BLOB NOT NULL,         -- zlib of the JSON object: unit name -> body digest
    PRIMARY KEY (commit_sha, path_id)
) WITHOUT ROWID;
"""
DEPS_SCHEMA += UNITS_SCHEMA
SCHEMA += DEPS_SCHEMA


# -- rows, as the tables hold them: every query names its columns after these fields -------


class ReportRow(NamedTuple):
    id: str
    run_id: str
    shard: str | None
    started: float
    complete: int
    startup: float | None
    digest: str
    commit_sha: str | None
    tree: str | None
    workers: int | None
    cpus: int | None


class SampleRow(NamedTuple):
    report_id: str
    test_id: str
    file: str
    setup: float
    call: float
    teardown: float
    outcome: str
    group_name: str | None
    started: float


class FileSampleRow(NamedTuple):
    report_id: str
    file: str
    collect: float
    started: float


class ImportSampleRow(NamedTuple):
    report_id: str
    file: str
    package: str
    seconds: float
    started: float


class TestRow(NamedTuple):
    test_id: str
    file: str
    estimate: float
    last_seen: float
    group_name: str | None


class FileRow(NamedTuple):
    file: str
    collect: float
    last_complete: float


class MetaRow(NamedTuple):
    key: str
    value: str


Row = TypeVar("Row", bound=tuple[Any, ...])


def insert_sql(
    table: str, record: type[tuple[Any, ...]], then: str = "", replace: bool = False
) -> str:
    """``INSERT INTO table (columns...) VALUES (?...)`` with the record's fields as columns."""
    fields: tuple[str, ...] = getattr(record, "_fields")  # noqa: B009 -- any NamedTuple class
    marks = ", ".join("?" * len(fields))
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    return f"{verb} INTO {table} ({', '.join(fields)}) VALUES ({marks}) {then}".rstrip()


def select_sql(table: str, record: type[tuple[Any, ...]], then: str = "") -> str:
    """``SELECT columns... FROM table`` with the record's fields as columns."""
    fields: tuple[str, ...] = getattr(record, "_fields")  # noqa: B009 -- any NamedTuple class
    # Table and column names come from this module, never from input; values are bound.
    return f"SELECT {', '.join(fields)} FROM {table} {then}".rstrip()  # noqa: S608


def fetch(
    db: sqlite3.Connection,
    make: Callable[[Iterable[Any]], Row],
    query: str,
    params: Iterable[object] = (),
) -> list[Row]:
    """The query's rows as records (``make`` is a NamedTuple class's ``_make``)."""
    return [make(row) for row in db.execute(query, tuple(params))]


# -- checks ---------------------------------------------------------------------------------


def _unsound(table: str, column: str, nullable: bool = False) -> str:
    """A query for a row whose seconds no fastci wrote: text, negative, infinite."""
    present = f"{column} IS NOT NULL AND " if nullable else ""
    return (  # names from this module only, no input
        f"EXISTS (SELECT 1 FROM {table} WHERE {present}(typeof({column}) NOT IN"  # noqa: S608
        f" ('real', 'integer') OR NOT {column} BETWEEN 0 AND {MAX_SECONDS}))"
    )


# Checked on every open (one pass over each derived table), so a damaged store is moved
# aside instead of failing every plan that reads it.
UNSOUND_VALUES = "SELECT " + " OR ".join(
    (
        _unsound("tests", "estimate"),
        _unsound("files", "collect"),
        _unsound("reports", "startup", nullable=True),
        _unsound("import_samples", "seconds"),
    )
)


def meta_number(db: sqlite3.Connection, key: str) -> int | None:
    """A whole number kept in the meta table, None if absent; damage raises DatabaseError."""
    rows = fetch(db, MetaRow._make, select_sql("meta", MetaRow, "WHERE key = ?"), (key,))
    if not rows:
        return None
    value = rows[0].value
    if not value.isascii() or not value.isdigit():
        raise sqlite3.DatabaseError(f"its {key} is {value!r}, not a number")
    return int(value)


def write_meta(db: sqlite3.Connection, key: str, value: int) -> None:
    db.execute(
        insert_sql("meta", MetaRow, "ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
        (key, str(value)),
    )
