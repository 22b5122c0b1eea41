"""Recordings in the timings store's dep_* tables (schema version 6): save, list, load."""

from __future__ import annotations

import json
import sqlite3
import sys
import zlib
from collections.abc import Callable, Iterable
from typing import TypeVar

from fastci.affected.data import DepsData, TestDeps
from fastci.affected.units import split_key
from fastci.model import node_file
from fastci.plan.schema import (
    entry_content,
    file_version,
    intern,
    packed_ids,
    put_blob,
    tests_content,
    tests_table,
    unpacked_ids,
)
from fastci.plan.store import TimingsStore

Value = TypeVar("Value")

KEEP_RECORDINGS = 20  # the newest commits' recordings; older ones are pruned on save
# What a damaged blob raises when read: it costs its own entry, never the store.
DAMAGE = (zlib.error, ValueError, KeyError, IndexError, TypeError)


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
    recording = _recording(db, data)
    files = {f for deps in data.tests.values() for f in deps.files}
    test_files = {node_file(test) for test in data.tests}
    ids = intern(db, "dep_paths", {*data.hashes, *data.modules, *data.units, *files, *test_files})
    items = {item for listed in data.modules.values() for item in listed}
    nodes = intern(db, "dep_nodes", {*data.tests, *items})
    tables = _tables(db, recording)
    _forget_stale(db, recording, data, ids, tables)
    _save_versions(db, recording, data, ids)
    for test, deps in data.tests.items():
        tables.setdefault(ids[node_file(test)], {})[nodes[test]] = _put_entry(db, deps, ids)
    db.executemany(
        "INSERT OR REPLACE INTO dep_tests (recording, path_id, tests) VALUES (?, ?, ?)",
        [(recording, p, put_blob(db, tests_content(t))) for p, t in tables.items()],
    )
    for module, listed in data.modules.items():
        row = db.execute(
            "SELECT b.data FROM dep_modules m JOIN dep_blobs b ON b.id = m.items"
            " WHERE m.recording = ? AND m.path_id = ?",
            (recording, ids[module]),
        ).fetchone()
        known = set(_ids(row[0], 0) or ()) if row else set()
        db.execute(
            "INSERT OR REPLACE INTO dep_modules (recording, path_id, items) VALUES (?, ?, ?)",
            (recording, ids[module], put_blob(db, packed_ids(known | {nodes[i] for i in listed}))),
        )


def _tables(db: sqlite3.Connection, recording: int) -> dict[int, dict[int, int]]:
    """The recording's test files: path id -> node id -> entry id (none if damaged)."""
    rows = db.execute(
        "SELECT t.path_id, b.data FROM dep_tests t LEFT JOIN dep_blobs b ON b.id = t.tests"
        " WHERE t.recording = ?",
        (recording,),
    )
    return {path_id: _table(blob) or {} for path_id, blob in rows}


def _recording(db: sqlite3.Connection, data: DepsData) -> int:
    """The id of this commit's recording, its env and time updated; a new one if none."""
    row = db.execute(
        "SELECT id, env FROM dep_recordings WHERE commit_sha = ?", (data.commit,)
    ).fetchone()
    env = json.dumps({**(json.loads(row[1]) if row else {}), **data.env}, sort_keys=True)
    if row:
        db.execute(
            "UPDATE dep_recordings SET recorded = ?, env = ? WHERE id = ?",
            (data.recorded, env, row[0]),
        )
        return int(row[0])
    cursor = db.execute(
        "INSERT INTO dep_recordings (commit_sha, recorded, env) VALUES (?, ?, ?)",
        (data.commit, data.recorded, env),
    )
    return int(cursor.lastrowid or 0)


def _put_entry(db: sqlite3.Connection, deps: TestDeps, ids: dict[str, int]) -> int:
    packed = packed_ids(ids[f] for f in deps.files)
    return put_blob(db, entry_content(deps.outcome, ",".join(deps.markers), packed))


def _save_versions(
    db: sqlite3.Connection, recording: int, data: DepsData, ids: dict[str, int]
) -> None:
    """This recording's files take the hashes and units it saw (each kept as before where
    this part of the recording did not see it)."""
    seen = {
        path_id: (version, digest, units)
        for version, path_id, digest, units in db.execute(
            "SELECT v.id, v.path_id, v.hash, v.units FROM dep_files f"
            " JOIN dep_versions v ON v.id = f.version WHERE f.recording = ?",
            (recording,),
        )
    }
    for path in {*data.hashes, *data.units}:
        old, digest, units = seen.get(ids[path], (None, None, None))
        if path in data.hashes:
            digest = data.hashes[path]
        if path in data.units:
            units = put_blob(db, json.dumps(data.units[path], sort_keys=True).encode())
        db.execute("DELETE FROM dep_files WHERE recording = ? AND version = ?", (recording, old))
        db.execute(
            "INSERT OR IGNORE INTO dep_files (recording, version) VALUES (?, ?)",
            (recording, file_version(db, ids[path], digest, units)),
        )


def _forget_stale(
    db: sqlite3.Connection,
    recording: int,
    data: DepsData,
    ids: dict[str, int],
    tables: dict[int, dict[int, int]],
) -> None:
    """Drop this commit's older tests that read a file whose content this recording saw
    differ (uncommitted edits between two runs): their data no longer says what they read.
    Their test files keep listing them, so they count as tests without data, and run.
    A test whose entry is damaged goes too."""
    now = {ids[path]: digest for path, digest in data.hashes.items()}
    moved = {
        path_id
        for path_id, digest in db.execute(
            "SELECT v.path_id, v.hash FROM dep_files f JOIN dep_versions v ON v.id = f.version"
            " WHERE f.recording = ? AND v.hash IS NOT NULL",
            (recording,),
        )
        if now.get(path_id, digest) != digest
    }
    if not moved:
        return
    keys = dict(db.execute("SELECT id, path FROM dep_paths"))
    moved_paths = {keys[path_id] for path_id in moved}
    names = dict(db.execute("SELECT id, name FROM dep_nodes"))
    for table in tables.values():
        entries = _blobs(db, set(table.values()))
        for node, entry in list(table.items()):
            if names.get(node) not in data.tests and _reads_any(
                entries.get(entry), keys, moved_paths
            ):
                del table[node]


def _blobs(db: sqlite3.Connection, ids: set[int]) -> dict[int, bytes]:
    """The data of these dep_blobs ids (those that exist)."""
    ordered = sorted(ids)
    found: dict[int, bytes] = {}
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        found.update(db.execute(f"SELECT id, data FROM dep_blobs WHERE id IN ({marks})", chunk))  # noqa: S608 -- only marks
    return found


def _reads_any(entry: bytes | None, keys: dict[int, str], paths: set[str]) -> bool:
    deps = _entry(entry, keys)
    return deps is None or any(split_key(key)[0] in paths for key in deps.files)


def _ids(blob: bytes | None, part: int) -> list[int] | None:
    """The packed ids after the blob's first ``part`` lines (a test's entry: 2, collected
    items: 0); None when the blob is damaged or missing."""
    try:
        return unpacked_ids(zlib.decompress(blob or b"").split(b"\n", part)[part])
    except DAMAGE:
        return None


def _entry(blob: bytes | None, keys: dict[int, str]) -> TestDeps | None:
    """A test's entry; None when its blob is damaged or names an unknown key."""
    try:
        outcome, markers, packed = zlib.decompress(blob or b"").split(b"\n", 2)
        files = [keys[i] for i in unpacked_ids(packed)]
        return TestDeps(outcome.decode(), files, [m for m in markers.decode().split(",") if m])
    except DAMAGE:
        return None


def _table(blob: bytes | None) -> dict[int, int] | None:
    try:
        return tests_table(zlib.decompress(blob or b""))
    except DAMAGE:
        return None


def _items(blob: bytes | None, nodes: dict[int, str]) -> list[str] | None:
    ids = _ids(blob, 0)
    if ids is None or not all(i in nodes for i in ids):
        return None
    return sorted(nodes[i] for i in ids)


def _units(blob: bytes | None) -> dict[str, str] | None:
    try:
        return dict(json.loads(zlib.decompress(blob or b"")))
    except DAMAGE:
        return None


def _prune(db: sqlite3.Connection) -> None:
    """Drop all but the newest recordings, then every shared row none of the rest names."""
    old = [
        (row[0],)
        for row in db.execute(
            "SELECT id FROM dep_recordings ORDER BY recorded DESC LIMIT -1 OFFSET ?",
            (KEEP_RECORDINGS,),
        )
    ]
    db.executemany("DELETE FROM dep_recordings WHERE id = ?", old)
    for table in ("dep_files", "dep_tests", "dep_modules"):
        db.executemany(f"DELETE FROM {table} WHERE recording = ?", old)  # noqa: S608 -- table names from this module
    _sweep(db)


def _sweep(db: sqlite3.Connection) -> None:
    """Delete the shared rows no recording names any more (a damaged blob names none)."""
    db.execute("DELETE FROM dep_versions WHERE id NOT IN (SELECT version FROM dep_files)")
    nodes: set[int] = set()
    entries: set[int] = set()
    for (blob,) in db.execute(
        "SELECT data FROM dep_blobs WHERE id IN (SELECT tests FROM dep_tests)"
    ):
        table = _table(blob) or {}
        nodes.update(table)
        entries.update(table.values())
    for (blob,) in db.execute(
        "SELECT data FROM dep_blobs WHERE id IN (SELECT items FROM dep_modules)"
    ):
        nodes.update(_ids(blob, 0) or ())
    paths = _named(db, "SELECT path_id FROM dep_versions UNION SELECT path_id FROM dep_modules"
                   " UNION SELECT path_id FROM dep_tests")  # fmt: skip
    for blob in _blobs(db, entries).values():
        paths.update(_ids(blob, 2) or ())
    blobs = entries | _named(db, "SELECT tests FROM dep_tests UNION SELECT items FROM"
                             " dep_modules UNION SELECT units FROM dep_versions")  # fmt: skip
    for name, kept in (("dep_blobs", blobs), ("dep_nodes", nodes), ("dep_paths", paths)):
        gone = [(i,) for (i,) in db.execute(f"SELECT id FROM {name}") if i not in kept]  # noqa: S608 -- names from this module
        db.executemany(f"DELETE FROM {name} WHERE id = ?", gone)  # noqa: S608


def _named(db: sqlite3.Connection, query: str) -> set[int]:
    return {int(i) for (i,) in db.execute(query) if i is not None}


def recorded_commits(store: TimingsStore) -> list[tuple[str, float]]:
    """(commit, when) of every recording, newest first."""
    return list(
        store.db.execute("SELECT commit_sha, recorded FROM dep_recordings ORDER BY recorded DESC")
    )


def load(store: TimingsStore, commit: str) -> DepsData:
    """The recording at ``commit`` (which recorded_commits listed). A damaged blob leaves
    out what it held, with one warning: its tests count as tests without data, and run."""
    db = store.db
    recording, recorded, env = db.execute(
        "SELECT id, recorded, env FROM dep_recordings WHERE commit_sha = ?", (commit,)
    ).fetchone()
    data = DepsData(commit, recorded, dict(json.loads(env)))
    keys = dict(db.execute("SELECT id, path FROM dep_paths"))
    nodes = dict(db.execute("SELECT id, name FROM dep_nodes"))
    data.hashes = {
        keys[path_id]: digest
        for path_id, digest in db.execute(
            "SELECT v.path_id, v.hash FROM dep_files f JOIN dep_versions v ON v.id = f.version"
            " WHERE f.recording = ? AND v.hash IS NOT NULL",
            (recording,),
        )
    }
    units = db.execute(
        "SELECT p.path, b.data FROM dep_files f JOIN dep_versions v ON v.id = f.version"
        " JOIN dep_paths p ON p.id = v.path_id LEFT JOIN dep_blobs b ON b.id = v.units"
        " WHERE f.recording = ? AND v.units IS NOT NULL",
        (recording,),
    )
    damaged = _decode_into(data.units, _units, units)
    entries: dict[int, int] = {}
    for (blob,) in db.execute(
        "SELECT b.data FROM dep_tests t LEFT JOIN dep_blobs b ON b.id = t.tests"
        " WHERE t.recording = ?",
        (recording,),
    ):
        table = _table(blob)
        damaged += table is None
        entries.update(table or {})
    blobs = _blobs(db, set(entries.values()))
    tests = ((nodes.get(n, ""), blobs.get(e) if n in nodes else None) for n, e in entries.items())
    damaged += _decode_into(data.tests, lambda blob: _entry(blob, keys), tests)
    modules = db.execute(
        "SELECT p.path, b.data FROM dep_modules m JOIN dep_paths p ON p.id = m.path_id"
        " LEFT JOIN dep_blobs b ON b.id = m.items WHERE m.recording = ?",
        (recording,),
    )
    damaged += _decode_into(data.modules, lambda blob: _items(blob, nodes), modules)
    if damaged:
        print(f"fastci: warning: the dependency recording at {commit[:12]}: {damaged} damaged"
              " entries left out (the tests they concern run)", file=sys.stderr)  # fmt: skip
    return data


def _decode_into(
    found: dict[str, Value],
    decode: Callable[[bytes | None], Value | None],
    rows: Iterable[tuple[str, bytes | None]],
) -> int:
    """Each row's blob, decoded, under its name; how many were damaged (left out)."""
    damaged = 0
    for name, blob in rows:
        value = decode(blob)
        if value is None:
            damaged += 1
        else:
            found[name] = value
    return damaged
