"""``fastci run``: real worker processes on real projects; nothing lost, exit codes as pytest's."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from fastci.results.bundle import read_results
from tests.helpers.cli import started_fastci, wait_for_file
from tests.helpers.projects import SAMPLE_TEST_COUNT, Project, write_report, write_sample_suite


def bundle_results(bundle: Path) -> dict[str, str]:
    return {r.id: r.outcome for r in read_results(bundle / "results.jsonl")}


def run_local(
    project: Project, results: Path, *args: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """``fastci run -j 2`` with a bundle; the process and each test's outcome."""
    proc = project.fastci("run", "-j", "2", "--results", str(results), *args)
    return proc, bundle_results(results / "fastci-local")


def manifest(bundle: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((bundle / "manifest.json").read_text())
    return data


@pytest.mark.parametrize("granularity", ["file", "test"])
def test_shards_together_run_every_test_exactly_once(
    project: Project, tmp_path: Path, granularity: str
) -> None:
    write_sample_suite(project)
    results = tmp_path / "results"
    ran: list[str] = []
    for k in (1, 2, 3):
        proc = project.fastci(
            "run",
            "--shard",
            f"{k}/3",
            "--results",
            str(results),
            "-j",
            "2",
            "--granularity",
            granularity,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        bundle = results / f"fastci-shard-{k}-of-3"
        ran.extend(bundle_results(bundle))
        assert manifest(bundle)["shard"] == {"index": k, "total": 3}
    assert len(ran) == SAMPLE_TEST_COUNT
    assert set(ran) == project.collected_ids()


def test_a_shard_never_imports_a_file_outside_it(project: Project, tmp_path: Path) -> None:
    log = tmp_path / "imports.log"
    for n in range(6):
        project.write(
            f"tests/test_mod{n}.py",
            f"""
            open({str(log)!r}, "a").write("tests/test_mod{n}.py\\n")
            def test_one(): pass
            def test_two(): pass
            """,
        )
    for k in (1, 2, 3):
        plan = project.fastci_json("plan", "--shards", "3")
        shard_files = {
            f for uid in plan["shards"][k - 1]["units"] for f in plan["units"][uid]["files"]
        }
        log.unlink(missing_ok=True)
        proc = project.fastci("run", "--shard", f"{k}/3", "-j", "2")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        imported = set(log.read_text().split())
        assert imported == shard_files


def test_with_continue_on_collection_errors_an_import_error_fails_only_its_own_file(
    project: Project, tmp_path: Path
) -> None:
    project.write("tests/test_good.py", "def test_a(): pass\ndef test_b(): pass\n")
    project.write("tests/test_broken.py", "raise RuntimeError('broken at import')\n")
    proc, outcomes = run_local(project, tmp_path / "results", "--continue-on-collection-errors")
    assert proc.returncode == 1
    assert outcomes == {
        "tests/test_good.py::test_a": "passed",
        "tests/test_good.py::test_b": "passed",
        "tests/test_broken.py": "error",
    }
    assert "broken at import" in proc.stdout


def test_an_import_error_met_mid_run_stops_the_run_with_pytests_line_and_exit_code(
    project: Project, tmp_path: Path
) -> None:
    project.write("tests/test_broken.py", "raise RuntimeError('broken at import')\n")
    proc, outcomes = run_local(project, tmp_path / "results")
    assert proc.returncode == 2
    assert outcomes["tests/test_broken.py"] == "error"
    assert "Interrupted: 1 error during collection" in proc.stdout


# (the file that skips, its text, the node id pytest reports skipped, the reason)
SKIPPERS = {
    "module": (
        "tests/test_optional.py",
        "import pytest\npytest.importorskip('no_such_module_here')\ndef test_x(): pass\n",
        "tests/test_optional.py",
        "no_such_module_here",
    ),
    "conftest": (
        "tests/gpu/conftest.py",
        "import pytest\npytest.skip('no GPU here', allow_module_level=True)\n",
        "tests/gpu",
        "no GPU here",
    ),
}


@pytest.mark.parametrize("granularity", ["file", "test"])
@pytest.mark.parametrize("skipper", sorted(SKIPPERS))
def test_what_skips_itself_at_collection_is_reported_skipped_once_as_pytest_does(
    project: Project, tmp_path: Path, granularity: str, skipper: str
) -> None:
    path, text, skipped_id, reason = SKIPPERS[skipper]
    project.write("tests/test_good.py", "def test_a(): pass\n")
    project.write("tests/gpu/test_kernels.py", "def test_k(): pass\n")
    project.write(path, text)
    ran = {"tests/test_good.py::test_a": "passed", skipped_id: "skipped"}
    if skipper == "module":
        ran["tests/gpu/test_kernels.py::test_k"] = "passed"
    proc, outcomes = run_local(project, tmp_path / "results", "--granularity", granularity)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert outcomes == ran
    junit = (tmp_path / "results" / "fastci-local" / "junit.xml").read_text()
    assert 'skipped="1"' in junit
    assert reason in junit
    sharded = tmp_path / "sharded"
    for k in ("1/2", "2/2"):
        project.fastci("run", "--shard", k, "--granularity", granularity, "--results", str(sharded))
    merged = project.fastci("merge", str(sharded), "-o", str(tmp_path / "merged"), "--no-store")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert f"{len(ran) - 1} passed, 1 skipped" in merged.stdout
    if skipper == "module":  # (pytest itself fails when named a conftest-skipped directory)
        only_skips = project.fastci("run", "--granularity", granularity, skipped_id)
        assert only_skips.returncode == 5  # as pytest: no test was collected
        assert "1 skipped" in only_skips.stdout


@pytest.mark.parametrize(
    ("how", "cause"),
    [
        ("os._exit(3)", "exited with code 3"),
        ("os.kill(os.getpid(), signal.SIGKILL)", "was killed by SIGKILL"),
        ("faulthandler._sigsegv()", "was killed by SIGSEGV"),
    ],
)
def test_a_test_that_kills_its_worker_fails_with_the_cause_and_the_rest_still_run(
    project: Project, tmp_path: Path, how: str, cause: str
) -> None:
    project.write(
        "tests/test_a.py",
        f"""
        import faulthandler, os, signal
        def test_before(): pass
        def test_dies(): {how}
        def test_after(): pass
        """,
    )
    project.write("tests/test_b.py", "def test_b1(): pass\ndef test_b2(): pass\n")
    results = tmp_path / "results"
    proc, outcomes = run_local(project, results)
    assert proc.returncode == 1
    assert outcomes == {
        "tests/test_a.py::test_before": "passed",
        "tests/test_a.py::test_dies": "crashed",
        "tests/test_a.py::test_after": "passed",
        "tests/test_b.py::test_b1": "passed",
        "tests/test_b.py::test_b2": "passed",
    }
    assert cause in proc.stdout
    workers = manifest(results / "fastci-local")["workers"]
    assert sum(1 for w in workers if w["crashed"]) == 1


def test_ctrl_c_stops_cleanly_and_leaves_a_consistent_store(
    project: Project, tmp_path: Path
) -> None:
    project.write("tests/test_fast.py", "def test_quick(): pass\n")
    project.write(
        "tests/test_slow.py",
        "import pathlib, time\n"
        + "".join(
            f"def test_slow_{n}():\n    pathlib.Path('started-{n}').touch()\n    time.sleep(3)\n"
            for n in range(8)
        ),
    )
    results = tmp_path / "results"
    # Whole files: the slow one on one worker, the quick one on the other.
    args = ("run", "-j", "2", "--split-files", "false", "--results", str(results))
    proc = started_fastci(project.root, *args)
    wait_for_file(project.root / "started-1")  # the quick test and a slow one have finished
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, out + err
    bundle = results / "fastci-local"
    assert manifest(bundle)["interrupted"] is True
    finished = bundle_results(bundle)
    assert "tests/test_fast.py::test_quick" in finished
    assert len(finished) < 9
    db = sqlite3.connect(project.root / ".fastci" / "timings.db")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    stored = {row[0] for row in db.execute("SELECT test_id FROM tests")}
    assert stored == set(finished)


def test_a_shard_leaves_the_store_to_merge_so_later_shards_plan_the_same(
    project: Project,
) -> None:
    write_sample_suite(project)
    before = project.fastci("plan", "--shards", "3", "--json").stdout
    proc = project.fastci("run", "--shard", "1/3")
    assert proc.returncode == 0, proc.stderr
    assert (project.root / ".fastci" / "results" / "fastci-shard-1-of-3" / "manifest.json").exists()
    assert project.fastci("plan", "--shards", "3", "--json").stdout == before


def test_exit_codes_follow_pytest(project: Project) -> None:
    project.write("tests/test_a.py", "def test_a(): pass\n")
    assert project.fastci("run").returncode == 0
    project.write("tests/test_b.py", "def test_b(): assert False\n")
    assert project.fastci("run").returncode == 1
    assert project.fastci("run", "-k", "no_such_test").returncode == 5
    unknown = project.fastci("run", "--no-such-pytest-flag")
    assert unknown.returncode == 4
    assert "unrecognized arguments: --no-such-pytest-flag" in unknown.stdout + unknown.stderr
    bad_shard = project.fastci("run", "--shard", "3/2")
    assert bad_shard.returncode == 4
    assert "must be K/N with 1 <= K <= N" in bad_shard.stderr
    a_file = project.write("not-a-dir", "")
    for unusable in (a_file, a_file / "below-a-file"):
        refused = project.fastci("run", "--results", str(unusable))
        assert refused.returncode == 4
        assert "passed" not in refused.stdout  # refused before running anything
        assert refused.stderr.count("\n") == 1, refused.stderr


def test_pytest_arguments_pass_through_as_the_user_expects(
    project: Project, tmp_path: Path
) -> None:
    project.write(
        "tests/test_a.py",
        "import pytest\n"
        + "".join(
            f"@pytest.mark.slow\ndef test_slow_{n}(): pass\ndef test_fast_{n}(): pass\n"
            for n in range(3)
        ),
    )
    project.write("tests/test_b.py", "def test_fail_1(): assert 0\ndef test_fail_2(): assert 0\n")
    project.write("other/test_c.py", "def test_elsewhere(): pass\n")
    project.write(
        "myplugin.py",
        "def pytest_configure(config):\n    config.addinivalue_line('markers', 'slow: slow')\n",
    )

    def ran(*args: str) -> dict[str, str]:
        proc, outcomes = run_local(project, tmp_path / f"r{len(args)}{abs(hash(args))}", *args)
        assert proc.returncode in (0, 1), proc.stdout + proc.stderr
        return outcomes

    assert set(ran("-k", "fast")) == {f"tests/test_a.py::test_fast_{n}" for n in range(3)}
    assert set(ran("-m", "slow", "-p", "myplugin")) == {
        f"tests/test_a.py::test_slow_{n}" for n in range(3)
    }
    assert set(ran("other")) == {"other/test_c.py::test_elsewhere"}
    assert set(ran("tests/test_a.py::test_fast_1")) == {"tests/test_a.py::test_fast_1"}
    stopped = ran("-x", "tests/test_b.py")
    assert list(stopped.values()) == ["failed"]
    assert len(ran("--maxfail", "2", "tests/test_b.py")) == 2


def test_a_shard_is_read_from_the_ci_providers_variables(project: Project, tmp_path: Path) -> None:
    write_sample_suite(project)
    results = tmp_path / "results"
    proc = project.fastci(
        "run", "--results", str(results), env={"CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "3"}
    )
    assert proc.returncode == 0, proc.stderr
    assert manifest(results / "fastci-shard-2-of-3")["shard"] == {"index": 2, "total": 3}
    circle = project.fastci(
        "run", "--results", str(results), env={"CIRCLE_NODE_INDEX": "0", "CIRCLE_NODE_TOTAL": "3"}
    )
    assert circle.returncode == 0
    assert (results / "fastci-shard-1-of-3").is_dir()


def test_session_fixtures_are_set_up_once_per_worker_not_once_per_unit(
    project: Project, tmp_path: Path
) -> None:
    log = tmp_path / "setups.log"
    project.write(
        "tests/conftest.py",
        f"""
        import os, pytest

        @pytest.fixture(scope="session")
        def database():
            with open({str(log)!r}, "a") as f:
                f.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")
            yield "db"
        """,
    )
    for n in range(6):
        project.write(f"tests/test_{n}.py", "def test_it(database): assert database == 'db'\n")
    proc = project.fastci("run", "-j", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    setups = log.read_text().split()
    assert len(setups) == len(set(setups))  # once per worker that ran tests, not per unit
    assert set(setups) <= {"gw0", "gw1"}


def test_coverage_flags_measure_across_workers_and_fail_under_has_its_own_code(
    project: Project, tmp_path: Path
) -> None:
    project.write("app/__init__.py", "")
    project.write(
        "app/calc.py",
        """
        def add(a, b):
            return a + b

        def sub(a, b):
            return a - b

        def never_called():
            return 0
        """,
    )
    project.write(
        "tests/test_add.py", "from app.calc import add\ndef test_add(): assert add(1, 2) == 3\n"
    )
    project.write(
        "tests/test_sub.py", "from app.calc import sub\ndef test_sub(): assert sub(3, 2) == 1\n"
    )
    project.write(
        "pyproject.toml", '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["."]\n'
    )
    results = tmp_path / "results"
    proc = project.fastci(
        "run", "-j", "2", "--cov=app", "--cov-report=term-missing", "--results", str(results)
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "app/calc.py" in proc.stdout
    assert "83%" in proc.stdout  # 5 of 6 statements: only never_called's body is missed
    assert proc.stdout.count("TOTAL") == 1
    import coverage

    data = coverage.CoverageData(basename=str(results / "fastci-local" / "coverage.db"))
    data.read()
    calc = next(f for f in data.measured_files() if f.endswith("calc.py"))
    assert sorted(data.lines(calc) or []) == [1, 2, 4, 5, 7]
    below = project.fastci("run", "-j", "2", "--cov=app", "--cov-fail-under=90")
    assert below.returncode == 6
    assert "coverage 83% is under the required 90%" in below.stderr
    mistyped = project.fastci("run", "-j", "2", "--cov=ap", "--cov-fail-under=50")
    assert mistyped.returncode == 6
    assert "no coverage data was collected" in mistyped.stderr
    no_threshold = project.fastci("run", "-j", "2", "--cov=ap", "--cov-fail-under=0")
    assert no_threshold.returncode == 0, no_threshold.stderr
    # Shards are not judged on their part of the code; the merge judges the whole.
    sharded = tmp_path / "sharded"
    for k in ("1/2", "2/2"):
        shard = project.fastci(
            "run", "--shard", k, "--cov=app", "--cov-fail-under=90", "--results", str(sharded)
        )
        assert shard.returncode == 0, shard.stdout + shard.stderr
    merged = project.fastci("merge", str(sharded), "-o", str(tmp_path / "merged"))
    assert merged.returncode == 6, merged.stdout + merged.stderr
    assert "83% is under the required 90%" in merged.stdout + merged.stderr
    project.write(".coveragerc", "[report]\nfail_under = 90\n")
    configured = project.fastci("run", "-j", "2", "--cov=app")
    assert configured.returncode == 6, configured.stdout + configured.stderr


def test_junitxml_and_the_last_failed_cache_describe_the_whole_run(project: Project) -> None:
    project.write("tests/test_a.py", "def test_a1(): assert 0\ndef test_a2(): pass\n")
    project.write("tests/test_b.py", "def test_b1(): assert 0\ndef test_b2(): pass\n")
    proc = project.fastci("run", "-j", "2", "--junitxml=report.xml", "-p", "cacheprovider")
    assert proc.returncode == 1
    xml = (project.root / "report.xml").read_text()
    assert xml.count("<testcase ") == 4
    assert xml.count("<failure ") == 2
    last_failed = json.loads(
        (project.root / ".pytest_cache" / "v" / "cache" / "lastfailed").read_text()
    )
    assert set(last_failed) == {"tests/test_a.py::test_a1", "tests/test_b.py::test_b1"}
    rerun = project.fastci("run", "-j", "2", "--lf")
    assert "2 failed" in rerun.stdout
    assert "passed" not in rerun.stdout.splitlines()[-1]
    from_env = project.fastci(
        "run", "--junitxml=$REPORTS/junit.xml", env={"REPORTS": str(project.root / "reports")}
    )
    assert from_env.returncode == 1
    assert (project.root / "reports" / "junit.xml").read_text().count("<testcase ") == 4
    project.write("in-the-way", "")
    unwritable = project.fastci("run", "--junitxml=in-the-way/report.xml")
    assert unwritable.returncode == 4
    assert unwritable.stderr.startswith("fastci: error: cannot write --junitxml")
    assert unwritable.stderr.count("\n") == 1, unwritable.stderr


def test_the_plugin_loads_by_entry_point_when_autoloading_is_on(project: Project) -> None:
    project.write("tests/test_a.py", "def test_a(): pass\n")
    env = dict(os.environ)
    env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    proc = subprocess.run(
        [sys.executable, "-m", "fastci", "run", "-j", "1"],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout


def test_a_file_too_large_for_one_shard_is_cut_and_no_test_is_lost_or_run_twice(
    project: Project, tmp_path: Path
) -> None:
    project.write("tests/test_big.py", "".join(f"def test_big_{n}(): pass\n" for n in range(12)))
    for n in range(3):
        project.write(f"tests/test_small{n}.py", "def test_s(): pass\n")
    report = project.root / "report.jsonl"
    durations = {f"tests/test_big.py::test_big_{n}": 10.0 for n in range(12)}
    durations.update({f"tests/test_small{n}.py::test_s": 1.0 for n in range(3)})
    write_report(report, durations)
    assert project.fastci("timings", "import", str(report)).returncode == 0
    # A test the store has never seen, added after the timings were recorded.
    with (project.root / "tests/test_big.py").open("a") as f:
        f.write("def test_big_new(): pass\n")
    plan = project.fastci_json("plan", "--shards", "4")
    assert sum(1 for uid in plan["units"] if uid.startswith("tests/test_big.py")) > 2
    results = tmp_path / "results"
    ran: list[str] = []
    for k in range(1, 5):
        proc = project.fastci("run", "--shard", f"{k}/4", "--results", str(results))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        ran.extend(bundle_results(results / f"fastci-shard-{k}-of-4"))
    assert sorted(ran) == sorted(project.collected_ids())
    assert "tests/test_big.py::test_big_new" in ran
    unsplit = project.fastci_json("plan", "--shards", "4", "--split-files", "false")
    assert "tests/test_big.py" in unsplit["units"]
    assert not any("[" in uid for uid in unsplit["units"])


def test_a_worker_that_stops_itself_stops_the_run_and_says_so(
    project: Project, tmp_path: Path
) -> None:
    # pytest counts a failing test whose teardown also fails twice against --maxfail.
    project.write(
        "tests/test_a.py",
        """
        import pytest

        @pytest.fixture
        def breaks_on_teardown():
            yield
            raise RuntimeError("teardown")

        def test_a0(breaks_on_teardown): assert False
        def test_a1(): pass
        def test_a2(): pass
        """,
    )
    for n in range(4):
        project.write(f"tests/test_b{n}.py", "def test_1(): pass\ndef test_2(): pass\n")
    results = tmp_path / "results"
    proc = project.fastci("run", "-j", "1", "--maxfail=2", "--results", str(results))
    assert proc.returncode == 1
    stopped = manifest(results / "fastci-local")["stopped_early"]
    assert stopped is not None
    assert "stopped the run" in proc.stdout or "stopping after" in proc.stdout


def test_workers_that_keep_dying_are_not_restarted_forever_and_nothing_goes_missing(
    project: Project, tmp_path: Path
) -> None:
    project.write(
        "tests/conftest.py",
        """
        import os, pytest

        @pytest.fixture(autouse=True)
        def dies():
            os._exit(1)
        """,
    )
    for n in range(10):
        project.write(f"tests/test_{n}.py", "".join(f"def test_{k}(): pass\n" for k in range(4)))
    results = tmp_path / "results"
    proc = project.fastci("run", "-j", "2", "--results", str(results), timeout=300)
    assert proc.returncode == 7, proc.stdout + proc.stderr
    outcomes = bundle_results(results / "fastci-local")
    crashed = [t for t, o in outcomes.items() if o == "crashed"]
    not_run = [t for t, o in outcomes.items() if t.endswith("::<not run>")]
    assert len(crashed) <= 2 + 4 * 2  # the first workers, then at most 4 restarts per job
    assert not_run  # what could not run is named, not dropped
    assert "did not run" in proc.stdout
    assert len(manifest(results / "fastci-local")["workers"]) <= 2 + 4 * 2


def test_a_unit_whose_import_killed_a_worker_is_retried_once_then_failed(
    project: Project, tmp_path: Path
) -> None:
    project.write("tests/test_bad_import.py", "import os\nos._exit(9)\ndef test_x(): pass\n")
    project.write("tests/test_ok.py", "def test_ok(): pass\n")
    proc, outcomes = run_local(project, tmp_path / "results")
    assert proc.returncode == 1
    assert outcomes == {
        "tests/test_bad_import.py": "crashed",
        "tests/test_ok.py::test_ok": "passed",
    }
    assert "while importing tests/test_bad_import.py, twice" in proc.stdout


def test_a_background_process_left_by_a_test_does_not_hold_up_the_run(project: Project) -> None:
    project.write("tests/test_a.py", "import os\ndef test_spawns(): os.system('sleep 30 &')\n")
    started = time.monotonic()
    proc = project.fastci("run", "-j", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert time.monotonic() - started < 20


def test_last_failed_selects_what_pytest_would(project: Project, tmp_path: Path) -> None:
    for name in "abcd":
        project.write(
            f"tests/test_{name}.py",
            "".join(
                f"def test_{name}{n}(): assert {name == 'b' and n == 2}  == False\n"
                for n in range(3)
            ),
        )
    first = project.fastci("run", "-j", "2", "-p", "cacheprovider")
    assert first.returncode == 1
    _, outcomes = run_local(project, tmp_path / "lf", "--lf", "-p", "cacheprovider")
    assert outcomes == {"tests/test_b.py::test_b2": "failed"}


def test_collect_only_lists_the_tests_and_runs_none(project: Project) -> None:
    write_sample_suite(project)
    proc = project.fastci("run", "--co")
    assert proc.returncode == 0
    assert f"{SAMPLE_TEST_COUNT} tests collected" in proc.stdout
    assert not (project.root / ".fastci" / "timings.db").exists()


def test_an_unsupported_coverage_report_is_refused_before_any_test_runs(
    project: Project,
) -> None:
    project.write("tests/test_a.py", "def test_a(): pass\n")
    proc = project.fastci("run", "--cov=tests", "--cov-report=annotate")
    assert proc.returncode == 4
    assert "--cov-report=annotate is not supported" in proc.stderr
    assert "passed" not in proc.stdout


def test_sigterm_stops_a_run_started_with_sigint_ignored(project: Project) -> None:
    project.write(
        "tests/test_slow.py",
        "import time\n" + "".join(f"def test_{n}(): time.sleep(2)\n" for n in range(8)),
    )
    proc = started_fastci(project.root, "run", "-j", "2", sigint=signal.SIG_IGN)
    time.sleep(4)
    stopped_at = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert time.monotonic() - stopped_at < 8


def test_the_state_directory_ignores_itself_in_git(project: Project) -> None:
    project.write("tests/test_a.py", "def test_a(): pass\n")
    assert project.fastci("run", "--shard", "1/2").returncode == 0
    assert (project.root / ".fastci" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_xdist_style_n_sets_the_worker_count(project: Project, tmp_path: Path) -> None:
    project.write("tests/test_a.py", "def test_a(): pass\n")
    results = tmp_path / "results"
    assert project.fastci("run", "-n", "3", "--results", str(results)).returncode == 0
    assert manifest(results / "fastci-local")["jobs"] == 3


def test_a_worker_runs_tests_on_its_only_thread(project: Project) -> None:
    # CPython 3.12+ warns on os.fork() in a multi-threaded process; under filterwarnings =
    # error a forking test would fail in fastci's worker and pass under plain pytest.
    for n in range(3):
        project.write(
            f"tests/test_{n}.py",
            """
            import re
            from pathlib import Path

            def test_alone():
                status = Path("/proc/self/status").read_text()
                assert re.search(r"^Threads:\\s+1$", status, re.M), status
            """,
        )
    proc = project.fastci("run", "-j", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_pytest_args_from_the_settings_and_the_command_line_both_reach_pytest_once(
    project: Project, tmp_path: Path
) -> None:
    project.write(
        "pyproject.toml",
        """
        [tool.pytest.ini_options]
        testpaths = ["tests"]

        [tool.fastci]
        pytest_args = ["-m", "not slow"]
        """,
    )
    project.write(
        "tests/conftest.py",
        """
        import sys

        def pytest_configure(config):
            config.addinivalue_line("markers", "slow: slow")
            with open("argv.log", "a") as log:
                log.write(repr(sys.argv) + "\\n")
        """,
    )
    project.write(
        "tests/test_m.py",
        """
        import pytest

        def test_fast(): pass
        def test_other(): pass
        @pytest.mark.slow
        def test_slow(): pass
        """,
    )
    proc, outcomes = run_local(project, tmp_path / "results", "-k", "fast or slow")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert outcomes == {"tests/test_m.py::test_fast": "passed"}
    for argv in (project.root / "argv.log").read_text().splitlines():
        assert argv.count("'fast or slow'") <= 1, argv


def test_more_jobs_than_units_start_no_more_workers_than_cores_or_units(
    project: Project, tmp_path: Path
) -> None:
    project.write("tests/test_a.py", "def test_a(): pass\n")
    project.write("tests/test_b.py", "def test_b(): pass\n")
    results = tmp_path / "results"
    proc = project.fastci("run", "-j", "40", "--results", str(results), timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "on 2 workers, 2 units" in proc.stdout
    started = sorted(p.name for p in (results / "fastci-local" / "logs").iterdir())
    # Before the plan, as many as the cores; after it, none beyond the units.
    assert len(started) <= max(2, len(os.sched_getaffinity(0))), started


def test_junit_names_match_pytests_own_for_classes_and_odd_parameter_ids(
    project: Project,
) -> None:
    project.write(
        "tests/sub/test_names.py",
        """
        import pytest

        @pytest.mark.parametrize("x", ["a::b", "c[d]", "e f"])
        def test_p(x): pass

        class TestOuter:
            class TestInner:
                def test_deep(self): pass
        """,
    )

    project.write("tests/test_optional.py", "import pytest\npytest.importorskip('no_such')\n")

    def names(xml: Path) -> set[tuple[str | None, str | None]]:
        import xml.etree.ElementTree as ET

        cases = ET.parse(xml).getroot().iter("testcase")
        return {(case.get("classname"), case.get("name")) for case in cases}

    plain = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:fastci", "--junitxml=plain.xml"],
        cwd=project.root,
        capture_output=True,
        check=False,
    )
    assert plain.returncode == 0, plain.stdout
    assert project.fastci("run", "--junitxml=fastci.xml").returncode == 0
    expected = names(project.root / "plain.xml")
    assert len(expected) == 5
    assert names(project.root / "fastci.xml") == expected


@pytest.mark.parametrize("granularity", ["file", "test"])
def test_the_summary_counts_deselected_tests_as_pytest_does(
    project: Project, granularity: str
) -> None:
    write_sample_suite(project)
    selection = (
        "-k",
        "upper or lower or plain",
        "--deselect",
        "tests/sub/test_gamma.py::test_plain",
    )
    plain = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *selection],
        cwd=project.root,
        capture_output=True,
        text=True,
        check=False,
    )
    expected = plain.stdout.splitlines()[-1].split(" in ")[0]
    assert "deselected" in expected, plain.stdout
    proc = project.fastci("run", "-j", "2", "--granularity", granularity, *selection)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert expected in proc.stdout.splitlines()[-1]


def test_the_short_summary_lists_what_pytests_r_option_asks_for(project: Project) -> None:
    project.write(
        "tests/test_r.py",
        """
        import pytest

        def test_ok(): pass

        @pytest.mark.skip(reason="not on this machine")
        def test_skipped(): pass

        @pytest.mark.xfail(reason="known bug")
        def test_known(): assert False

        def test_bad(): assert False
        """,
    )
    default = project.fastci("run").stdout.splitlines()
    assert "FAILED tests/test_r.py::test_bad - assert False" in default
    assert not [line for line in default if line.startswith(("SKIPPED", "XFAIL", "PASSED"))]
    asked = project.fastci("run", "-rsx").stdout.splitlines()
    assert "SKIPPED [1] tests/test_r.py:5: not on this machine" in asked  # folded, as pytest
    assert "XFAIL tests/test_r.py::test_known - known bug" in asked  # as pytest says it
    assert "FAILED tests/test_r.py::test_bad - assert False" not in asked  # -r replaces "fE"
    everything = project.fastci("run", "-rA").stdout.splitlines()
    assert "PASSED tests/test_r.py::test_ok" in everything
