"""Typed records: every field of every record type read from a file has a Kind, and checks hold."""

from __future__ import annotations

import dataclasses
import math

import pytest

from fastci.model import TestResult, UnitSpan, WorkerSpan
from fastci.results.bundle import RESULT_KINDS, UNIT_KINDS, WORKER_KINDS
from fastci.results.phases import PHASE_KINDS, Phase
from fastci.results.records import RecordError, parse_json, typed
from fastci.results.timings import (
    FILE_KINDS,
    HEADER_KINDS,
    TEST_KINDS,
    FileRecord,
    RunHeader,
    TestRecord,
)

TABLES = [
    (TestResult, RESULT_KINDS),
    (UnitSpan, UNIT_KINDS),
    (WorkerSpan, WORKER_KINDS),
    (RunHeader, HEADER_KINDS),
    (TestRecord, TEST_KINDS),
    (FileRecord, FILE_KINDS),
    (Phase, PHASE_KINDS),
]


@pytest.mark.parametrize(("cls", "kinds"), TABLES, ids=[c.__name__ for c, _ in TABLES])
def test_every_field_of_every_record_type_has_exactly_one_kind(
    cls: type, kinds: dict[str, object]
) -> None:
    assert set(kinds) == {f.name for f in dataclasses.fields(cls)}


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (math.nan, "field call must be seconds from 0 to 1e+07, got NaN"),
        (math.inf, "got Infinity"),
        (-0.5, "got -0.5"),
        (True, "got true"),
        (10**400, "got 1" + "0" * 38 + "…"),
        ("1.0", 'got "1.0"'),
    ],
    ids=["nan", "inf", "negative", "bool", "huge int", "string"],
)
def test_a_value_out_of_its_kind_names_the_field_and_what_it_got(value: object, says: str) -> None:
    row = {"id": "t.py::a", "file": "t.py", "setup": 0, "teardown": 0, "outcome": "passed"}
    with pytest.raises(RecordError) as refused:
        typed(TestRecord, {**row, "call": value}, TEST_KINDS)
    assert says in str(refused.value)


def test_json_nested_deeper_than_python_reads_is_a_record_error_not_a_crash() -> None:
    with pytest.raises(RecordError, match="nested too deeply"):
        parse_json("[" * 100_000)
