"""The timings store: an SQLite file that owns every measured duration and estimates new ones.

Reports (see fastci.results.timings) are folded in by ``import_runs``; a run already imported with the
same content changes nothing. Estimates are the median of a test's last ``window`` samples;
a test never seen gets its file's typical test, then its directory's, then the suite's.

A file that is not a fastci store (corrupt, foreign, half-written) is moved aside with a
one-line warning and replaced by a new store, so a bad cache never fails a CI run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import posixpath
import sqlite3
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from fastci.errors import UsageError
from fastci.files import ensure_dir
from fastci.results.timings import MAX_SECONDS, FileRecord, Run, RunHeader, TestRecord

SCHEMA_VERSION = 2  # 2: samples keep each run's group
# PRAGMA application_id marks the file as ours ("fCI1"), so a foreign SQLite file is told apart.
APPLICATION_ID = 0x66434931
DEFAULT_TEST_SECONDS = 0.05
MAX_SAMPLES_PER_TEST = 20

SCHEMA = """
-- One row per folded-in run: a report's run header. digest detects a re-import.
CREATE TABLE reports (
    id TEXT PRIMARY KEY,       -- report_id of the run, unique per writer
    run_id TEXT NOT NULL,      -- shared by all shards of one pipeline run
    shard TEXT,                -- "K/N" or NULL
    started REAL NOT NULL,     -- epoch seconds; orders samples from old to new
    complete INTEGER NOT NULL, -- 1: the whole suite was selected (file contents are known)
    startup REAL,              -- seconds from process start to the first test
    digest TEXT NOT NULL       -- sha256 of the run's content
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


def _unsound(table: str, column: str, nullable: bool = False) -> str:
    """A query for a row whose seconds no fastci wrote: text, negative, infinite."""
    present = f"{column} IS NOT NULL AND " if nullable else ""
    return (
        f"EXISTS (SELECT 1 FROM {table} WHERE {present}(typeof({column}) NOT IN"
        f" ('real', 'integer') OR NOT {column} BETWEEN 0 AND {MAX_SECONDS}))"
    )


# Checked on every open (one pass over each derived table), so a damaged store is moved
# aside instead of failing every plan that reads it.
UNSOUND_VALUES = "SELECT " + " OR ".join(
    (
        _unsound("tests", "estimate"),
        _unsound("files", "collect"),
        _unsound("reports", "startup", nullable=True),
    )
)


@dataclasses.dataclass(frozen=True)
class FileEstimate:
    """What the store expects of one test file: its tests' total and its import cost."""

    tests: float
    collect: float
    count: int


@dataclasses.dataclass(frozen=True)
class ImportResult:
    runs_new: int
    runs_unchanged: int
    tests: int


def warn(message: str) -> None:
    print(f"fastci: warning: {message}", file=sys.stderr)


def _median(values: Iterable[float]) -> float:
    ordered = sorted(values)
    return statistics.median(ordered) if ordered else 0.0


def _run_digest(run: Run) -> str:
    content = {  # vars, not dataclasses.asdict: a run may hold 10^5 flat records
        "header": vars(run.header),
        "tests": [vars(t) for _, t in sorted(run.tests.items())],
        "files": [vars(f) for _, f in sorted(run.files.items())],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


class TimingsStore:
    """The store at ``path``; opened lazily, created atomically, survives corruption."""

    def __init__(self, path: Path, window: int = 5, warn: Callable[[str], None] = warn) -> None:
        self.path = path
        self.window = window
        self._warn = warn
        self._db: sqlite3.Connection | None = None

    # -- opening, creating, surviving --------------------------------------------------

    def __enter__(self) -> TimingsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = self._open()
        return self._db

    def _open(self) -> sqlite3.Connection:
        if not self.path.exists():
            self._create()
        db = self._connect()
        try:
            self._check(db)
        except sqlite3.DatabaseError as e:
            db.close()
            if not _means_corrupt(e):
                raise UsageError(f"timings store {self.path}: {e}") from None
            self._move_aside(str(e))
            self._create()
            db = self._connect()
        except BaseException:
            db.close()
            raise
        return db

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            db.execute("PRAGMA busy_timeout = 60000")
        except sqlite3.OperationalError as e:
            raise UsageError(f"cannot open timings store {self.path}: {e}") from None
        return db

    def _check(self, db: sqlite3.Connection) -> None:
        (app_id,) = db.execute("PRAGMA application_id").fetchone()
        if app_id != APPLICATION_ID:
            raise sqlite3.DatabaseError("not a fastci timings store")
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            db.close()
            raise UsageError(
                f"timings store {self.path} has schema {version}, newer than this fastci "
                f"understands ({SCHEMA_VERSION}); upgrade fastci or pass another --store"
            )
        if version < SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"schema {version} is older than {SCHEMA_VERSION}")
        row = db.execute("SELECT value FROM meta WHERE key = 'window'").fetchone()
        if row is not None and not str(row[0]).isdigit():
            raise sqlite3.DatabaseError(f"its estimate window is {row[0]!r}, not a number")
        if db.execute(UNSOUND_VALUES).fetchone()[0]:
            raise sqlite3.DatabaseError("it holds durations that are not seconds")
        if row is None or int(row[0]) != self.window:
            self._rederive_all(db)

    def _create(self) -> None:
        """Build the schema in a private file, then link it into place: never half-created."""
        try:
            ensure_dir(self.path.parent)
        except OSError as e:
            raise UsageError(f"cannot create the timings store directory: {e}") from None
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        db = sqlite3.connect(tmp, isolation_level=None)
        try:
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(SCHEMA)
            db.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [("schema_version", str(SCHEMA_VERSION)), ("window", str(self.window))],
            )
        finally:
            db.close()
        try:
            os.link(tmp, self.path)  # fails if another process created it first: use theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink()

    def _move_aside(self, reason: str) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{os.getpid()}")
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{self.path}{suffix}").unlink()
        try:
            os.replace(self.path, aside)
        except FileNotFoundError:
            return
        self._warn(
            f"timings store {self.path} is unreadable ({reason}); moved it to {aside.name} "
            "and started a new one"
        )

    @contextlib.contextmanager
    def _surviving(self) -> Iterator[sqlite3.Connection]:
        """Run a block against the db; if the file turns out corrupt mid-way, replace it."""
        try:
            yield self.db
        except sqlite3.DatabaseError as e:
            if not _means_corrupt(e):
                raise UsageError(f"timings store {self.path}: {e}") from None
            self.close()
            self._move_aside(str(e))
            raise

    # -- writing -----------------------------------------------------------------------

    def import_runs(self, runs: Iterable[Run]) -> ImportResult:
        """Fold runs into the store; a run already imported with the same content is skipped."""
        runs = list(runs)
        for attempt in (1, 2):
            try:
                with self._surviving() as db:
                    return self._import(db, runs)
            except sqlite3.DatabaseError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _import(self, db: sqlite3.Connection, runs: list[Run]) -> ImportResult:
        new = unchanged = tests = 0
        db.execute("BEGIN IMMEDIATE")
        try:
            touched_tests: set[str] = set()
            touched_files: set[str] = set()
            for run in runs:
                digest = _run_digest(run)
                head = run.header
                row = db.execute("SELECT digest FROM reports WHERE id = ?", (head.report_id,))
                existing = row.fetchone()
                if existing is not None and existing[0] == digest:
                    unchanged += 1
                    continue
                new += 1
                tests += len(run.tests)
                db.execute(
                    "INSERT OR REPLACE INTO reports VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        head.report_id,
                        head.run_id,
                        head.shard,
                        head.started,
                        int(head.complete),
                        head.startup,
                        digest,
                    ),
                )
                db.executemany(
                    "INSERT OR REPLACE INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            head.report_id,
                            t.id,
                            t.file,
                            t.setup,
                            t.call,
                            t.teardown,
                            t.outcome,
                            t.group,
                            head.started,
                        )
                        for t in run.tests.values()
                    ],
                )
                db.executemany(
                    "INSERT OR REPLACE INTO file_samples VALUES (?, ?, ?, ?)",
                    [(head.report_id, f.file, f.collect, head.started) for f in run.files.values()],
                )
                touched_tests.update(run.tests)
                touched_files.update(run.files)
                touched_files.update(t.file for t in run.tests.values())
                if head.complete:
                    ran = {t.file for t in run.tests.values()} | set(run.files)
                    db.executemany(
                        "INSERT INTO files VALUES (?, 0, ?) ON CONFLICT(file) DO UPDATE SET"
                        " last_complete = max(last_complete, excluded.last_complete)",
                        [(f, head.started) for f in ran],
                    )
            self._rederive(db, touched_tests, touched_files)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return ImportResult(runs_new=new, runs_unchanged=unchanged, tests=tests)

    def _rederive(
        self,
        db: sqlite3.Connection,
        test_ids: set[str],
        files: set[str],
    ) -> None:
        """Recompute the derived estimates of the given tests and files from their samples."""
        window = self.window
        for chunk in _chunks(sorted(test_ids), 500):
            marks = ",".join("?" * len(chunk))
            rows = db.execute(
                "SELECT test_id, file, setup + call + teardown, started, report_id, group_name"
                f" FROM samples"
                f" WHERE test_id IN ({marks}) ORDER BY test_id, started DESC, report_id",
                chunk,
            ).fetchall()
            by_test: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
            for test_id, *sample in rows:
                by_test[test_id].append(tuple(sample))  # file, duration, started, report, group
            updates = []
            stale: list[tuple[str, str]] = []
            for test_id, samples in by_test.items():
                newest_file, _, newest_started, _, newest_group = samples[0]
                estimate = _median(sample[1] for sample in samples[:window])
                updates.append((test_id, newest_file, estimate, newest_started, newest_group))
                stale.extend((test_id, sample[3]) for sample in samples[MAX_SAMPLES_PER_TEST:])
            db.executemany(
                "INSERT INTO tests VALUES (?, ?, ?, ?, ?) ON CONFLICT(test_id) DO UPDATE SET"
                " file = excluded.file, estimate = excluded.estimate,"
                " last_seen = excluded.last_seen, group_name = excluded.group_name",
                updates,
            )
            db.executemany("DELETE FROM samples WHERE test_id = ? AND report_id = ?", stale)
        for chunk in _chunks(sorted(files), 500):
            marks = ",".join("?" * len(chunk))
            rows = db.execute(
                f"SELECT file, collect FROM file_samples WHERE file IN ({marks})"
                " ORDER BY file, started DESC, report_id",
                chunk,
            ).fetchall()
            by_file: dict[str, list[float]] = defaultdict(list)
            for file, collect in rows:
                by_file[file].append(collect)
            db.executemany(
                "INSERT INTO files VALUES (?, ?, 0) ON CONFLICT(file) DO UPDATE SET"
                " collect = excluded.collect",
                [(f, _median(c[:window])) for f, c in by_file.items()],
            )

    def _rederive_all(self, db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            tests = {r[0] for r in db.execute("SELECT DISTINCT test_id FROM samples")}
            files = {r[0] for r in db.execute("SELECT DISTINCT file FROM file_samples")}
            self._rederive(db, tests, files)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('window', ?)", (str(self.window),))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # -- reading -----------------------------------------------------------------------

    def _read(self, query: str, params: tuple[object, ...] = ()) -> list[Any]:
        """A read that answers 'nothing known' when the store turns out to be corrupt."""
        try:
            with self._surviving() as db:
                return db.execute(query, params).fetchall()
        except sqlite3.DatabaseError:
            return []

    def current_tests(self) -> dict[str, tuple[str, float, str | None]]:
        """Tests believed to exist now: id -> (file, estimate, group).

        A test is current when it ran in, or after, the newest complete run of its file, so
        tests deleted from a file stop counting once the file has run completely again.
        """
        rows = self._read(
            "SELECT t.test_id, t.file, t.estimate, t.group_name FROM tests t"
            " LEFT JOIN files f ON f.file = t.file"
            " WHERE f.last_complete IS NULL OR t.last_seen >= f.last_complete"
        )
        return {str(r[0]): (str(r[1]), float(r[2]), _opt_str(r[3])) for r in rows}

    def file_estimates(
        self, current: Mapping[str, tuple[str, float, str | None]] | None = None
    ) -> dict[str, FileEstimate]:
        """Per known test file: its current tests' total estimate and its collect cost.

        ``current`` is ``current_tests()``, when the caller has already read it.
        """
        totals: dict[str, list[float]] = defaultdict(list)
        if current is None:
            current = self.current_tests()
        for file, estimate, _ in current.values():
            totals[file].append(estimate)
        collect = {str(r[0]): float(r[1]) for r in self._read("SELECT file, collect FROM files")}
        return {
            file: FileEstimate(
                tests=math.fsum(totals.get(file, ())),
                collect=collect.get(file, 0.0),
                count=len(totals.get(file, ())),
            )
            for file in sorted(set(totals) | set(collect))
        }

    def newest_run(self) -> float | None:
        """When the newest stored run started (epoch seconds), or None for an empty store."""
        rows = self._read("SELECT max(started) FROM reports")
        return None if not rows or rows[0][0] is None else float(rows[0][0])

    def mixed_outcomes(self) -> dict[str, list[tuple[str, str | None]]]:
        """Tests that both passed and failed in stored runs: id -> [(outcome, shard)]."""
        rows = self._read(
            "SELECT s.test_id, s.outcome, r.shard FROM samples s JOIN reports r"
            " ON r.id = s.report_id WHERE s.test_id IN (SELECT test_id FROM samples"
            " GROUP BY test_id HAVING sum(outcome = 'passed') > 0"
            " AND sum(outcome IN ('failed', 'error', 'crashed')) > 0)"
            " ORDER BY s.test_id, s.started"
        )
        result: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
        for test_id, outcome, shard in rows:
            result[str(test_id)].append((str(outcome), _opt_str(shard)))
        return dict(result)

    def startup_estimate(self) -> float | None:
        rows = self._read(
            "SELECT startup FROM reports WHERE startup IS NOT NULL ORDER BY started DESC LIMIT ?",
            (self.window,),
        )
        return _median(float(r[0]) for r in rows) if rows else None

    def runs(self) -> list[Run]:
        """Every stored run, rebuilt as reports, oldest first (for export)."""
        result: dict[str, Run] = {}
        for rid, run_id, shard, started, complete, startup, _ in self._read(
            "SELECT * FROM reports ORDER BY started, id"
        ):
            result[str(rid)] = Run(
                RunHeader(
                    report_id=str(rid),
                    run_id=str(run_id),
                    started=float(started),
                    complete=bool(complete),
                    shard=_opt_str(shard),
                    startup=None if startup is None else float(startup),
                )
            )
        for rid, tid, file, setup, call, teardown, outcome, group, _ in self._read(
            "SELECT * FROM samples ORDER BY report_id, test_id"
        ):
            run = result.get(str(rid))
            if run is not None:
                run.tests[str(tid)] = TestRecord(
                    id=str(tid),
                    file=str(file),
                    setup=float(setup),
                    call=float(call),
                    teardown=float(teardown),
                    outcome=str(outcome),
                    group=_opt_str(group),
                )
        for rid, file, collect, _ in self._read(
            "SELECT * FROM file_samples ORDER BY report_id, file"
        ):
            run = result.get(str(rid))
            if run is not None:
                run.files[str(file)] = FileRecord(file=str(file), collect=float(collect))
        return list(result.values())


class Estimator:
    """Estimates for any test id: known tests from the store, others from their neighbours."""

    def __init__(self, known: Mapping[str, tuple[str, float, str | None]]) -> None:
        self.known = known
        by_file: dict[str, list[float]] = defaultdict(list)
        by_dir: dict[str, list[float]] = defaultdict(list)
        for file, estimate, _ in known.values():
            by_file[file].append(estimate)
            directory = posixpath.dirname(file)
            while directory:  # every enclosing directory, so a new subdirectory finds its parent
                by_dir[directory].append(estimate)
                directory = posixpath.dirname(directory)
        self.file_typical = {f: _median(v) for f, v in by_file.items()}
        self.dir_typical = {d: _median(v) for d, v in by_dir.items()}
        values = [estimate for _, estimate, _ in known.values()]
        self.suite_typical = _median(values) if values else DEFAULT_TEST_SECONDS

    def test(self, test_id: str, file: str) -> float:
        known = self.known.get(test_id)
        if known is not None:
            return known[1]
        if file in self.file_typical:
            return self.file_typical[file]
        directory = posixpath.dirname(file)
        while True:
            if directory in self.dir_typical:
                return self.dir_typical[directory]
            if not directory:
                return self.suite_typical
            directory = posixpath.dirname(directory)


def _means_corrupt(error: sqlite3.DatabaseError) -> bool:
    """True for errors that say the file is damaged or not ours, not for locks or permissions."""
    if not isinstance(error, sqlite3.OperationalError):
        return True
    return any(s in str(error) for s in ("no such table", "no such column", "malformed"))


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
