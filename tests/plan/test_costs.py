"""The cost model as fastci plan and fastci run use it: real projects, real processes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastci.plan.planner import Plan
from fastci.results.timings import ReportWriter, RunHeader, TestRecord
from tests.helpers.projects import HEAVY_SECONDS, Project, write_shared_import_suite


def shards_of(plan: dict[str, Any]) -> list[tuple[float, list[str]]]:
    return [(s["predicted"], s["units"]) for s in plan["shards"]]


def test_a_shared_package_is_charged_once_to_every_shard_that_needs_it_and_the_plan_holds(
    project: Project, tmp_path: Path
) -> None:
    write_shared_import_suite(project, files=4, light=3)
    assert project.fastci("run", "-j", "1").returncode == 0
    plan = project.fastci_json("plan", "--shards", "2", "-j", "1")
    startup = plan["shard_startup"]
    for predicted, units in shards_of(plan):
        heavy = sum(1 for u in units if "heavy" in u)
        if heavy:  # paid once, whichever of its files the store saw import it first
            assert HEAVY_SECONDS + startup <= predicted < 2 * HEAVY_SECONDS + startup + 0.3 * 3
    # Each shard alone takes what the plan said, within the noise of a busy machine.
    for index, (predicted, _) in enumerate(shards_of(plan), 1):
        proc = project.fastci(
            "run", "--shard", f"{index}/2", "-j", "1", "--results", str(tmp_path / "r")
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        took = float(proc.stdout.split(", took ")[1].split("s")[0])
        assert abs(took - predicted) <= 0.5 * took + 0.5, (index, predicted, took)


def write_contended_report(path: Path, workers: int, cpus: int) -> None:
    """Two tests of 2 s each, measured by a run of ``workers`` workers on ``cpus`` cores."""
    header = RunHeader("rep", "run", 1.0, True, workers=workers, cpus=cpus, startup=0.5)
    writer = ReportWriter(path, header)
    for name in ("a", "b"):
        writer.test(TestRecord(f"test_{name}.py::test", f"test_{name}.py", 0.0, 2.0, 0.0, "passed"))
    writer.end(complete=True)
    writer.close()


def test_durations_recorded_by_more_workers_than_cores_predict_a_run_of_one_worker(
    project: Project, tmp_path: Path
) -> None:
    for name in ("a", "b"):
        project.write(f"test_{name}.py", "def test(): pass\n")
    write_contended_report(tmp_path / "four-on-two.jsonl", workers=4, cpus=2)
    assert project.fastci("timings", "import", str(tmp_path / "four-on-two.jsonl")).returncode == 0
    plan = project.fastci_json("plan", "-j", "1")
    # Each test took 2 s sharing a core with another worker: alone, 1 s.
    assert [u["duration"] for u in plan["units"].values()] == [1.0, 1.0]
    assert (plan["parallelism"], plan["rough"]) == (1.0, False)
    assert 2.5 <= plan["makespan"] < 2.7  # startup, two 1 s tests, two default imports
    two = project.fastci_json("plan", "-j", "2")
    workers = min(2, os.cpu_count() or 1)  # two workers, on as many cores as there are
    assert 0.5 + 2.04 / workers <= two["makespan"] < 0.6 + 2.04 / workers


def test_a_first_run_without_a_store_estimates_from_its_files_and_says_it_is_rough(
    project: Project,
) -> None:
    project.write("test_one.py", "def test(): pass\n")
    project.write(
        "test_many.py",
        "import pytest\n\n@pytest.mark.parametrize('n', range(50))\ndef test(n): pass\n",
    )
    plan = project.fastci_json("plan", "-j", "1")  # one worker: no file is cut
    units = plan["units"]
    assert plan["rough"] is True
    # 50 counted cases against 1 (and a little for each file's size).
    assert 40 * units["test_one.py"]["duration"] < units["test_many.py"]["duration"]
    text = project.fastci("plan").stdout
    assert "rough estimate: no timings yet" in text
    assert not (project.root / ".fastci").exists()  # planning reads; it writes no store


def test_a_plan_read_back_keeps_its_parallelism_and_roughness(project: Project) -> None:
    project.write("test_one.py", "def test(): pass\n")
    plan = Plan.from_json(project.fastci_json("plan", "-j", "1"))
    assert (plan.parallelism, plan.rough) == (1.0, True)
