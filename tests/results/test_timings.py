"""Timings reports: a cut-short last line is survived, a damaged or foreign report refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastci.errors import UsageError
from fastci.results.timings import ReportWriter, RunHeader, TestRecord, read_report


def test_a_half_written_last_line_of_a_report_is_skipped_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "report.jsonl"
    writer = ReportWriter(path, RunHeader(report_id="a", run_id="r", started=1.0, complete=True))
    writer.test(TestRecord("t.py::a", "t.py", 0.0, 1.0, 0.0, "passed"))
    writer.close()
    with path.open("a") as f:
        f.write('{"type":"test","id":"t.py::b","fi')
    (run,) = read_report(path)
    assert list(run.tests) == ["t.py::a"]
    assert run.header.complete is False  # no end line: the run was cut short
    assert "report.jsonl was cut short: its last line, 3, is incomplete" in capsys.readouterr().err
    with pytest.raises(UsageError, match="was cut short"):
        read_report(path, whole=True)  # a bundle's report is written whole: this is damage


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('<?xml version="1.0"?><testsuites/>', "holds no run"),
        (
            '{"type": "run", "format": 1, "report_id": "a", "run_id": "r", "started": 1.0,'
            ' "complete": true}\n{"type": "test", "id": "t.py::a", "file": "t.py",'
            ' "setup": 0, "call": 1e400, "teardown": 0, "outcome": "passed"}\n',
            "field call must be seconds from 0 to",
        ),
        (
            '{"type": "run", "format": 1, "report_id": "a", "run_id": "r", "started": 1.0,'
            ' "complete": true}\n{"type": "test", "id": "t.py::a", "file": "t.py",'
            ' "setup": 0, "call": 2e7, "teardown": 0, "outcome": "passed"}\n',
            r"field call must be seconds from 0 to 1e\+07",
        ),
    ],
)
def test_a_report_with_no_run_or_impossible_seconds_is_refused(
    tmp_path: Path, text: str, says: str
) -> None:
    path = tmp_path / "report.jsonl"
    path.write_text(text)
    with pytest.raises(UsageError, match=says):
        read_report(path)


def test_a_file_that_is_not_a_report_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.jsonl"
    path.write_text("hello\nworld\n")
    with pytest.raises(UsageError, match=r"junk.jsonl:1: not a fastci timings report line"):
        read_report(path)
