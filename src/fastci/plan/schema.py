"""The timings store's schema: its version history, tables, row records and checks."""

from __future__ import annotations

import array
import hashlib
import itertools
import sqlite3
import zlib
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
#   6: each recorded Python file's units: the digests of its functions' bodies and of the
#      rest, so a change to one function selects only the tests that ran it; what recordings
#      share (node ids, file versions, test entries, collected items, units) is kept once.
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

# fastci affected's recordings (fastci.affected.storage reads and writes them). What many
# recordings share is kept once: paths, node ids, each file version, each distinct blob.
DEPS_SCHEMA = """
CREATE TABLE dep_recordings (
    id INTEGER PRIMARY KEY,      -- what the other dep_* rows name a recording by
    commit_sha TEXT NOT NULL UNIQUE, -- the commit the tests ran on
    recorded REAL NOT NULL,      -- epoch seconds of the newest run folded in
    env TEXT NOT NULL            -- JSON: global input -> value or content hash
);
-- Every path and dependency key any recording names, and every node id, once (intern: no
-- index on the names, which would hold each twice: a save reads them all).
CREATE TABLE dep_paths (id INTEGER PRIMARY KEY, path TEXT NOT NULL);
CREATE TABLE dep_nodes (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
-- Each distinct blob once, found by a digest of its content (put_blob): a test's entry
-- (outcome, markers, its sorted key ids), a test file's collected node ids, a file's units.
CREATE TABLE dep_blobs (
    id INTEGER PRIMARY KEY,
    digest BLOB NOT NULL UNIQUE, -- blake2b-128 of the uncompressed content
    data BLOB NOT NULL           -- zlib of the content
);
-- A file as some recording saw it: its content hash and units (NULL: none recorded).
CREATE TABLE dep_versions (
    id INTEGER PRIMARY KEY,
    path_id INTEGER NOT NULL,
    hash TEXT,                   -- content digest when recorded, '' for absent
    units INTEGER,               -- dep_blobs id of the JSON object: unit name -> body digest
    UNIQUE (path_id, hash, units)
);
CREATE TABLE dep_files (
    recording INTEGER NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (recording, version)
) WITHOUT ROWID;
-- Each test file's tests in a recording, one row: a file whose tests kept their entries
-- names the same blob as at the commit before.
CREATE TABLE dep_tests (
    recording INTEGER NOT NULL,
    path_id INTEGER NOT NULL,    -- the test file
    tests INTEGER NOT NULL,      -- dep_blobs id of its tests' node ids and entries (tests_content)
    PRIMARY KEY (recording, path_id)
) WITHOUT ROWID;
-- The tests collected from each test file (so a file none of whose tests changed is skipped whole).
CREATE TABLE dep_modules (
    recording INTEGER NOT NULL,
    path_id INTEGER NOT NULL,
    items INTEGER NOT NULL,      -- dep_blobs id of the sorted dep_nodes ids
    PRIMARY KEY (recording, path_id)
) WITHOUT ROWID;
"""
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


# -- the dep_* tables' shared rows (fastci.affected.storage, and the 5 -> 6 migration) ------


def packed_ids(ids: Iterable[int]) -> bytes:
    """Sorted ids as their differences, 4-byte integers (mostly small: zlib packs them tight)."""
    numbers = sorted(ids)
    deltas = [b - a for a, b in zip([0, *numbers], numbers, strict=False)]
    return array.array("I", deltas).tobytes()


def unpacked_ids(content: bytes) -> list[int]:
    deltas = array.array("I")
    deltas.frombytes(content)
    return list(itertools.accumulate(deltas))


def tests_content(entries: dict[int, int]) -> bytes:
    """A test file's tests in one recording: their packed node ids, then each one's entry
    (the dep_blobs id of its outcome, markers and keys), as 4-byte integers."""
    nodes = sorted(entries)
    return packed_ids(nodes) + array.array("I", [entries[n] for n in nodes]).tobytes()


def tests_table(content: bytes) -> dict[int, int]:
    """Node id -> entry id, from tests_content; ValueError if it is not one."""
    numbers = array.array("I")
    numbers.frombytes(content)
    half = len(numbers) // 2
    return dict(zip(itertools.accumulate(numbers[:half]), numbers[half:], strict=True))


def entry_content(outcome: str, markers: str, packed: bytes) -> bytes:
    """A dep_tests entry's content: outcome and comma-separated markers, then packed key ids."""
    return f"{outcome}\n{markers}\n".encode() + packed


def put_blob(db: sqlite3.Connection, content: bytes) -> int:
    """The dep_blobs id of this content, stored if no row holds it yet."""
    digest = hashlib.blake2b(content, digest_size=16).digest()
    row = db.execute("SELECT id FROM dep_blobs WHERE digest = ?", (digest,)).fetchone()
    if row:
        return int(row[0])
    cursor = db.execute(
        "INSERT INTO dep_blobs (digest, data) VALUES (?, ?)", (digest, zlib.compress(content, 9))
    )
    return int(cursor.lastrowid or 0)


def intern(db: sqlite3.Connection, table: str, values: set[str]) -> dict[str, int]:
    """Ids of these paths (table dep_paths) or node ids (dep_nodes), added if new; the
    caller holds the transaction, so no other writer adds the same name meanwhile."""
    column = {"dep_paths": "path", "dep_nodes": "name"}[table]
    # Table and column names come from this module; values are bound.
    known = {str(v): int(i) for i, v in db.execute(f"SELECT id, {column} FROM {table}")}  # noqa: S608
    for value in sorted(values - known.keys()):
        cursor = db.execute(f"INSERT INTO {table} ({column}) VALUES (?)", (value,))  # noqa: S608
        known[value] = int(cursor.lastrowid or 0)
    return {value: known[value] for value in values}


def file_version(
    db: sqlite3.Connection, path_id: int, digest: str | None, units: int | None
) -> int:
    """The dep_versions id of a file seen with this hash and units, stored if new."""
    key = (path_id, digest, units)
    row = db.execute(
        "SELECT id FROM dep_versions WHERE path_id = ? AND hash IS ? AND units IS ?", key
    ).fetchone()
    if row:
        return int(row[0])
    cursor = db.execute("INSERT INTO dep_versions (path_id, hash, units) VALUES (?, ?, ?)", key)
    return int(cursor.lastrowid or 0)
