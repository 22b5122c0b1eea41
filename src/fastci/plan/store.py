"""The timings store: an SQLite file that owns every measured duration and estimates new ones.

Reports (see fastci.results.timings) are folded in by ``import_runs``; a run already imported
with the same content changes nothing. Estimates (fastci.plan.estimates) are the median of a
test's last ``window`` samples.

The store is a cache, so it never fails a run:

- a file that is damaged, foreign or half-written is moved aside with one warning line and
  replaced by a new store (``runs()``, the export, fails instead: an export must be whole);
- a store of an older fastci is upgraded in place (fastci.plan.migrations);
- a store of a newer fastci, or one that cannot be opened, written or moved (permissions, a
  read-only directory, a lock held too long) is left as it is: reads answer "nothing known"
  after one warning line, writes raise StoreUnusable for the caller to report. A store that
  can be read but not written is read as it is, in its stored estimate window.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from fastci.errors import ExitCode, FastciError, UsageError
from fastci.files import ensure_dir
from fastci.plan.estimates import FileEstimate, KnownTest, median
from fastci.plan.folding import ImportResult, fold_runs, rederive_all, unfold_runs
from fastci.plan.migrations import upgrade
from fastci.plan.schema import (
    APPLICATION_ID,
    SCHEMA,
    SCHEMA_VERSION,
    UNSOUND_VALUES,
    Row,
    fetch,
    meta_number,
    write_meta,
)
from fastci.results.timings import Run


class StoreUnusable(UsageError):
    """The store cannot be used as it is: unwritable, unopenable, locked, or a newer fastci's."""


class StoreDamaged(FastciError):
    """The store is damaged where a whole answer was needed (an export): results incomplete."""

    exit_code = ExitCode.RESULTS_INCOMPLETE


class _Current(NamedTuple):
    test_id: str
    file: str
    estimate: float
    group_name: str | None


class OutcomeRow(NamedTuple):
    test_id: str
    outcome: str
    started: float
    shard: str | None
    commit_sha: str | None
    tree: str | None


def warn(message: str) -> None:
    print(f"fastci: warning: {message}", file=sys.stderr)


class TimingsStore:
    """The store at ``path``; opened lazily, created atomically, survives corruption."""

    def __init__(self, path: Path, window: int = 5, warn: Callable[[str], None] = warn) -> None:
        self.path = path
        self.window = window
        self._warn = warn
        self._db: sqlite3.Connection | None = None
        self._read_only: str | None = None  # why this store can be read but not written
        self._reported = False  # an unusable store is reported once, on the first read

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
        """The checked store; a damaged one is moved aside (one warning) and replaced."""
        try:
            return self._open_checked()
        except sqlite3.DatabaseError as e:
            if not _means_corrupt(e):
                raise self._unusable(e) from None
            self._set_aside(str(e))
        self._create()
        return self._connect()

    def _open_checked(self) -> sqlite3.Connection:
        """The store, created if missing, checked and upgraded; damage raises DatabaseError."""
        if not self.path.exists():
            self._create()
        db = self._connect()
        try:
            self._check(db)
        except BaseException:
            db.close()
            raise
        return db

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout = 60000")
            db.execute("PRAGMA application_id").fetchone()  # the file is opened here
        except sqlite3.OperationalError as e:
            db.close()
            if "unable to open" not in str(e) or not self.path.exists():
                raise self._unusable(e) from None
            # A WAL store in a directory it cannot write (no -shm can be made): read the file
            # as it was last checkpointed, which is all of it once its writers have closed.
            self._read_only = f"its directory is read-only ({e})"
            uri = f"{self.path.resolve().as_uri()}?immutable=1"
            return sqlite3.connect(uri, uri=True, isolation_level=None)
        if not os.access(self.path, os.W_OK):
            self._read_only = "its file is read-only"
        return db

    def _check(self, db: sqlite3.Connection) -> None:
        (app_id,) = db.execute("PRAGMA application_id").fetchone()
        if app_id != APPLICATION_ID:
            raise sqlite3.DatabaseError("not a fastci timings store")
        version = meta_number(db, "schema_version")
        if version is None:
            raise sqlite3.DatabaseError("it has no schema version")
        if version > SCHEMA_VERSION:
            raise StoreUnusable(
                f"timings store {self.path} was written by a newer fastci (schema {version}; "
                f"this one knows up to {SCHEMA_VERSION}) and is left as it is: upgrade fastci "
                "or pass another --store"
            )
        if version < SCHEMA_VERSION and self._read_only is not None:
            raise StoreUnusable(
                f"timings store {self.path} has schema {version} and cannot be upgraded to "
                f"{SCHEMA_VERSION}: {self._read_only}"
            )
        if version < SCHEMA_VERSION:
            self._write(db, self._upgrade)
        window = meta_number(db, "window")
        if db.execute(UNSOUND_VALUES).fetchone()[0]:
            raise sqlite3.DatabaseError("it holds durations that are not seconds")
        if window != self.window and self._read_only is None:
            self._write(db, lambda db: rederive_all(db, self.window))

    def _upgrade(self, db: sqlite3.Connection) -> None:
        # Read again under the write lock: another process may have upgraded it meanwhile.
        version = meta_number(db, "schema_version")
        if version is not None and version < SCHEMA_VERSION:
            upgrade(db, version)

    def _write(self, db: sqlite3.Connection, change: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``change`` in one transaction under SQLite's write lock; all or nothing."""
        if self._read_only is not None:
            raise StoreUnusable(f"timings store {self.path} cannot be written: {self._read_only}")
        db.execute("BEGIN IMMEDIATE")
        try:
            result = change(db)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return result

    def _create(self) -> None:
        """Build the schema in a private file, then link it into place: never half-created."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.new")
        try:
            ensure_dir(self.path.parent)
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            self._build(tmp)
            with contextlib.suppress(FileExistsError):  # another process was first: use theirs
                os.link(tmp, self.path)
        except (OSError, sqlite3.OperationalError) as e:
            raise StoreUnusable(f"cannot create timings store {self.path}: {_why(e)}") from None
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()

    def _build(self, path: Path) -> None:
        db = sqlite3.connect(path, isolation_level=None)
        try:
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(SCHEMA)
            write_meta(db, "schema_version", SCHEMA_VERSION)
            write_meta(db, "window", self.window)
        finally:
            db.close()

    def _move_aside(self, reason: str) -> str:
        """Move the damaged file aside; says where, or raises StoreUnusable if it cannot."""
        stamp = time.strftime("%Y%m%dT%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{os.getpid()}")
        self.close()
        try:
            os.replace(self.path, aside)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise StoreUnusable(
                f"timings store {self.path} is unreadable ({reason}) and cannot be moved "
                f"aside ({e.strerror})"
            ) from None
        for suffix in ("-wal", "-shm"):  # its journal must not be replayed into a new store
            with contextlib.suppress(OSError):
                Path(f"{self.path}{suffix}").unlink()
        return f"timings store {self.path} is unreadable ({reason}); moved it to {aside.name}"

    def _set_aside(self, reason: str) -> None:
        self._warn(f"{self._move_aside(reason)} and started a new one")

    def _unusable(self, error: sqlite3.DatabaseError) -> StoreUnusable:
        return StoreUnusable(f"timings store {self.path} cannot be used: {error}")

    @contextlib.contextmanager
    def _surviving(self) -> Iterator[sqlite3.Connection]:
        """Run a block against the db; if the file turns out damaged mid-way, move it aside."""
        try:
            yield self.db
        except sqlite3.DatabaseError as e:
            if not _means_corrupt(e):
                raise self._unusable(e) from None
            self._set_aside(str(e))
            raise

    # -- writing -----------------------------------------------------------------------

    def import_runs(self, runs: Iterable[Run]) -> ImportResult:
        """Fold runs into the store; a run already imported with the same content is skipped.

        A store found damaged on the way is moved aside and the runs go into a new one.
        """
        runs = list(runs)
        with contextlib.suppress(sqlite3.DatabaseError):
            return self._import(runs)
        return self._import(runs)

    def _import(self, runs: list[Run]) -> ImportResult:
        with self._surviving() as db:
            result: ImportResult = self._write(db, lambda db: fold_runs(db, runs, self.window))
            return result

    # -- reading -----------------------------------------------------------------------

    def read(
        self, make: Callable[[Iterable[Any]], Row], query: str, params: tuple[object, ...] = ()
    ) -> list[Row]:
        """A read that answers 'nothing known' when the store is damaged or unusable."""
        try:
            with self._surviving() as db:
                return fetch(db, make, query, params)
        except StoreUnusable as e:
            if not self._reported:
                self._reported = True
                self._warn(f"{e.message}; going on without it")
        except sqlite3.DatabaseError:
            pass
        return []

    def current_tests(self) -> dict[str, KnownTest]:
        """Tests believed to exist now: id -> (file, estimate, group).

        A test is current when it ran in, or after, the newest complete run of its file, so
        tests deleted from a file stop counting once the file has run completely again.
        """
        rows = self.read(
            _Current._make,
            "SELECT t.test_id, t.file, t.estimate, t.group_name FROM tests t"
            " LEFT JOIN files f ON f.file = t.file"
            " WHERE f.last_complete IS NULL OR t.last_seen >= f.last_complete",
        )
        return {r.test_id: KnownTest(r.file, r.estimate, r.group_name) for r in rows}

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
        rows = self.read(_FileCollect._make, "SELECT file, collect FROM files")
        collect = {r.file: r.collect for r in rows}
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
        rows = self.read(_Seconds._make, "SELECT max(started) AS seconds FROM reports")
        return rows[0].seconds if rows else None

    def outcome_history(self, also: Collection[str] = ()) -> list[OutcomeRow]:
        """Every stored outcome of a test that ever failed or was flaky (and of the tests
        ``also``), oldest first, with the shard, commit and tree of its run."""
        return self.read(
            OutcomeRow._make,
            "SELECT s.test_id, s.outcome, s.started, r.shard, r.commit_sha, r.tree"
            " FROM samples s JOIN reports r ON r.id = s.report_id WHERE s.test_id IN"
            " (SELECT test_id FROM samples WHERE outcome IN ('failed', 'error', 'crashed',"
            " 'flaky')) OR s.test_id IN (SELECT value FROM json_each(?))"
            " ORDER BY s.test_id, s.started",
            (json.dumps(sorted(also)),),
        )

    def startup_estimate(self) -> float | None:
        rows = self.read(
            _Seconds._make,
            "SELECT startup AS seconds FROM reports WHERE startup IS NOT NULL"
            " ORDER BY started DESC LIMIT ?",
            (self.window,),
        )
        return median(r.seconds for r in rows if r.seconds is not None) if rows else None

    def runs(self) -> list[Run]:
        """Every stored run, rebuilt as reports, oldest first (for export).

        An export must be whole: a store damaged anywhere is moved aside and StoreDamaged
        (exit 7) raised, with one line that says where it went.
        """
        try:
            db = self._db or self._open_checked()
            self._db = db
            problems = [str(r[0]) for r in db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                detail = problems[0].replace("*** in database main ***", "")
                raise sqlite3.DatabaseError(f"malformed: {' '.join(detail.split())}")
            return unfold_runs(db)
        except sqlite3.DatabaseError as e:
            if not _means_corrupt(e):
                raise self._unusable(e) from None
            raise StoreDamaged(f"{self._move_aside(str(e))}; nothing was exported") from None


class _FileCollect(NamedTuple):
    file: str
    collect: float


class _Seconds(NamedTuple):
    seconds: float | None


def _means_corrupt(error: sqlite3.DatabaseError) -> bool:
    """True for errors that say the file is damaged or not ours, not for locks or permissions."""
    if not isinstance(error, sqlite3.OperationalError):
        return True
    return any(s in str(error) for s in ("no such table", "no such column", "malformed"))


def _why(error: BaseException) -> str:
    if isinstance(error, FileExistsError | NotADirectoryError) and error.filename:
        return f"{error.filename} is not a directory"
    return (error.strerror or str(error)) if isinstance(error, OSError) else str(error)
