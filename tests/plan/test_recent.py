"""What a real timings store's newest run says: what failed in it (every shard), and when."""

from __future__ import annotations

from pathlib import Path

from fastci.plan.recent import last_run
from fastci.plan.store import TimingsStore
from fastci.results.timings import Run, RunHeader, TestRecord


def run(run_id: str, shard: str | None, started: float, outcomes: dict[str, str]) -> Run:
    header = RunHeader(
        report_id=f"{run_id}-{shard}", run_id=run_id, started=started, complete=shard is None,
        shard=shard, commit="c0ffee" if run_id == "new" else None,
    )  # fmt: skip
    tests = {
        test: TestRecord(test, test.split("::")[0], 0.0, 0.1, 0.0, outcome)
        for test, outcome in outcomes.items()
    }
    return Run(header, tests)


def test_the_newest_runs_failures_count_from_every_shard_and_older_ones_do_not(
    tmp_path: Path,
) -> None:
    with TimingsStore(tmp_path / "timings.db") as store:
        store.import_runs([
            run("old", None, 100.0, {"tests/test_a.py::test_x": "failed"}),
            run("new", "1/2", 200.0, {"tests/test_a.py::test_x": "passed",
                                      "tests/test_b.py::test_y": "error"}),
            run("new", "2/2", 201.0, {"tests/test_c.py::test_z": "crashed",
                                      "tests/test_d.py::test_w": "skipped"}),
        ])  # fmt: skip
        last = last_run(store)
    assert last is not None
    assert last.failed == {"tests/test_b.py::test_y", "tests/test_c.py::test_z"}
    assert last.failed_files == {"tests/test_b.py", "tests/test_c.py"}
    assert (last.started, last.commit) == (200.0, "c0ffee")  # its first shard's start
    assert last.tests_per_file == {f"tests/test_{n}.py": 1 for n in "abcd"}


def test_an_empty_or_damaged_store_says_nothing(tmp_path: Path) -> None:
    with TimingsStore(tmp_path / "timings.db") as store:
        store.import_runs([])
        assert last_run(store) is None
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"not a database at all" * 100)
    warnings: list[str] = []
    with TimingsStore(damaged, warn=warnings.append) as store:
        assert last_run(store) is None
