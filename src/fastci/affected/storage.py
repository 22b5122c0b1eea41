"""Recordings in the timings store's dep_* tables (schema version 6): save, list, load."""

from __future__ import annotations

import array
import itertools
import json
import sqlite3
import zlib
from collections.abc import Iterable

from fastci.affected.data import DepsData, TestDeps
from fastci.affected.units import split_key
from fastci.plan.store import TimingsStore

KEEP_RECORDINGS = 20  # the newest commits' recordings; older ones are pruned on save


def save(store: TimingsStore, recordings: Iterable[DepsData]) -> None:
    """Fold recordings in: a commit already recorded gains these tests (another shard's)."""
    db = store.db
    db.execute("BEGIN IMMEDIATE")
    try:
        for data in recordings:
            _save_one(db, data)
        _prune(db)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _save_one(db: sqlite3.Connection, data: DepsData) -> None:
    old = _env(db, data.commit)
    env = {**old, **data.env}
    db.execute(
        "INSERT OR REPLACE INTO dep_recordings (commit_sha, recorded, env) VALUES (?, ?, ?)",
        (data.commit, data.recorded, json.dumps(env, sort_keys=True)),
    )
    files = {f for deps in data.tests.values() for f in deps.files}
    ids = _intern(db, {*data.hashes, *data.modules, *data.units, *files})
    _forget_stale(db, data, ids)
    db.executemany(
        "INSERT OR REPLACE INTO dep_hashes (commit_sha, path_id, hash) VALUES (?, ?, ?)",
        [(data.commit, ids[p], h) for p, h in data.hashes.items()],
    )
    db.executemany(
        "INSERT OR REPLACE INTO dep_units (commit_sha, path_id, units) VALUES (?, ?, ?)",
        [
            (data.commit, ids[p], zlib.compress(json.dumps(u, sort_keys=True).encode(), 9))
            for p, u in data.units.items()
        ],
    )
    db.executemany(
        "INSERT OR REPLACE INTO dep_tests (commit_sha, test_id, outcome, markers, files)"
        " VALUES (?, ?, ?, ?, ?)",
        [
            (data.commit, t, d.outcome, ",".join(d.markers), _pack(ids[f] for f in d.files))
            for t, d in data.tests.items()
        ],
    )
    for module, items in data.modules.items():
        row = db.execute(
            "SELECT items FROM dep_modules WHERE commit_sha = ? AND path_id = ?",
            (data.commit, ids[module]),
        ).fetchone()
        known = set(json.loads(row[0])) if row else set()
        db.execute(
            "INSERT OR REPLACE INTO dep_modules (commit_sha, path_id, items) VALUES (?, ?, ?)",
            (data.commit, ids[module], json.dumps(sorted(known | set(items)))),
        )


def _forget_stale(db: sqlite3.Connection, data: DepsData, ids: dict[str, int]) -> None:
    """Drop this commit's older tests that read a file whose content this recording saw
    differ (uncommitted edits between two runs): their data no longer says what they read.
    Their test files keep listing them, so they count as tests without data, and run."""
    now = {ids[path]: digest for path, digest in data.hashes.items()}
    moved = {
        path_id
        for path_id, digest in db.execute(
            "SELECT path_id, hash FROM dep_hashes WHERE commit_sha = ?", (data.commit,)
        )
        if now.get(path_id, digest) != digest
    }
    if not moved:
        return
    keys = dict(db.execute("SELECT id, path FROM dep_paths"))
    moved_paths = {keys[path_id] for path_id in moved}
    stale = [
        (data.commit, test)
        for test, files in db.execute(
            "SELECT test_id, files FROM dep_tests WHERE commit_sha = ?", (data.commit,)
        )
        if test not in data.tests
        and any(split_key(keys[i])[0] in moved_paths for i in _unpack(files))
    ]
    db.executemany("DELETE FROM dep_tests WHERE commit_sha = ? AND test_id = ?", stale)


def _env(db: sqlite3.Connection, commit: str) -> dict[str, str]:
    row = db.execute("SELECT env FROM dep_recordings WHERE commit_sha = ?", (commit,)).fetchone()
    return dict(json.loads(row[0])) if row else {}


def _intern(db: sqlite3.Connection, paths: set[str]) -> dict[str, int]:
    db.executemany("INSERT OR IGNORE INTO dep_paths (path) VALUES (?)", [(p,) for p in paths])
    return {p: i for i, p in db.execute("SELECT id, path FROM dep_paths") if p in paths}


def _pack(ids: Iterable[int]) -> bytes:
    """Sorted ids as their differences (mostly small, so zlib packs them tight)."""
    numbers = sorted(ids)
    deltas = [b - a for a, b in zip([0, *numbers], numbers, strict=False)]
    return zlib.compress(array.array("I", deltas).tobytes(), 9)


def _unpack(blob: bytes) -> list[int]:
    deltas = array.array("I")
    deltas.frombytes(zlib.decompress(blob))
    return list(itertools.accumulate(deltas))


def _prune(db: sqlite3.Connection) -> None:
    old = [
        row[0]
        for row in db.execute(
            "SELECT commit_sha FROM dep_recordings ORDER BY recorded DESC LIMIT -1 OFFSET ?",
            (KEEP_RECORDINGS,),
        )
    ]
    for table in ("dep_recordings", "dep_hashes", "dep_units", "dep_tests", "dep_modules"):
        db.executemany(f"DELETE FROM {table} WHERE commit_sha = ?", [(c,) for c in old])  # noqa: S608 -- table names from this module


def recorded_commits(store: TimingsStore) -> list[tuple[str, float]]:
    """(commit, when) of every recording, newest first."""
    return list(
        store.db.execute("SELECT commit_sha, recorded FROM dep_recordings ORDER BY recorded DESC")
    )


def load(store: TimingsStore, commit: str) -> DepsData:
    """The recording at ``commit`` (which recorded_commits listed)."""
    db = store.db
    paths = dict(db.execute("SELECT id, path FROM dep_paths"))
    recorded, env = db.execute(
        "SELECT recorded, env FROM dep_recordings WHERE commit_sha = ?", (commit,)
    ).fetchone()
    data = DepsData(commit, recorded, dict(json.loads(env)))
    for path_id, digest in db.execute(
        "SELECT path_id, hash FROM dep_hashes WHERE commit_sha = ?", (commit,)
    ):
        data.hashes[paths[path_id]] = digest
    for test, outcome, markers, files in db.execute(
        "SELECT test_id, outcome, markers, files FROM dep_tests WHERE commit_sha = ?", (commit,)
    ):
        data.tests[test] = TestDeps(
            outcome, [paths[i] for i in _unpack(files)], [m for m in markers.split(",") if m]
        )
    for path_id, items in db.execute(
        "SELECT path_id, items FROM dep_modules WHERE commit_sha = ?", (commit,)
    ):
        data.modules[paths[path_id]] = list(json.loads(items))
    for path_id, units in db.execute(
        "SELECT path_id, units FROM dep_units WHERE commit_sha = ?", (commit,)
    ):
        data.units[paths[path_id]] = dict(json.loads(zlib.decompress(units)))
    return data
