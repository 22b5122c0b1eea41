"""Stores written by older fastci versions are upgraded in place, keeping samples and estimates."""

from __future__ import annotations

import array
import dataclasses
import sqlite3
import zlib
from pathlib import Path

import pytest

from fastci.affected import storage
from fastci.affected.data import DepsData, TestDeps
from fastci.plan.costs import read_imports
from fastci.plan.migrations import FIRST_VERSION, MIGRATIONS, V5_DEPS_SCHEMA
from fastci.plan.schema import SCHEMA_VERSION
from fastci.plan.store import TimingsStore
from fastci.results.timings import FileRecord
from tests.plan.test_store import make_run

# The tables as fastci wrote them, frozen here: the code's SCHEMA moves on, these must not.
# Version 1 as first released (3f3ba40): samples had no group_name, tests kept the last group.
V1_FIRST = """
CREATE TABLE reports (id TEXT PRIMARY KEY, run_id TEXT NOT NULL, shard TEXT,
    started REAL NOT NULL, complete INTEGER NOT NULL, startup REAL, digest TEXT NOT NULL);
CREATE TABLE samples (report_id TEXT NOT NULL, test_id TEXT NOT NULL, file TEXT NOT NULL,
    setup REAL NOT NULL, call REAL NOT NULL, teardown REAL NOT NULL, outcome TEXT NOT NULL,
    started REAL NOT NULL, PRIMARY KEY (test_id, report_id)) WITHOUT ROWID;
CREATE TABLE file_samples (report_id TEXT NOT NULL, file TEXT NOT NULL, collect REAL NOT NULL,
    started REAL NOT NULL, PRIMARY KEY (file, report_id)) WITHOUT ROWID;
CREATE TABLE tests (test_id TEXT PRIMARY KEY, file TEXT NOT NULL, estimate REAL NOT NULL,
    last_seen REAL NOT NULL, group_name TEXT) WITHOUT ROWID;
CREATE INDEX tests_by_file ON tests (file);
CREATE TABLE files (file TEXT PRIMARY KEY, collect REAL NOT NULL,
    last_complete REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# Version 1 from 2426581 on, and version 2 (03ca3da): samples keep their run's group.
WITH_SAMPLE_GROUPS = V1_FIRST.replace(
    "outcome TEXT NOT NULL,\n", "outcome TEXT NOT NULL, group_name TEXT,\n"
)
STORES = {
    "v1 as first released": (1, V1_FIRST),
    "v1 with sample groups": (1, WITH_SAMPLE_GROUPS),
    "v2": (2, WITH_SAMPLE_GROUPS),
}


def write_old_store(path: Path, version: int, schema: str) -> None:
    """Two runs of three tests, as that version's code inserted them (positional VALUES)."""
    grouped = "group_name" in schema.split("CREATE TABLE file_samples", maxsplit=1)[0]
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA application_id = 1715685681")
    db.execute("PRAGMA journal_mode = WAL")
    db.executescript(schema)
    db.executemany("INSERT INTO meta VALUES (?, ?)", [("schema_version", str(version)),
                   ("window", "5")])  # fmt: skip
    runs = [("r1", 1.0, {"a": 1.0, "b": 2.0, "c": 4.0}), ("r2", 2.0, {"a": 3.0, "b": 2.0})]
    for report, started, seconds in runs:
        db.execute("INSERT INTO reports VALUES (?, 'run', NULL, ?, 1, 0.5, 'digest')",
                   (report, started))  # fmt: skip
        for name, call in seconds.items():
            sample = [report, f"t.py::{name}", "t.py", 0.0, call, 0.0, "passed"]
            sample += ["db"] if grouped and name == "a" else [None] if grouped else []
            marks = ", ".join("?" * (len(sample) + 1))
            db.execute(f"INSERT INTO samples VALUES ({marks})", [*sample, started])
        db.execute("INSERT INTO file_samples VALUES (?, 't.py', 0.25, ?)", (report, started))
    db.executemany("INSERT INTO tests VALUES (?, 't.py', ?, ?, ?)", [
        ("t.py::a", 2.0, 2.0, "db"), ("t.py::b", 2.0, 2.0, None), ("t.py::c", 4.0, 1.0, None),
    ])  # fmt: skip
    db.execute("INSERT INTO files VALUES ('t.py', 0.25, 2.0)")
    db.close()


@pytest.mark.parametrize("name", list(STORES))
def test_an_older_store_is_upgraded_in_place_keeping_its_samples_and_estimates(
    tmp_path: Path, name: str
) -> None:
    version, schema = STORES[name]
    path = tmp_path / "timings.db"
    write_old_store(path, version, schema)
    warnings: list[str] = []
    store = TimingsStore(path, warn=warnings.append)
    current = store.current_tests()
    # t.py::c did not run in the newest complete run (r2): it no longer counts.
    assert current == {"t.py::a": ("t.py", 2.0, "db"), "t.py::b": ("t.py", 2.0, None)}
    assert store.file_estimates()["t.py"].collect == 0.25
    assert store.startup_estimate() == 0.5
    runs = store.runs()
    assert [len(run.tests) for run in runs] == [3, 2]
    assert runs[1].tests["t.py::a"].group == "db"  # an upgraded sample has its test's group
    store.close()
    assert (warnings, list(tmp_path.glob("*.corrupt-*"))) == ([], [])
    db = sqlite3.connect(path)
    (stored,) = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    db.close()
    assert stored == str(SCHEMA_VERSION)
    # The upgraded store goes on: a new run's sample lands next to the old ones.
    store = TimingsStore(path, window=3)
    store.import_runs([make_run("r3", 3.0, {"t.py::a": 7.0})])
    assert store.current_tests()["t.py::a"] == ("t.py", 3.0, None)  # median of 1, 3 and 7


def test_an_upgrade_with_another_window_rederives_from_the_kept_samples(tmp_path: Path) -> None:
    path = tmp_path / "timings.db"
    write_old_store(path, 1, V1_FIRST)
    assert TimingsStore(path, window=1).current_tests()["t.py::a"].estimate == 3.0


def test_there_is_one_migration_step_per_version_up_to_this_one() -> None:
    assert FIRST_VERSION + len(MIGRATIONS) == SCHEMA_VERSION


def test_a_v2_store_upgraded_to_v3_keeps_old_runs_without_a_tree_and_stores_new_trees(
    tmp_path: Path,
) -> None:
    path = tmp_path / "timings.db"
    write_old_store(path, 2, WITH_SAMPLE_GROUPS)
    store = TimingsStore(path)
    new = make_run("r3", 3.0, {"t.py::a": 1.0})
    new.header = dataclasses.replace(new.header, commit="c0ffee", tree="7ree")
    store.import_runs([new])
    runs = store.runs()
    assert [(r.header.commit, r.header.tree) for r in runs] == [
        (None, None), (None, None), ("c0ffee", "7ree"),
    ]  # fmt: skip
    store.close()


# Version 3 (4ea775f): reports keep the commit and tree they ran on.
V3 = WITH_SAMPLE_GROUPS.replace(
    "digest TEXT NOT NULL);", "digest TEXT NOT NULL, commit_sha TEXT, tree TEXT);"
)


def test_a_v3_store_upgraded_to_v4_keeps_old_runs_unscaled_and_learns_workers_and_imports(
    tmp_path: Path,
) -> None:
    path = tmp_path / "timings.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA application_id = 1715685681")
    db.executescript(V3)
    db.executemany("INSERT INTO meta VALUES (?, ?)", [("schema_version", "3"), ("window", "5")])
    db.execute("INSERT INTO reports VALUES ('r1', 'run', NULL, 1.0, 1, 0.5, 'd', 'c1', 't1')")
    db.execute(
        "INSERT INTO samples VALUES ('r1', 't.py::a', 't.py', 0, 2.0, 0, 'passed', NULL, 1.0)"
    )
    db.execute("INSERT INTO tests VALUES ('t.py::a', 't.py', 2.0, 1.0, NULL)")
    db.close()
    store = TimingsStore(path)
    new = make_run("r2", 2.0, {"u.py::b": 3.0})
    new.header = dataclasses.replace(new.header, workers=4, cpus=2)
    new.files["u.py"] = FileRecord("u.py", 1.5, {"numpy": 1.0})
    store.import_runs([new])
    runs = store.runs()
    assert [(r.header.workers, r.header.cpus) for r in runs] == [(None, None), (4, 2)]
    assert runs[1].files["u.py"].packages == {"numpy": 1.0}
    # The old run's duration stands; the new one ran 4 workers on 2 cores: half of it, alone.
    assert store.current_tests()["t.py::a"].estimate == 2.0
    assert store.current_tests()["u.py::b"].estimate == 1.5
    # The file's own import is its collect time without the package it loaded first.
    assert store.file_estimates()["u.py"].collect == 0.25
    assert read_imports(store).packages == {"numpy": 0.5}
    store.close()


def write_v5_recording(path: Path) -> None:
    """A version-5 store holding one recording, as version 5 wrote it: each test's sorted
    path ids as zlib'd 4-byte differences; one test's list is damaged."""
    with TimingsStore(path) as created:
        tables = [row[0] for row in created.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'dep_%'"
        )]  # fmt: skip
    db = sqlite3.connect(path, isolation_level=None)
    for table in tables:
        db.execute(f"DROP TABLE {table}")
    db.executescript(V5_DEPS_SCHEMA)  # frozen there: version 5 as written
    db.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    db.execute("INSERT INTO dep_recordings VALUES ('c5', 1.0, '{\"python\": \"3.11\"}')")
    db.executemany("INSERT INTO dep_paths VALUES (?, ?)", [(1, "a.py"), (2, "t.py"), (3, "b.py")])
    db.executemany("INSERT INTO dep_hashes VALUES ('c5', ?, ?)", [(1, "h1"), (2, "h2"), (3, "")])
    a_and_b = zlib.compress(array.array("I", [1, 2]).tobytes())  # ids 1 and 3
    db.executemany("INSERT INTO dep_tests VALUES ('c5', ?, ?, ?, ?)", [
        ("t.py::t", "passed", "slow", a_and_b), ("t.py::u", "passed", "slow", a_and_b),
        ("t.py::v", "passed", "", b"damaged"),
    ])  # fmt: skip
    db.execute("""INSERT INTO dep_modules VALUES ('c5', 2, '["t.py::t", "t.py::u", "t.py::v"]')""")
    db.close()


def test_a_v5_store_upgraded_to_v6_keeps_its_recordings_by_whole_file_and_learns_units(
    tmp_path: Path,
) -> None:
    path = tmp_path / "timings.db"
    write_v5_recording(path)
    new = DepsData("c6", 2.0, {}, {"a.py": "h2"}, {"t.py::t": TestDeps("passed", ["a.py::f"])})
    new.units = {"a.py": {"": "s", "f": "b"}}
    with TimingsStore(path) as store:
        old = storage.load(store, "c5")
        # t.py::t and t.py::u share one entry; t.py's tests and its items are one blob each.
        assert store.db.execute("SELECT COUNT(*) FROM dep_blobs").fetchone() == (3,)
        storage.save(store, [new])
        assert storage.load(store, "c6") == new
        assert storage.recorded_commits(store) == [("c6", 2.0), ("c5", 1.0)]
    assert old == DepsData(
        "c5",
        1.0,
        {"python": "3.11"},
        {"a.py": "h1", "t.py": "h2", "b.py": ""},
        # t.py::v, whose list was damaged, has no data: it runs.
        {"t.py::t": TestDeps("passed", ["a.py", "b.py"], ["slow"]),
         "t.py::u": TestDeps("passed", ["a.py", "b.py"], ["slow"])},
        {"t.py": ["t.py::t", "t.py::u", "t.py::v"]},
    )  # fmt: skip
