"""The timings store: idempotent imports, estimates, and surviving damaged or foreign files."""

from __future__ import annotations

import io
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from fastci.plan.schema import SCHEMA_VERSION
from fastci.plan.store import StoreUnusable, TimingsStore
from fastci.results.timings import (
    Run,
    RunHeader,
    TestRecord,
    export_runs,
    read_report,
)


def make_run(report_id: str, started: float, tests: dict[str, float], complete: bool = True) -> Run:
    run = Run(RunHeader(report_id=report_id, run_id="r", started=started, complete=complete))
    for test_id, seconds in tests.items():
        run.tests[test_id] = TestRecord(
            id=test_id,
            file=test_id.split("::")[0],
            setup=0.0,
            call=seconds,
            teardown=0.0,
            outcome="passed",
        )
    return run


def dump(store: TimingsStore) -> str:
    stream = io.StringIO()
    export_runs(store.runs(), stream)
    return stream.getvalue()


def test_importing_the_same_report_twice_changes_nothing(tmp_path: Path) -> None:
    store = TimingsStore(tmp_path / "t.db")
    run = make_run("a", 1.0, {"tests/test_x.py::test_1": 0.5, "tests/test_x.py::test_2": 1.5})
    first = store.import_runs([run])
    before = (dump(store), store.current_tests())
    second = store.import_runs([run])
    assert (first.runs_new, second.runs_new, second.runs_unchanged) == (1, 0, 1)
    assert (dump(store), store.current_tests()) == before


def test_the_estimate_is_the_median_of_the_most_recent_runs(tmp_path: Path) -> None:
    store = TimingsStore(tmp_path / "t.db", window=3)
    for n, seconds in enumerate([100.0, 1.0, 2.0, 30.0]):
        store.import_runs([make_run(f"r{n}", float(n), {"t.py::test": seconds})])
    # The newest three are 1, 2 and 30: the old outlier (100) no longer counts.
    assert store.current_tests()["t.py::test"][1] == 2.0


def test_tests_deleted_from_a_file_stop_counting_after_its_next_complete_run(
    tmp_path: Path,
) -> None:
    store = TimingsStore(tmp_path / "t.db")
    store.import_runs([make_run("r1", 1.0, {"f.py::old": 5.0, "f.py::kept": 1.0})])
    store.import_runs([make_run("r2", 2.0, {"f.py::kept": 1.0}, complete=False)])
    assert set(store.current_tests()) == {"f.py::old", "f.py::kept"}  # -k runs prove nothing
    store.import_runs([make_run("r3", 3.0, {"f.py::kept": 1.0})])
    assert set(store.current_tests()) == {"f.py::kept"}
    assert store.file_estimates()["f.py"].tests == 1.0


def test_a_corrupt_store_is_moved_aside_with_one_warning_and_replaced(tmp_path: Path) -> None:
    path = tmp_path / "timings.db"
    path.write_bytes(b"this is not a database, it was cut short by a cache restore" * 100)
    warnings: list[str] = []
    store = TimingsStore(path, warn=warnings.append)
    assert store.current_tests() == {}
    store.import_runs([make_run("a", 1.0, {"t.py::x": 1.0})])
    assert set(store.current_tests()) == {"t.py::x"}
    assert len(warnings) == 1
    assert "moved it to timings.db.corrupt-" in warnings[0]
    assert len(list(tmp_path.glob("timings.db.corrupt-*"))) == 1


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE meta SET value = 'abc' WHERE key = 'window'",
        "UPDATE meta SET value = 'abc' WHERE key = 'schema_version'",
        "UPDATE meta SET value = '0' WHERE key = 'schema_version'",
        "DELETE FROM meta WHERE key = 'schema_version'",
        "UPDATE tests SET estimate = 'abc'",
        "UPDATE tests SET estimate = -1e308",
        "UPDATE files SET collect = 1e400",  # infinity
        "UPDATE reports SET startup = 'soon'",
    ],
)
def test_a_store_holding_values_fastci_never_wrote_is_moved_aside(
    tmp_path: Path, damage: str
) -> None:
    path = tmp_path / "timings.db"
    with TimingsStore(path) as first:  # closed now, not whenever it is collected
        first.import_runs([make_run("a", 1.0, {"t.py::x": 1.0})])
    db = sqlite3.connect(path)
    db.execute(damage)
    db.commit()
    db.close()
    warnings: list[str] = []
    store = TimingsStore(path, warn=warnings.append)
    assert store.current_tests() == {}
    assert store.file_estimates() == {}
    assert len(warnings) == 1
    assert "moved it to timings.db.corrupt-" in warnings[0]


def test_a_foreign_sqlite_file_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "timings.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE users (name TEXT)")
    db.commit()
    db.close()
    warnings: list[str] = []
    store = TimingsStore(path, warn=warnings.append)
    store.import_runs([make_run("a", 1.0, {"t.py::x": 1.0})])
    assert "not a fastci timings store" in warnings[0]
    assert set(store.current_tests()) == {"t.py::x"}


def test_a_store_from_a_newer_fastci_is_left_untouched_and_read_as_empty_with_one_warning(
    tmp_path: Path,
) -> None:
    path = tmp_path / "timings.db"
    with TimingsStore(path) as first:  # closed now, not whenever it is collected
        first.import_runs([make_run("a", 1.0, {"t.py::x": 1.0})])
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    before = path.read_bytes()
    warnings: list[str] = []
    store = TimingsStore(path, warn=warnings.append)
    assert (store.current_tests(), store.file_estimates(), store.startup_estimate()) == (
        {},
        {},
        None,
    )
    assert len(warnings) == 1
    assert (
        f"was written by a newer fastci (schema 99; this one knows up to {SCHEMA_VERSION})"
        in warnings[0]
    )
    with pytest.raises(StoreUnusable, match="newer fastci"):
        store.import_runs([make_run("b", 2.0, {"t.py::y": 1.0})])
    store.close()
    assert path.read_bytes() == before
    assert list(tmp_path.glob("*.corrupt-*")) == []


def test_export_then_import_into_a_new_store_gives_the_same_store(tmp_path: Path) -> None:
    store = TimingsStore(tmp_path / "a.db")
    store.import_runs([make_run("r1", 1.0, {"f.py::a": 1.0, "g.py::b": 2.0})])
    store.import_runs([make_run("r2", 2.0, {"f.py::a": 3.0})])
    exported = tmp_path / "export.jsonl"
    exported.write_text(dump(store))
    copy = TimingsStore(tmp_path / "b.db")
    copy.import_runs(read_report(exported))
    assert copy.current_tests() == store.current_tests()
    assert dump(copy) == dump(store)


def _import_in_another_process(args: tuple[str, int]) -> None:
    path, n = args
    run = make_run(f"proc{n}", float(n), {f"tests/test_{n}.py::test_{k}": 0.1 for k in range(50)})
    TimingsStore(Path(path)).import_runs([run])


def test_concurrent_writers_from_many_processes_all_land(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_import_in_another_process, [(str(path), n) for n in range(8)])
    assert len(TimingsStore(path).current_tests()) == 8 * 50
