"""``fastci merge`` on bundles written by real ``fastci run`` shards."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import coverage
import pytest

from fastci.errors import ExitCode, Problem
from fastci.merge.bundles import exit_code
from fastci.results.bundle import RESULTS, read_bundle
from tests.helpers.cli import fastci_code
from tests.helpers.shop import ShardedRun

FAILING = "tests/test_broken.py::test_refund_is_never_negative"


def merge(
    run: ShardedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str | Path
) -> tuple[int, str]:
    """Merge ``run``'s bundles (or the DIRs in extra) from ``run.root``; (exit code, output)."""
    dirs = [a for a in extra if isinstance(a, Path)] or [run.results]
    flags = [a for a in extra if not isinstance(a, Path)]
    capsys.readouterr()
    code = fastci_code(
        "merge",
        *dirs,
        "--root",
        run.root,
        "--store",
        tmp_path / "store.db",
        "--output",
        tmp_path / "merged",
        *flags,
    )
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def copy_results(run: ShardedRun, tmp_path: Path) -> Path:
    """A copy of the run's bundles that a test may damage."""
    artifacts = tmp_path / "artifacts"
    shutil.copytree(run.results, artifacts)
    return artifacts


def covered_lines(data_file: Path, root: Path) -> dict[str, set[int]]:
    """Every measured file (relative to ``root``, which must hold it) and its covered lines."""
    data = coverage.CoverageData(basename=str(data_file))
    data.read()
    return {
        Path(f).relative_to(root).as_posix(): set(data.lines(f) or ())
        for f in data.measured_files()
    }


def junit_tests(path: Path) -> dict[str, ET.Element]:
    cases = ET.parse(path).getroot().iter("testcase")
    return {f"{c.get('classname')}.{c.get('name')}": c for c in cases}


def test_the_shards_themselves_passed(three_shards: ShardedRun, one_run: ShardedRun) -> None:
    assert three_shards.exit_codes == (0, 0, 0)
    assert one_run.exit_codes == (0,)


def test_three_shards_merged_cover_the_same_lines_as_one_run(
    three_shards: ShardedRun,
    one_run: ShardedRun,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = merge(three_shards, tmp_path, capsys)

    assert code == ExitCode.OK, out
    merged = covered_lines(tmp_path / "merged" / "coverage.db", three_shards.root)
    alone = covered_lines(one_run.results / "fastci-local" / "coverage.db", one_run.root)
    assert merged == alone
    assert set(merged) == {"shop/__init__.py", "shop/prices.py", "shop/stock.py", "shop/search.py"}
    # The shards really split the work: no single shard covered everything.
    for k in (1, 2, 3):
        shard = covered_lines(three_shards.bundle(k) / "coverage.db", three_shards.root)
        assert shard != merged
    assert "TOTAL" in out
    assert (tmp_path / "merged" / "coverage.xml").is_file()
    assert (tmp_path / "merged" / "htmlcov" / "index.html").is_file()


def test_the_merged_junit_holds_every_test_of_every_shard(
    three_shards: ShardedRun,
    one_run: ShardedRun,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    merge(three_shards, tmp_path, capsys)

    merged = junit_tests(tmp_path / "merged" / "junit.xml")
    alone = read_bundle(one_run.results / "fastci-local").results
    assert len(merged) == len(alone) == 17
    suites = ET.parse(tmp_path / "merged" / "junit.xml").getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == [f"fastci shard {k}/3" for k in (1, 2, 3)]
    assert sum(int(s.get("tests", 0)) for s in suites) == 17
    assert merged["tests.test_misc.test_skipped"].find("skipped") is not None


def test_shards_run_in_different_checkouts_merge_onto_this_checkout(
    broken_shards: ShardedRun,
    one_run: ShardedRun,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    roots = {read_bundle(broken_shards.bundle(k)).rootdir for k in (1, 2)}
    assert len(roots) == 2
    assert str(broken_shards.root) not in roots

    code, out = merge(broken_shards, tmp_path, capsys)

    assert code == ExitCode.TESTS_FAILED, out
    merged = covered_lines(tmp_path / "merged" / "coverage.db", broken_shards.root)
    alone = covered_lines(one_run.results / "fastci-local" / "coverage.db", one_run.root)
    assert merged == alone


def test_coverage_under_fail_under_exits_6_and_says_so(
    three_shards: ShardedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = merge(three_shards, tmp_path, capsys, "--fail-under", "99")

    assert code == ExitCode.COVERAGE_UNDER_THRESHOLD
    assert "is under the required 99%" in out.splitlines()[-2]
    assert "not a success: 1 problem above" in out.splitlines()[-1]

    code, out = merge(three_shards, tmp_path, capsys, "--fail-under", "50")
    assert code == ExitCode.OK, out


def test_fail_under_defaults_to_the_projects_coverage_setting(
    three_shards: ShardedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkout = tmp_path / "checkout"
    shutil.copytree(three_shards.root, checkout)
    with (checkout / "pyproject.toml").open("a") as f:
        f.write("\n[tool.coverage.report]\nfail_under = 99.5\n")
    moved = ShardedRun(checkout, three_shards.results, 3, three_shards.exit_codes)

    code, out = merge(moved, tmp_path, capsys)

    assert code == ExitCode.COVERAGE_UNDER_THRESHOLD, out
    assert "under the required 99.5%" in out


def test_a_missing_shard_fails_the_merge_and_is_named(
    three_shards: ShardedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifacts = tmp_path / "artifacts"
    for k in (1, 3):  # as downloaded: one directory per artifact
        shutil.copytree(
            three_shards.bundle(k), artifacts / f"shard-{k}" / three_shards.bundle(k).name
        )

    code, out = merge(three_shards, tmp_path, capsys, artifacts)

    assert code == ExitCode.RESULTS_INCOMPLETE
    lines = out.splitlines()
    missing = lines.index(next(x for x in lines if "shard 2/3 is missing" in x))
    assert lines[missing].startswith("fastci: shard 2/3 is missing: no fastci-shard-2-of-3 bundle")
    # What did arrive is still summarized, in a verdict that comes last and is no success.
    assert missing == len(lines) - 2
    assert re.search(r" \d+ passed.* in [\d.]+s; not a success: 1 problem above =+$", lines[-1])


def test_expect_shards_catches_a_shard_no_bundle_mentions(
    three_shards: ShardedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = merge(three_shards, tmp_path, capsys, "--expect-shards", "3")
    assert code == ExitCode.OK, out

    code, out = merge(three_shards, tmp_path, capsys, "--expect-shards", "4")
    assert code == ExitCode.RESULTS_INCOMPLETE
    assert "does not fit --expect-shards 4 shards" in out
    assert "shard 4/4 is missing" in out


def test_no_bundles_at_all_is_never_a_success(
    three_shards: ShardedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()

    code, out = merge(three_shards, tmp_path, capsys, empty)

    assert code == ExitCode.RESULTS_INCOMPLETE
    assert f"no fastci bundles under {empty}" in out


def test_a_directory_that_does_not_exist_is_a_usage_error_and_nothing_is_written(
    three_shards: ShardedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = merge(three_shards, tmp_path, capsys)
    assert code == ExitCode.OK, out
    before = {p.name: p.read_bytes() for p in (tmp_path / "merged").iterdir() if p.is_file()}
    nowhere = tmp_path / "nowhere"

    code, out = merge(three_shards, tmp_path, capsys, three_shards.results, nowhere)

    assert code == ExitCode.USAGE_ERROR
    assert out.splitlines() == [
        f"fastci: error: {nowhere}: no such directory; pass the directories that hold the "
        "shards' bundles (their downloaded artifacts, or a --results directory)"
    ]
    after = {p.name: p.read_bytes() for p in (tmp_path / "merged").iterdir() if p.is_file()}
    assert after == before


def _drop_manifest(bundle: Path) -> None:
    (bundle / "manifest.json").unlink()


def _garble_manifest(bundle: Path) -> None:
    (bundle / "manifest.json").write_text('{"format": 1, "shard": ')


def _truncate_results(bundle: Path) -> None:
    lines = (bundle / RESULTS).read_text().splitlines(keepends=True)
    (bundle / RESULTS).write_text("".join(lines[:-1]))


def _truncate_timings(bundle: Path) -> None:
    text = (bundle / "timings.jsonl").read_text()
    (bundle / "timings.jsonl").write_text(text[: len(text) // 2])


def _garble_coverage(bundle: Path) -> None:
    (bundle / "coverage.db").write_bytes(b"this is not an SQLite database" * 100)


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (_drop_manifest, "has no manifest.json"),
        (_garble_manifest, "manifest.json: not JSON (Expecting value"),
        (_truncate_results, "was cut short or altered"),
        (_truncate_timings, "timings.jsonl is unreadable"),
        (_garble_coverage, "cannot be combined"),
    ],
)
def test_a_corrupt_bundle_fails_the_merge_and_is_named(
    three_shards: ShardedRun,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: object,
    says: str,
) -> None:
    artifacts = copy_results(three_shards, tmp_path)
    broken = artifacts / three_shards.bundle(2).name
    assert callable(damage)
    damage(broken)

    code, out = merge(three_shards, tmp_path, capsys, artifacts)

    assert code == ExitCode.RESULTS_INCOMPLETE
    problem = next(line for line in out.splitlines() if says in line)
    assert str(broken) in problem
    assert problem.startswith("fastci: ")
    assert "shard 2/3 is missing" not in out  # named once, as corrupt


def test_a_half_written_bundle_is_named_as_such(
    three_shards: ShardedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifacts = copy_results(three_shards, tmp_path)
    bundle = artifacts / three_shards.bundle(3).name
    bundle.rename(bundle.with_name(f"{bundle.name}.partial-4242"))

    code, out = merge(three_shards, tmp_path, capsys, artifacts)

    assert code == ExitCode.RESULTS_INCOMPLETE
    assert "shard 3/3 is missing: only the half-written" in out
    assert "fastci-shard-3-of-3.partial-4242" in out


def _store_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    db = sqlite3.connect(path)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall()) for t in tables}
    finally:
        db.close()


def test_merging_the_same_bundles_twice_changes_nothing(
    three_shards: ShardedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    merged = tmp_path / "merged"
    code, out = merge(three_shards, tmp_path, capsys)
    assert code == ExitCode.OK, out
    assert "3 new run(s), 0 already known" in out
    store = _store_rows(tmp_path / "store.db")
    files = {
        name: (merged / name).read_bytes() for name in ("junit.xml", "report.html", "summary.md")
    }
    lines = covered_lines(merged / "coverage.db", three_shards.root)

    # Named twice, and once more through one of its bundles: still each bundle once.
    again = (three_shards.results, three_shards.results, three_shards.bundle(1))
    code, out = merge(three_shards, tmp_path, capsys, *again)

    assert code == ExitCode.OK, out
    assert "0 new run(s), 3 already known" in out
    assert _store_rows(tmp_path / "store.db") == store
    assert store["samples"]  # the timings did arrive
    for name, content in files.items():
        assert (merged / name).read_bytes() == content, name
    assert covered_lines(merged / "coverage.db", three_shards.root) == lines


def test_a_failed_shard_fails_the_merge_with_its_traceback(
    broken_shards: ShardedRun,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    step_summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))

    code, out = merge(broken_shards, tmp_path, capsys)

    assert code == ExitCode.TESTS_FAILED
    assert "1 failed" in out
    assert "a refund went negative" in out  # the traceback, in the terminal
    assert "refund computed as -5" in out  # and what the test printed
    assert f"{FAILING} [shard " in out  # the failure's header names its shard
    failed_line = next(line for line in out.splitlines() if " failed: 1 failed: " in line)
    assert failed_line.endswith(FAILING)
    assert "makespan" in out
    assert "lower bound" in out
    markdown = step_summary.read_text()
    assert markdown.startswith("## ❌ fastci: failed")
    assert "a refund went negative" in markdown
    assert "| shard | status |" in markdown
    case = junit_tests(tmp_path / "merged" / "junit.xml")[
        "tests.test_broken.test_refund_is_never_negative"
    ]
    failure = case.find("failure")
    assert failure is not None
    assert "a refund went negative" in (failure.text or "")


def test_an_incomplete_merge_outranks_failed_tests(
    broken_shards: ShardedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failing = next(
        k for k in (1, 2) if any(r.failed for r in read_bundle(broken_shards.bundle(k)).results)
    )
    artifacts = tmp_path / "artifacts"
    shutil.copytree(broken_shards.bundle(failing), artifacts / broken_shards.bundle(failing).name)

    code, out = merge(broken_shards, tmp_path, capsys, artifacts)

    assert code == ExitCode.RESULTS_INCOMPLETE
    assert f"shard {3 - failing}/2 is missing" in out
    assert f"shard {failing}/2 failed" in out


@pytest.mark.parametrize(
    ("shard", "changes", "says"),
    [
        (1, {"interrupted": True, "exit_code": 2}, "shard 1/3 was interrupted"),
        (3, {"plan_digest": "0" * 64}, "the shards did not share one plan"),
    ],
    ids=["interrupted", "planned-differently"],
)
def test_a_shard_whose_results_cannot_be_whole_makes_the_merge_incomplete(
    three_shards: ShardedRun,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    shard: int,
    changes: dict[str, object],
    says: str,
) -> None:
    artifacts = copy_results(three_shards, tmp_path)
    manifest_path = artifacts / three_shards.bundle(shard).name / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest.update(changes)
    manifest_path.write_text(json.dumps(manifest))

    code, out = merge(three_shards, tmp_path, capsys, artifacts)

    assert code == ExitCode.RESULTS_INCOMPLETE
    assert says in out


def test_bundle_files_never_start_with_a_dot(three_shards: ShardedRun) -> None:
    names = [name for _, dirs, files in os.walk(three_shards.results) for name in dirs + files]
    assert "coverage.db" in names
    assert not [name for name in names if name.startswith(".")]


def test_report_renders_without_touching_the_store(
    three_shards: ShardedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "page" / "report.html"
    store = three_shards.root / ".fastci" / "timings.db"
    before = _store_rows(store) if store.exists() else None

    code = fastci_code("report", "--html", page, three_shards.results, "--root", three_shards.root)

    assert code == ExitCode.OK
    assert "Where the time went" in page.read_text()
    assert (_store_rows(store) if store.exists() else None) == before

    below_a_file = page / "report.html"  # page is a file: nothing can be made below it
    code = fastci_code("report", "--html", below_a_file, three_shards.results)
    assert code == ExitCode.USAGE_ERROR
    assert f"cannot write {below_a_file}" in capsys.readouterr().err
    code = fastci_code("merge", three_shards.results, "-o", below_a_file, "--no-store")
    assert code == ExitCode.USAGE_ERROR
    assert f"cannot use --output {below_a_file}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("codes", "verdict"),
    [
        ((), ExitCode.OK),
        ((ExitCode.COVERAGE_UNDER_THRESHOLD, ExitCode.TESTS_FAILED), ExitCode.TESTS_FAILED),
        ((ExitCode.TESTS_FAILED, ExitCode.RESULTS_INCOMPLETE), ExitCode.RESULTS_INCOMPLETE),
        (
            (ExitCode.COVERAGE_UNDER_THRESHOLD, ExitCode.NO_TESTS_COLLECTED),
            ExitCode.NO_TESTS_COLLECTED,
        ),
        ((ExitCode.COVERAGE_UNDER_THRESHOLD,), ExitCode.COVERAGE_UNDER_THRESHOLD),
    ],
)
def test_the_most_serious_problem_decides_the_exit_code(
    codes: tuple[ExitCode, ...], verdict: ExitCode
) -> None:
    assert exit_code(Problem("x", code) for code in codes) == verdict


def test_a_queue_setting_leaves_a_merge_of_shard_bundles_alone(
    three_shards: ShardedRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkout = Path(shutil.copytree(three_shards.root, tmp_path / "checkout"))
    with (checkout / "pyproject.toml").open("a") as f:
        f.write('queue = "redis://127.0.0.1:1/0"\n')  # under [tool.fastci]; nothing listens
    configured = ShardedRun(checkout, three_shards.results, 3, three_shards.exit_codes)

    code, out = merge(configured, tmp_path, capsys)

    assert code == ExitCode.OK, out
    assert "127.0.0.1:1" not in out
    assert "completeness" not in out
