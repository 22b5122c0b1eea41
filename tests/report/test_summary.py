"""The closing summary: pytest's sections and counts for what a run found."""

from __future__ import annotations

from fastci.model import TestResult
from fastci.report.summary import Summary


def test_setup_and_teardown_errors_get_pytests_headings_and_count_apart() -> None:
    results = [
        TestResult("t.py::test_a", "t.py", teardown_error="boom", worker="gw0"),
        TestResult("t.py::test_b", "t.py", outcome="error", longrepr="setup broke", worker="gw1"),
    ]
    counts = {"passed": 1, "error": 2}
    text = Summary(results, counts, 1.0, "timing").render()
    assert "ERROR at teardown of t.py::test_a [gw0]" in text
    assert "ERROR at setup of t.py::test_b [gw1]" in text
    assert text.index("ERRORS") < text.index("ERROR at setup")
    assert "ERROR t.py::test_a" in text  # in the short test summary too
    assert "1 passed, 2 errors in 1.00s" in text.splitlines()[-1]


def test_each_failed_subtest_is_counted_and_labelled_as_pytest_does() -> None:
    result = TestResult(
        "t.py::test_a",
        "t.py",
        outcome="failed",
        longrepr="contains 1 failed subtest",
        subtest_failures=["[n] (n=1)\nassert 1 != 1"],
    )
    assert result.verdicts == ("failed", "failed")
    text = Summary([result], {"failed": 2}, 1.0, "timing").render()
    assert "t.py::test_a [n] (n=1) [?]" in text
    assert text.index("SUBFAILED[n] (n=1) t.py::test_a") < text.index("FAILED t.py::test_a\n")
