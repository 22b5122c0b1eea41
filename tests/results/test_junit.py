"""JUnit XML written as pytest's junitxml writes the same outcomes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from fastci.model import TestResult
from fastci.results.junit import write_junit


def _cases(tmp_path: Path, *results: TestResult) -> list[tuple[str, list[tuple[str, str]]]]:
    path = tmp_path / "junit.xml"
    write_junit(path, list(results), "fastci")
    return [
        (case.get("name", ""), [(child.tag, child.get("type", "")) for child in case])
        for case in ET.parse(path).getroot().iter("testcase")
    ]


def test_an_xfail_is_skipped_as_pytest_xfail_with_its_reason(tmp_path: Path) -> None:
    result = TestResult("t.py::test_x", "t.py", outcome="xfailed", longrepr="xfail: known")
    path = tmp_path / "junit.xml"
    write_junit(path, [result], "fastci")
    skipped = ET.parse(path).getroot().find(".//skipped")
    assert skipped is not None
    assert (skipped.get("type"), skipped.get("message")) == ("pytest.xfail", "known")


def test_a_passed_test_with_a_teardown_error_is_one_case_with_an_error(tmp_path: Path) -> None:
    result = TestResult("t.py::test_x", "t.py", teardown_error="RuntimeError: boom")
    assert _cases(tmp_path, result) == [("test_x", [("error", "")])]


def test_a_failed_test_with_a_teardown_error_is_two_cases_as_pytest_writes_it(
    tmp_path: Path,
) -> None:
    result = TestResult("t.py::test_x", "t.py", outcome="failed", teardown_error="boom")
    assert _cases(tmp_path, result) == [("test_x", [("failure", "")]), ("test_x", [("error", "")])]


def test_a_files_collection_reports_share_one_case_without_a_skip_type(tmp_path: Path) -> None:
    skip = TestResult("t.py", "t.py", outcome="skipped", longrepr="whole module")
    path = tmp_path / "junit.xml"
    write_junit(path, [skip, skip], "fastci")
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "1"
    assert [(c.tag, c.get("type")) for c in suite.iter("skipped")] == [("skipped", None)] * 2


def test_an_internal_error_is_pytests_pytest_internal_case(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    write_junit(path, [], "fastci", internal_error="INTERNALERROR> ValueError: hook broke")
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    (case,) = suite.iter("testcase")
    error = case.find("error")
    assert (case.get("classname"), case.get("name"), suite.get("errors")) == (
        "pytest",
        "internal",
        "1",
    )
    assert error is not None
    assert error.get("message") == "internal error"
