"""A shared fixture's teardown error, repeated by every worker that tore the fixture down, once."""

from __future__ import annotations

from fastci.model import TestResult
from fastci.results.teardowns import once_per_run

SESSION_ERROR = "RuntimeError: session teardown"


def _held(file: str, stop: float, node: str | None, error: str = SESSION_ERROR) -> TestResult:
    return TestResult(
        f"{file}::test_{stop:g}", file, stop=stop, teardown_error=error, teardown_node=node
    )


def _errors(results: list[TestResult]) -> list[str]:
    return [r.id for r in results if r.teardown_error is not None]


def test_a_session_error_from_three_workers_is_kept_once_on_the_last_file() -> None:
    results = [
        _held("tests/test_c.py", 1.0, "(session)"),
        _held("tests/test_a.py", 3.0, "(session)"),
        _held("tests/b/test_z.py", 2.0, "(session)"),
    ]
    assert _errors(once_per_run(results)) == ["tests/test_c.py::test_1"]


def test_errors_of_a_tests_own_fixtures_are_each_kept() -> None:
    results = [_held("tests/test_a.py", 1.0, None), _held("tests/test_b.py", 2.0, None)]
    assert _errors(once_per_run(results)) == [r.id for r in results]


def test_different_collectors_or_texts_are_different_errors() -> None:
    results = [
        _held("tests/test_a.py", 1.0, "tests/test_a.py::TestX"),
        _held("tests/test_a.py", 2.0, "tests/test_a.py::TestY"),
        _held("tests/test_b.py", 3.0, "(session)", "RuntimeError: at 0x7f01"),
        _held("tests/test_c.py", 4.0, "(session)", "RuntimeError: at 0x7f02"),
    ]
    assert _errors(once_per_run(results)) == [r.id for r in results]
