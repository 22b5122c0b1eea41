"""Upgrades of an older fastci timings store to this schema, one version at a time."""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Callable

from fastci.plan.schema import (
    DEPS_SCHEMA,
    SCHEMA_VERSION,
    entry_content,
    file_version,
    intern,
    packed_ids,
    put_blob,
    tests_content,
    write_meta,
)

FIRST_VERSION = 1
# fastci affected's tables as version 5 had them (b560063^), frozen: DEPS_SCHEMA moves on.
V5_DEPS_SCHEMA = """
CREATE TABLE dep_recordings (commit_sha TEXT PRIMARY KEY, recorded REAL NOT NULL,
    env TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE dep_paths (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
CREATE TABLE dep_hashes (commit_sha TEXT NOT NULL, path_id INTEGER NOT NULL,
    hash TEXT NOT NULL, PRIMARY KEY (commit_sha, path_id)) WITHOUT ROWID;
CREATE TABLE dep_tests (commit_sha TEXT NOT NULL, test_id TEXT NOT NULL, outcome TEXT NOT NULL,
    markers TEXT NOT NULL, files BLOB NOT NULL, PRIMARY KEY (commit_sha, test_id)) WITHOUT ROWID;
CREATE TABLE dep_modules (commit_sha TEXT NOT NULL, path_id INTEGER NOT NULL,
    items TEXT NOT NULL, PRIMARY KEY (commit_sha, path_id)) WITHOUT ROWID;
"""
V5_TABLES = ("dep_recordings", "dep_paths", "dep_hashes", "dep_tests", "dep_modules")


def _samples_keep_groups(db: sqlite3.Connection) -> None:
    """1 -> 2: each sample keeps its run's group.

    The first stores had no samples.group_name; some later version-1 stores already had it
    (the column came before the version was raised), and those need nothing. Old samples
    take their test's group, the one every version-1 store kept per test, so the groups a
    plan reads stay what they were.
    """
    columns = {str(row[1]) for row in db.execute("PRAGMA table_info(samples)")}
    if "group_name" in columns:
        return
    db.execute("ALTER TABLE samples ADD COLUMN group_name TEXT")
    db.execute(
        "UPDATE samples SET group_name ="
        " (SELECT tests.group_name FROM tests WHERE tests.test_id = samples.test_id)"
    )


def _reports_keep_trees(db: sqlite3.Connection) -> None:
    """2 -> 3: each run keeps the git commit and tree it ran on; older runs never said (NULL)."""
    db.execute("ALTER TABLE reports ADD COLUMN commit_sha TEXT")
    db.execute("ALTER TABLE reports ADD COLUMN tree TEXT")


def _runs_keep_parallelism_and_imports(db: sqlite3.Connection) -> None:
    """3 -> 4: each run keeps its workers and cores, each file its packages' import seconds.

    Older runs never said (NULL workers: their durations are taken as they are) and hold
    no import samples; the estimates they gave stay what they were.
    """
    db.execute("ALTER TABLE reports ADD COLUMN workers INTEGER")
    db.execute("ALTER TABLE reports ADD COLUMN cpus INTEGER")
    db.execute(
        "CREATE TABLE import_samples (report_id TEXT NOT NULL, file TEXT NOT NULL,"
        " package TEXT NOT NULL, seconds REAL NOT NULL, started REAL NOT NULL,"
        " PRIMARY KEY (file, package, report_id)) WITHOUT ROWID"
    )


def _dependency_recordings(db: sqlite3.Connection) -> None:
    """4 -> 5: the tables of fastci affected's recordings, empty: nothing was recorded yet."""
    _create(db, V5_DEPS_SCHEMA)


def _recordings_keep_units(db: sqlite3.Connection) -> None:
    """5 -> 6: recorded files keep their units, and what recordings share is kept once.

    Version 5's recordings are converted, not dropped: they have no units and their tests
    name whole files, so any change to a file still selects every test that touched it.
    dep_paths keeps its ids (the ones the tests' lists hold). A test whose
    list, or a test file whose items, no longer decode is left out: it runs, as a test
    without data does.
    """
    for table in V5_TABLES:
        db.execute(f"ALTER TABLE {table} RENAME TO v5_{table}")
    _create(db, DEPS_SCHEMA)
    db.execute("INSERT INTO dep_paths (id, path) SELECT id, path FROM v5_dep_paths")
    recordings = {}
    for commit, recorded, env in db.execute("SELECT * FROM v5_dep_recordings").fetchall():
        cursor = db.execute(
            "INSERT INTO dep_recordings (commit_sha, recorded, env) VALUES (?, ?, ?)",
            (commit, recorded, env),
        )
        recordings[commit] = int(cursor.lastrowid or 0)
    for commit, path_id, digest in db.execute("SELECT * FROM v5_dep_hashes").fetchall():
        db.execute(
            "INSERT INTO dep_files (recording, version) VALUES (?, ?)",
            (recordings[commit], file_version(db, path_id, digest, None)),
        )
    _convert_tests(db, recordings)
    for table in V5_TABLES:
        db.execute(f"DROP TABLE v5_{table}")


def _convert_tests(db: sqlite3.Connection, recordings: dict[str, int]) -> None:
    """Version 5's tests and test files' items, by node ids and shared blobs."""
    tests = db.execute("SELECT * FROM v5_dep_tests").fetchall()
    rows = db.execute("SELECT * FROM v5_dep_modules").fetchall()
    modules = [(c, path_id, items) for c, path_id, text in rows if (items := _v5_items(text))]
    nodes = intern(db, "dep_nodes", {t[1] for t in tests} | {i for m in modules for i in m[2]})
    paths = intern(db, "dep_paths", {t[1].split("::", 1)[0] for t in tests})
    tables: dict[tuple[int, int], dict[int, int]] = {}
    for commit, test, outcome, markers, files in tests:
        packed = _v5_list(files)
        if packed is not None:
            table = tables.setdefault((recordings[commit], paths[test.split("::", 1)[0]]), {})
            table[nodes[test]] = put_blob(db, entry_content(outcome, markers, packed))
    db.executemany(
        "INSERT INTO dep_tests (recording, path_id, tests) VALUES (?, ?, ?)",
        [(r, path_id, put_blob(db, tests_content(t))) for (r, path_id), t in tables.items()],
    )
    db.executemany(
        "INSERT INTO dep_modules (recording, path_id, items) VALUES (?, ?, ?)",
        [
            (recordings[c], path_id, put_blob(db, packed_ids(nodes[i] for i in items)))
            for c, path_id, items in modules
        ],
    )


def _v5_items(text: str) -> list[str] | None:
    try:
        return [str(item) for item in json.loads(text)]
    except (ValueError, TypeError):
        return None


def _v5_list(blob: bytes) -> bytes | None:
    try:
        return zlib.decompress(blob)
    except zlib.error:
        return None


def _create(db: sqlite3.Connection, schema: str) -> None:
    for statement in schema.split(";"):
        if statement.strip():
            db.execute(statement)


# MIGRATIONS[n - FIRST_VERSION] upgrades a store of version n to version n + 1.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _samples_keep_groups,
    _reports_keep_trees,
    _runs_keep_parallelism_and_imports,
    _dependency_recordings,
    _recordings_keep_units,
)


def upgrade(db: sqlite3.Connection, version: int) -> None:
    """Bring a store of ``version`` to SCHEMA_VERSION; the caller holds the transaction."""
    if not FIRST_VERSION <= version <= SCHEMA_VERSION:
        raise sqlite3.DatabaseError(f"its schema version {version} was never fastci's")
    for step in MIGRATIONS[version - FIRST_VERSION :]:
        step(db)
    write_meta(db, "schema_version", SCHEMA_VERSION)
