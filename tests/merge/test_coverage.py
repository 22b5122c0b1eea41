"""Mapping measured paths from another runner's checkout onto this one."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastci.merge.coverage import CoverageSummary, path_mapper


@pytest.mark.parametrize(
    ("rootdir", "measured", "mapped"),
    [
        (
            "/home/runner/work/app/app",
            "/home/runner/work/app/app/src/app/x.py",
            "/here/src/app/x.py",
        ),
        ("/builds/app/", "/builds/app/app/x.py", "/here/app/x.py"),
        ("C:\\a\\app", "C:\\a\\app\\src\\app\\x.py", "/here/src/app/x.py"),
        ("C:\\a\\app", "c:\\A\\APP\\x.py", "/here/x.py"),
        (
            "/builds/app",
            "/usr/lib/python3/site-packages/lib.py",
            "/usr/lib/python3/site-packages/lib.py",
        ),
        ("/builds/app", "/builds/application/x.py", "/builds/application/x.py"),
        ("/builds/app", "app/x.py", "app/x.py"),
    ],
)
def test_files_under_the_runners_root_move_under_this_root_and_others_stay(
    rootdir: str, measured: str, mapped: str
) -> None:
    assert path_mapper(rootdir, Path("/here"))(measured) == mapped


def _summary(percent: float, fail_under: float, precision: int = 0) -> CoverageSummary:
    return CoverageSummary(percent, 100, 0, precision, (), fail_under, "")


@pytest.mark.parametrize(
    ("percent", "fail_under", "precision", "under"),
    [
        (89.6, 90, 0, False),  # shown as 90%: meets 90, as coverage.py judges it
        (89.4, 90, 0, True),
        (89.96, 90, 1, False),
        (89.94, 90, 1, True),
        (99.99, 100, 2, True),  # 100 means every line
        (100.0, 100, 0, False),
        (12.0, 0, 0, False),  # no threshold
    ],
)
def test_the_threshold_is_judged_on_the_total_as_shown(
    percent: float, fail_under: float, precision: int, under: bool
) -> None:
    assert (_summary(percent, fail_under, precision).threshold_problem is not None) is under
