"""Planning a real suite: a never-run file that would hold up the run is cut into parts."""

from __future__ import annotations

from pathlib import Path

from fastci.results.bundle import read_results
from tests.helpers.projects import Project

# 48 tests in one file: functions, a parametrized function and a class.
BIG = (
    "import pytest\n\n"
    + "".join(f"def test_f{n}(): pass\n" for n in range(24))
    + "\n@pytest.mark.parametrize('x', range(12))\ndef test_p(x): pass\n\n"
    + "class TestK:\n"
    + "".join(f"    def test_m{n}(self): pass\n" for n in range(12))
)


def results_of(bundle: Path) -> list[str]:
    """Every result id in a bundle, repeats kept."""
    return [r.id for r in read_results(bundle / "results.jsonl")]


def parts_in_plan(project: Project, *args: str) -> list[str]:
    units = project.fastci_json("plan", *args)["units"]
    return sorted(uid for uid, unit in units.items() if unit["part"] is not None)


def test_a_never_run_file_that_holds_up_the_run_is_cut_into_parts_run_once_each(
    project: Project, tmp_path: Path
) -> None:
    project.write("tests/test_big.py", BIG)
    project.write("tests/test_small.py", "def test_one(): pass\n")
    assert len(parts_in_plan(project, "-j", "2")) >= 2
    proc = project.fastci("run", "-j", "2", "--results", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "49 passed" in proc.stdout
    assert sorted(results_of(tmp_path / "r" / "fastci-local")) == sorted(project.collected_ids())
    # Once timed, the store knows the file's tests: they are cut by those, not by parts.
    assert parts_in_plan(project, "-j", "2") == []


def test_shards_of_a_first_run_share_a_cut_file_and_the_merge_counts_each_test_once(
    project: Project, tmp_path: Path
) -> None:
    project.write("tests/test_big.py", BIG)
    assert len(parts_in_plan(project, "--shards", "3")) >= 3
    ran: list[str] = []
    for k in (1, 2, 3):
        results = tmp_path / f"r{k}"
        proc = project.fastci("run", "--shard", f"{k}/3", "--store", str(tmp_path / f"s{k}.db"),
                              "--results", str(results))  # fmt: skip
        assert proc.returncode in (0, 5), proc.stdout + proc.stderr
        ran += results_of(results / f"fastci-shard-{k}-of-3")
    assert sorted(ran) == sorted(project.collected_ids())
    merged = project.fastci("merge", *(str(tmp_path / f"r{k}") for k in (1, 2, 3)))
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "48 passed" in merged.stdout


def test_an_import_error_in_a_cut_file_is_one_error_as_in_pytest(
    project: Project, tmp_path: Path
) -> None:
    project.write("tests/test_big.py", "import not_a_module_anywhere\n" + BIG)
    assert len(parts_in_plan(project, "-j", "2")) >= 2
    proc = project.fastci("run", "-j", "2", "--results", str(tmp_path / "r"))
    assert proc.returncode == 2, proc.stdout + proc.stderr  # pytest's collection-error exit
    assert results_of(tmp_path / "r" / "fastci-local") == ["tests/test_big.py"]
    assert "1 error" in proc.stdout


def test_a_cut_file_that_skips_itself_is_one_skip(project: Project, tmp_path: Path) -> None:
    skips = "import pytest\npytest.skip('not here', allow_module_level=True)\n"
    project.write("tests/test_big.py", skips + BIG)
    project.write("tests/test_small.py", "def test_one(): pass\n")
    assert len(parts_in_plan(project, "-j", "2")) >= 2
    proc = project.fastci("run", "-j", "2", "--results", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(results_of(tmp_path / "r" / "fastci-local")) == [
        "tests/test_big.py",
        "tests/test_small.py::test_one",
    ]
    assert "1 passed, 1 skipped" in proc.stdout


def test_a_never_run_file_naming_a_group_marker_stays_whole(project: Project) -> None:
    grouped = BIG.replace("class TestK:", "@pytest.mark.xdist_group('db')\nclass TestK:")
    project.write("tests/test_big.py", grouped)
    assert parts_in_plan(project, "-j", "2") == []
    assert parts_in_plan(project, "-j", "2", "--split-files", "false") == []
