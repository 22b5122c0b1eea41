"""``fastci plan`` and ``fastci timings`` as a user runs them: real processes on a real project."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fastci.model import in_part
from fastci.results.timings import FileRecord, ReportWriter, RunHeader, TestRecord
from tests.helpers.projects import SAMPLE_TEST_COUNT, Project, write_report, write_sample_suite


def shard_contents(plan: dict[str, object], all_tests: set[str]) -> list[list[str]]:
    """Each shard's tests: units naming tests list them; file units hold all of a file's
    tests, or a part of them."""
    units: dict[str, dict[str, object]] = plan["units"]  # type: ignore[assignment]
    shards: list[dict[str, object]] = plan["shards"]  # type: ignore[assignment]
    result = []
    for shard in shards:
        tests: list[str] = []
        for uid in shard["units"]:  # type: ignore[attr-defined]
            unit = units[uid]
            if unit["tests"] is not None:
                tests.extend(unit["tests"])  # type: ignore[arg-type]
            else:  # a file, or one part of a file never run (fastci.model.in_part)
                files: list[str] = unit["files"]  # type: ignore[assignment]
                part = unit.get("part")
                tests.extend(
                    t
                    for t in all_tests
                    if t.split("::")[0] in files and (part is None or in_part(t, tuple(part)))  # type: ignore[arg-type]
                )
        result.append(tests)
    return result


@pytest.mark.parametrize("granularity", ["file", "class", "test"])
def test_every_test_lands_in_exactly_one_shard_for_one_to_eight_shards(
    project: Project, granularity: str
) -> None:
    write_sample_suite(project)
    all_tests = project.collected_ids()
    assert len(all_tests) == SAMPLE_TEST_COUNT
    for shard_count in range(1, 9):
        plan = project.fastci_json(
            "plan", "--shards", str(shard_count), "--granularity", granularity
        )
        shards = shard_contents(plan, all_tests)
        placed = [t for shard in shards for t in shard]
        assert sorted(placed) == sorted(all_tests), (granularity, shard_count)
        if len(plan["units"]) >= shard_count:
            assert all(shards), f"an empty shard at {granularity}, {shard_count} shards"


def test_tests_sharing_a_group_marker_stay_in_one_shard(project: Project) -> None:
    write_sample_suite(project)
    plan = project.fastci_json("plan", "--shards", "8", "--granularity", "test")
    shards = shard_contents(plan, project.collected_ids())
    grouped = {
        "tests/test_beta.py::test_grouped_here",
        "tests/sub/test_gamma.py::test_grouped_there",
    }
    assert sum(1 for shard in shards if grouped & set(shard)) == 1


def test_plans_are_byte_identical_across_processes_and_hash_seeds(project: Project) -> None:
    """Uneven durations and import costs, as on a real suite: float sums must not depend on
    the order a set is iterated in, which changes with PYTHONHASHSEED from process to process."""
    for n in range(40):
        project.write(f"tests/d{n % 7}/test_m{n}.py", f"def test_a(): pass\n# {'x' * n * 37}\n")
    report = project.root / "report.jsonl"
    writer = ReportWriter(report, RunHeader("r", "run", 1.0, complete=True))
    for n in range(40):
        file = f"tests/d{n % 7}/test_m{n}.py"
        writer.test(
            TestRecord(f"{file}::test_a", file, 0.01 * n, 1.7 ** (n % 11) / 3, 0.0, "passed")
        )
        writer.file(FileRecord(file, 0.013 * (n % 13) + 0.1 / (n + 1)))
    writer.end(complete=True)
    writer.close()
    assert project.fastci("timings", "import", str(report)).returncode == 0
    plans = {
        project.fastci("plan", "--shards", "4", "--json", env={"PYTHONHASHSEED": str(seed)}).stdout
        for seed in range(1, 7)
    }
    assert len(plans) == 1
    assert '"lower_bound"' in plans.pop()


def test_known_timings_drive_the_plan_and_unknown_tests_get_estimates(project: Project) -> None:
    write_sample_suite(project)
    report = project.root / "report.jsonl"
    write_report(
        report, {"tests/sub/test_delta.py::test_d1": 30.0, "tests/sub/test_delta.py::test_d2": 10.0}
    )
    imported = project.fastci("timings", "import", str(report))
    assert imported.returncode == 0, imported.stderr
    assert "imported 1 new run(s)" in imported.stdout
    plan = project.fastci_json("plan", "--shards", "2", "--granularity", "test")
    units: dict[str, dict[str, float]] = plan["units"]
    assert units["tests/sub/test_delta.py::test_d1"]["duration"] == 30.0
    # Never seen, but in a file whose tests are known: that file's typical test (median 20 s).
    assert units["tests/sub/test_delta.py::test_d3"]["duration"] == 20.0
    assert all(u["duration"] > 0 for u in units.values())
    again = project.fastci("timings", "import", str(report))
    assert "imported 0 new run(s)" in again.stdout
    assert "1 already in the store" in again.stdout


def test_plan_text_shows_shards_makespan_and_lower_bound(project: Project) -> None:
    write_sample_suite(project)
    proc = project.fastci("plan", "--shards", "2")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert re.match(r"2 shards, file granularity, \d+ units from 5 test files", lines[0])
    assert sum(1 for line in lines if line.startswith("shard ")) == 2
    assert "predicted makespan" in lines[-1]
    assert "lower bound" in lines[-1]


def test_a_corrupt_store_is_survived_with_one_clear_line(project: Project) -> None:
    write_sample_suite(project)
    store = project.root / ".fastci" / "timings.db"
    store.parent.mkdir()
    store.write_bytes(b"\x00garbage" * 50)
    proc = project.fastci("plan", "--shards", "2")
    assert proc.returncode == 0
    warnings = [line for line in proc.stderr.splitlines() if line]
    assert len(warnings) == 1
    assert warnings[0].startswith("fastci: warning: timings store")
    assert "moved it to timings.db.corrupt-" in warnings[0]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shards", "0"], "argument --shards: must be a whole number from 1 to 1000, got '0'"),
        (["--shards", "x"], "argument --shards: must be a whole number from 1 to 1000, got 'x'"),
        (["--shards", "9" * 20], "argument --shards: must be a whole number from 1 to 1000"),
        (["--shard-startup", "nan"], "argument --shard-startup: must be a number of seconds"),
        (["--shard-startup", "inf"], "argument --shard-startup: must be a number of seconds"),
        (["--granularity", "module"], "argument --granularity: must be one of"),
        (["--estimate-window", "-1"], "argument --estimate-window"),
    ],
)
def test_bad_flags_are_one_line_usage_errors_with_exit_code_4(
    project: Project, args: list[str], message: str
) -> None:
    write_sample_suite(project)
    proc = project.fastci("plan", *args)
    assert proc.returncode == 4
    assert proc.stderr.count("\n") == 1
    assert message in proc.stderr
    assert proc.stderr.startswith("fastci: error: ")


def test_a_bad_setting_in_pyproject_names_the_file_and_key(project: Project) -> None:
    project.write("tests/test_a.py", "def test_a(): pass\n")
    project.write("pyproject.toml", "[tool.fastci]\nshards = 0\n")
    proc = project.fastci("plan")
    assert proc.returncode == 4
    assert "pyproject.toml: [tool.fastci] shards must be a whole number from 1 to 1000, got 0" in (
        proc.stderr
    )
    project.write("pyproject.toml", "[tool.fastci]\nshard = 2\n")
    proc = project.fastci("plan")
    assert proc.returncode == 4
    assert "unknown setting 'shard'" in proc.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"tool = 1\n", "[tool.fastci] must be a table"),
        (b'[tool.fastci]\nshards = "\xff\xfe"\n', "is not valid TOML"),
        (
            b"[tool.fastci]\njobs = false\n",
            "jobs must be a whole number >= 1, or 'auto' (0 also means auto)",
        ),
    ],
)
def test_a_malformed_pyproject_is_a_one_line_usage_error(
    project: Project, content: bytes, message: str
) -> None:
    project.write("tests/test_a.py", "def test_a(): pass\n")
    (project.root / "pyproject.toml").write_bytes(content)
    proc = project.fastci("run")
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert message in proc.stderr


def test_settings_in_pyproject_apply_and_flags_override_them(project: Project) -> None:
    write_sample_suite(project)
    pyproject = (project.root / "pyproject.toml").read_text()
    project.write("pyproject.toml", pyproject + "\n[tool.fastci]\nshards = 3\n")
    from_file = project.fastci_json("plan")
    assert len(from_file["shards"]) == 3
    overridden = project.fastci_json("plan", "--shards", "2")
    assert len(overridden["shards"]) == 2


def test_timings_export_writes_a_report_that_imports_elsewhere(
    project: Project, tmp_path: Path
) -> None:
    write_sample_suite(project)
    report = project.root / "report.jsonl"
    write_report(report, {"tests/test_alpha.py::TestWords::test_upper": 2.5})
    project.fastci("timings", "import", str(report))
    exported = tmp_path / "export.jsonl"
    proc = project.fastci("timings", "export", "-o", str(exported))
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in exported.read_text().splitlines()]
    assert [r["type"] for r in rows] == ["run", "test", "end"]
    shown = project.fastci("timings", "show")
    assert "tests/test_alpha.py::TestWords::test_upper" in shown.stdout
    mistyped = tmp_path / "no" / "such.db"
    nothing = project.fastci("timings", "show", "--store", str(mistyped))
    assert nothing.returncode == 0
    assert "no timings yet" in nothing.stdout
    assert not mistyped.parent.exists()  # showing creates nothing
    assert project.fastci("plan", "--store", str(mistyped)).returncode == 0
    assert not mistyped.parent.exists()  # nor does planning


def test_a_report_with_a_bad_header_is_refused_on_import(project: Project) -> None:
    bad = project.root / "bad.jsonl"
    bad.write_text(
        '{"type":"run","format":1,"report_id":"x","run_id":"r","started":"yesterday",'
        '"complete":true}\n'
    )
    proc = project.fastci("timings", "import", str(bad))
    assert proc.returncode == 4
    assert "bad.jsonl:1: not a fastci timings report line (field started must be a time" in (
        proc.stderr
    )
    assert project.fastci("timings", "export").returncode == 0


def test_exporting_where_no_file_can_be_written_is_a_one_line_error(project: Project) -> None:
    target = project.root / "pyproject.toml" / "out.jsonl"  # below a file: cannot exist
    proc = project.fastci("timings", "export", "-o", str(target))
    assert proc.returncode == 4
    assert proc.stderr.startswith(f"fastci: error: cannot write {target}")
    assert proc.stderr.count("\n") == 1


def test_jobs_zero_means_auto_as_its_error_message_says(project: Project) -> None:
    """-j 0 is accepted as 'auto' (pytest-xdist users type it), and the error says so."""
    project.write("tests/test_a.py", "def test_a(): pass\n")
    proc = project.fastci("run", "-j", "0")
    assert proc.returncode == 0, proc.stderr
    refused = project.fastci("run", "-j", "-1")
    assert refused.returncode == 4
    assert "(0 also means auto)" in refused.stderr
