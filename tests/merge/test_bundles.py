"""Tampered bundle values: each is one "corrupt bundle" line and exit 7, never a crash."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from fastci.errors import ExitCode
from tests.commands.test_merge import copy_results, merge
from tests.helpers.flaky import EVERY_OTHER_RUN, FLIP
from tests.helpers.projects import Project
from tests.helpers.shop import ShardedRun


def _set_line_field(bundle: Path, name: str, number: int, field: str, value: Any) -> None:
    """Set ``field`` of line ``number`` of the JSON-lines file ``name`` in ``bundle``."""
    path = bundle / name
    lines = path.read_text().splitlines()
    row = json.loads(lines[number - 1])
    row[field] = value
    lines[number - 1] = json.dumps(row)
    path.write_text("\n".join(lines) + "\n")


def _replace_result_line(bundle: Path, number: int, text: str) -> None:
    path = bundle / "results.jsonl"
    lines = path.read_text().splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n")


def _set_manifest_field(bundle: Path, field: str, value: Any) -> None:
    path = bundle / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest[field] = value
    path.write_text(json.dumps(manifest))


TAMPERING = {
    "a huge duration": (
        lambda b: _set_line_field(b, "results.jsonl", 1, "call", 1e308),
        "results.jsonl line 1: field call must be seconds from 0 to 1e+07, got 1e+308",
    ),
    "an infinite duration": (
        lambda b: _set_line_field(b, "results.jsonl", 2, "setup", float("inf")),
        "results.jsonl line 2: field setup must be seconds",
    ),
    "a NaN duration": (
        lambda b: _set_line_field(b, "results.jsonl", 1, "teardown", float("nan")),
        "results.jsonl line 1: field teardown must be seconds",
    ),
    "a negative duration": (
        lambda b: _set_line_field(b, "results.jsonl", 1, "call", -15074.997),
        "results.jsonl line 1: field call must be seconds from 0 to 1e+07, got -15074.997",
    ),
    "a string for a number": (
        lambda b: _set_line_field(b, "results.jsonl", 1, "start", "soon"),
        'results.jsonl line 1: field start must be a time in seconds since 1970, got "soon"',
    ),
    "an unknown outcome": (
        lambda b: _set_line_field(b, "results.jsonl", 1, "outcome", "sort of"),
        "results.jsonl line 1: field outcome must be one of passed, failed",
    ),
    "a non-string id": (
        lambda b: _set_line_field(b, "results.jsonl", 1, "id", 12),
        "results.jsonl line 1: field id must be a non-empty string, got 12",
    ),
    "a non-string longrepr": (
        lambda b: _set_line_field(b, "results.jsonl", 1, "longrepr", {"lines": []}),
        "results.jsonl line 1: field longrepr must be a string or null",
    ),
    "a line that is not an object": (
        lambda b: _replace_result_line(b, 2, "[1, 2, 3]"),
        "results.jsonl line 2: the record is not a JSON object",
    ),
    "a line nested too deeply": (
        lambda b: _replace_result_line(b, 1, "[" * 100_000),
        "results.jsonl line 1: not JSON",
    ),
    "a missing field": (
        lambda b: _replace_result_line(b, 1, '{"file": "tests/test_a.py"}'),
        "results.jsonl line 1: field id is missing",
    ),
    "a string for a manifest time": (
        lambda b: _set_manifest_field(b, "finished", "later"),
        'manifest.json: field finished must be a time in seconds since 1970, got "later"',
    ),
    "a manifest span that is not a span": (
        lambda b: _set_manifest_field(b, "units", [{"unit": 1}]),
        "manifest.json: field units[0].unit must be a string, got 1",
    ),
    "a bool for a manifest count": (
        lambda b: _set_manifest_field(b, "jobs", True),
        "manifest.json: field jobs must be a whole number",
    ),
    "a phase of no known part": (
        lambda b: _set_manifest_field(
            b, "phases", [{"name": "discovery", "part": "lunch", "seconds": 0.1}]
        ),
        "manifest.json: field phases[0].part must be one of start-up, tests, wrap-up",
    ),
    "phases that are not a list": (
        lambda b: _set_manifest_field(b, "phases", {"discovery": 0.1}),
        "manifest.json: field phases must be a list of {name, part, seconds}",
    ),
    "a negative timings duration": (
        lambda b: _set_line_field(b, "timings.jsonl", 2, "call", -1),
        "timings.jsonl line 2: field call must be seconds from 0 to 1e+07, got -1",
    ),
}


@pytest.mark.parametrize(("damage", "says"), TAMPERING.values(), ids=TAMPERING.keys())
def test_a_tampered_value_is_one_corrupt_bundle_line_and_the_rest_is_still_merged(
    three_shards: ShardedRun,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: Any,
    says: str,
) -> None:
    artifacts = copy_results(three_shards, tmp_path)
    broken = artifacts / three_shards.bundle(2).name
    damage(broken)

    code, out = merge(three_shards, tmp_path, capsys, artifacts)

    assert code == ExitCode.RESULTS_INCOMPLETE, out
    assert "Traceback" not in out
    assert "internal error" not in out
    assert f"fastci: corrupt bundle {broken}: {says}" in out
    merged = tmp_path / "merged"
    junit = ET.parse(merged / "junit.xml")
    suites = junit.getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == ["fastci shard 1/3", "fastci shard 3/3"]
    assert not [c for c in junit.iter("testcase") if c.get("time", "").startswith("-")]
    assert (merged / "report.html").is_file()
    assert (merged / "summary.md").is_file()


def test_failures_of_quarantined_tests_fail_neither_the_shard_nor_the_merge(
    project: Project, tmp_path: Path
) -> None:
    project.write("tests/test_broken.py", "def test_broken():\n    assert False\n")
    project.write("tests/test_fine.py", "def test_fine():\n    pass\n")
    project.write(
        "pyproject.toml",
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n\n'
        '[tool.fastci]\nquarantine = ["tests/test_broken.py"]\n',
    )
    results = tmp_path / "results"
    run = project.fastci("run", "--shard", "1/1", "--results", str(results))
    assert run.returncode == 0, run.stdout + run.stderr
    merged = project.fastci("merge", str(results), "-o", str(tmp_path / "out"), "--no-store")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "quarantined, failing nothing: FAILED tests/test_broken.py::test_broken" in merged.stdout
    assert "; 1 quarantined, 1 of them not passed" in merged.stdout
    project.write("pyproject.toml", '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    unquarantined = project.fastci("merge", str(results), "-o", str(tmp_path / "o2"), "--no-store")
    assert unquarantined.returncode == ExitCode.TESTS_FAILED


def test_a_flaky_test_fails_the_merge_unless_flakes_are_allowed(
    project: Project, tmp_path: Path
) -> None:
    project.write("tests/test_flip.py", EVERY_OTHER_RUN)
    results = tmp_path / "results"
    run = project.fastci("run", "--shard", "1/1", "--reruns", "1", "--results", str(results))
    assert run.returncode == ExitCode.TESTS_FAILED
    merged = project.fastci("merge", str(results), "-o", str(tmp_path / "out"), "--no-store")
    assert merged.returncode == ExitCode.TESTS_FAILED
    assert f"shard 1/1 failed: 1 flaky: {FLIP}" in merged.stdout + merged.stderr
    allowed = project.fastci(
        "merge", str(results), "-o", str(tmp_path / "o2"), "--no-store", "--allow-flaky"
    )
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
