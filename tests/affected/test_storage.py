"""Recordings in a real SQLite store: they round-trip, share what repeats, prune to no orphan,
and a damaged blob costs only what it held."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from fastci.affected import storage
from fastci.affected.data import DepsData, TestDeps
from fastci.plan.store import TimingsStore

TABLES = ("dep_recordings", "dep_paths", "dep_nodes", "dep_blobs", "dep_versions",
          "dep_files", "dep_tests", "dep_modules")  # fmt: skip


def recording(commit: str, when: float, tag: str = "") -> DepsData:
    """A recording like a real one: parametrized cases share a list, a test file's items,
    a Python file's units; ``tag`` adds a test, a file and a key only this one has."""
    shared = sorted(["pkg/core.py::", "pkg/core.py::add", "tests/test_core.py::"])
    tests = {f"tests/test_core.py::test_add[{n}]": TestDeps("passed", shared) for n in range(3)}
    tests["tests/test_core.py::test_slow"] = TestDeps("failed", ["pkg/io.py"], ["slow", "db"])
    hashes = {"pkg/core.py": "c0", "pkg/io.py": "", "tests/test_core.py": "t0"}
    if tag:
        tests[f"tests/test_{tag}.py::test_it"] = TestDeps("passed", [f"pkg/{tag}.py::f"])
        hashes[f"pkg/{tag}.py"] = tag
    return DepsData(
        commit,
        when,
        {"python": "3.11"},
        hashes,
        tests,
        {"tests/test_core.py": sorted(t for t in tests if t.startswith("tests/test_core"))},
        {"pkg/core.py": {"": "s0", "add": "a0"}},
    )


def loaded(store: TimingsStore, commit: str) -> DepsData:
    """The recording, each test's keys sorted (they come back in the store's id order)."""
    data = storage.load(store, commit)
    for test, deps in data.tests.items():
        data.tests[test] = dataclasses.replace(deps, files=sorted(deps.files))
    return data


def rows(store: TimingsStore) -> dict[str, int]:
    return {t: store.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}


def test_a_recording_comes_back_as_it_was_saved_and_shards_of_one_commit_fold(
    tmp_path: Path,
) -> None:
    first, second = recording("c1", 1.0), recording("c1", 2.0, "extra")
    second.units = {"pkg/extra.py": {"f": "f0"}}
    second.env = {"SHOP_MODE": "x"}
    with TimingsStore(tmp_path / "timings.db") as store:
        storage.save(store, [first])
        assert loaded(store, "c1") == first
        storage.save(store, [second])
        first.fold(second)
        assert loaded(store, "c1") == first
        assert storage.recorded_commits(store) == [("c1", 2.0)]


def test_a_file_with_units_and_no_hash_keeps_its_units(tmp_path: Path) -> None:
    data = DepsData("c1", 1.0, units={"a.py": {"f": "x"}})
    with TimingsStore(tmp_path / "timings.db") as store:
        storage.save(store, [data])
        assert loaded(store, "c1") == data


def test_recordings_with_the_same_lists_store_each_list_file_version_and_node_once(
    tmp_path: Path,
) -> None:
    with TimingsStore(tmp_path / "timings.db") as store:
        storage.save(store, [recording("c1", 1.0)])
        one = rows(store)
        # Three parametrized cases, one list: two entries; the test file's tests, its items,
        # one file's units.
        assert one["dep_blobs"] == 5
        storage.save(store, [recording("c2", 2.0)])
        two = rows(store)
        per_recording = {"dep_recordings", "dep_files", "dep_tests", "dep_modules"}
        assert {t: two[t] for t in TABLES if t not in per_recording} == {
            t: one[t] for t in TABLES if t not in per_recording
        }
        assert {t: two[t] for t in per_recording} == {t: 2 * one[t] for t in per_recording}
        assert loaded(store, "c2") == recording("c2", 2.0)


def test_pruning_leaves_exactly_the_rows_of_the_recordings_it_keeps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage, "KEEP_RECORDINGS", 2)
    kept = [recording("c3", 3.0, "three"), recording("c4", 4.0, "four")]
    with (
        TimingsStore(tmp_path / "pruned.db") as pruned,
        TimingsStore(tmp_path / "kept.db") as fresh,
    ):
        storage.save(pruned, [recording("c1", 1.0, "one"), recording("c2", 2.0, "two")])
        storage.save(pruned, kept)
        storage.save(fresh, kept)
        assert rows(pruned) == rows(fresh)
        assert [c for c, _ in storage.recorded_commits(pruned)] == ["c4", "c3"]
        assert [loaded(pruned, c) for c in ("c3", "c4")] == kept
        # Nothing names what was pruned: no node, path or file version of c1 or c2 is left.
        names = {row[0] for row in pruned.db.execute("SELECT name FROM dep_nodes")}
        names |= {row[0] for row in pruned.db.execute("SELECT path FROM dep_paths")}
        assert not any("one" in n or "two" in n for n in names)
        assert pruned.db.execute(
            "SELECT COUNT(*) FROM dep_versions WHERE hash IN ('one', 'two')"
        ).fetchone() == (0,)


def test_a_new_run_of_a_commit_forgets_its_tests_that_read_a_file_it_saw_change(
    tmp_path: Path,
) -> None:
    before = DepsData("c1", 1.0, {}, {"x.py": "h1", "y.py": "h1"}, {
        "t.py::a": TestDeps("passed", ["x.py::f"]), "t.py::b": TestDeps("passed", ["y.py"]),
    })  # fmt: skip
    after = DepsData("c1", 2.0, {}, {"x.py": "h2"}, {"t.py::c": TestDeps("passed", ["x.py"])})
    with TimingsStore(tmp_path / "timings.db") as store:
        storage.save(store, [before, after])
        found = loaded(store, "c1")
    assert sorted(found.tests) == ["t.py::b", "t.py::c"]
    assert found.hashes == {"x.py": "h2", "y.py": "h1"}


def test_a_damaged_blob_costs_only_what_it_held_in_that_recording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged = recording("c1", 1.0, "one")
    with TimingsStore(tmp_path / "timings.db") as store:
        storage.save(store, [damaged, recording("c2", 2.0, "two")])
        store.db.execute(
            "UPDATE dep_blobs SET data = x'789c00' WHERE id = (SELECT tests FROM dep_tests"
            " JOIN dep_paths ON dep_paths.id = path_id WHERE path = 'tests/test_one.py')"
        )
        found = loaded(store, "c1")
        assert loaded(store, "c2") == recording("c2", 2.0, "two")
        # Saving again reads the damaged blob too (another shard of c1 with a changed file).
        storage.save(store, [DepsData("c1", 3.0, {}, {"pkg/one.py": "new"})])
        assert "tests/test_one.py::test_it" not in loaded(store, "c1").tests
    del damaged.tests["tests/test_one.py::test_it"]  # it runs as a test without data
    assert found == damaged
    assert capsys.readouterr().err == (
        "fastci: warning: the dependency recording at c1: 1 damaged entries left out"
        " (the tests they concern run)\n"
    )


def test_a_test_whose_outcome_changed_adds_only_its_entry_and_its_files_tests(
    tmp_path: Path,
) -> None:
    changed = recording("c2", 2.0)
    test = "tests/test_core.py::test_add[0]"
    changed.tests[test] = dataclasses.replace(changed.tests[test], outcome="failed")
    with TimingsStore(tmp_path / "timings.db") as store:
        storage.save(store, [recording("c1", 1.0)])
        before = rows(store)["dep_blobs"]
        storage.save(store, [changed])
        assert rows(store)["dep_blobs"] == before + 2
        assert loaded(store, "c2") == changed
