"""The coordinator<->worker protocol: typed messages, one JSON line each, checked on arrival.

A worker sends ``Ready`` once its session is up, ``Collected`` after importing a unit,
``TestDone`` per test, ``Warned`` per warning pytest records, ``Next`` when it wants more
work (its last test still held back) and ``Bye`` as it leaves. The coordinator answers
``RunUnit``, ``Stop`` (nothing more: finish and leave) or ``Abort`` (run nothing more, not
even the held-back test).

Both sides import this module, so it must not import pytest. A line that is not a message
of the expected side raises ``ProtocolError`` saying what was wrong with it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeAlias

from fastci.model import TestResult, WarningRecord


class ProtocolError(ValueError):
    """A line that is not a valid message: the text says what was wrong."""


@dataclasses.dataclass(frozen=True)
class Ready:
    """The worker's session is up; it waits for its first unit. ``header``: the lines pytest
    would print at the start of the user's session (rootdir, configfile, plugins...)."""

    kind: ClassVar[str] = "ready"
    header: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Next:
    """The worker wants another unit (the last test of its current one is held back)."""

    kind: ClassVar[str] = "next"


@dataclasses.dataclass(frozen=True)
class CollectError:
    """A file that failed to import (``error``) or skipped itself at import (``skipped``)."""

    id: str
    outcome: str
    longrepr: str


@dataclasses.dataclass(frozen=True)
class Collected:
    """A unit imported: its tests in the order the worker will run them."""

    kind: ClassVar[str] = "collected"
    unit: str
    tests: tuple[str, ...]
    errors: tuple[CollectError, ...]
    deselected: tuple[str, ...]
    files: Mapping[str, float]  # seconds each file took to import
    start: float
    stop: float
    # file -> own seconds of each top-level package it was first to import in this worker
    imports: Mapping[str, Mapping[str, float]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class TestDone:
    """One test's result."""

    __test__ = False  # not a pytest test class, whatever its name
    kind: ClassVar[str] = "test"
    result: TestResult


@dataclasses.dataclass(frozen=True)
class Warned:
    """A warning pytest recorded while collecting or running a test."""

    kind: ClassVar[str] = "warning"
    warning: WarningRecord


@dataclasses.dataclass(frozen=True)
class Bye:
    """The worker is leaving; ``aborted``: pytest stopped it (``-x``, ``--maxfail``, ``--sw``)."""

    kind: ClassVar[str] = "bye"
    aborted: bool = False


@dataclasses.dataclass(frozen=True)
class RunUnit:
    """Collect and run these files' tests: ``tests`` only (if given), never ``exclude``."""

    kind: ClassVar[str] = "unit"
    id: str
    files: tuple[str, ...]
    tests: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    part: tuple[int, int] | None = None  # (index, count): only the tests model.in_part()


@dataclasses.dataclass(frozen=True)
class Stop:
    """No more work: run the held-back test, then leave."""

    kind: ClassVar[str] = "stop"


@dataclasses.dataclass(frozen=True)
class Abort:
    """Stop now: run nothing more, not even the held-back test."""

    kind: ClassVar[str] = "abort"


FromWorker: TypeAlias = Ready | Next | Collected | TestDone | Warned | Bye
ToWorker: TypeAlias = RunUnit | Stop | Abort
Message: TypeAlias = FromWorker | ToWorker


def encode(message: Message) -> bytes:
    """One message as one line."""
    if isinstance(message, TestDone):
        fields: dict[str, Any] = vars(message.result)  # flat fields: no deep copy per test
    elif isinstance(message, Warned):
        fields = vars(message.warning)
    else:
        fields = {f.name: getattr(message, f.name) for f in dataclasses.fields(message)}
    if isinstance(message, Collected):
        fields["errors"] = [vars(e) for e in message.errors]
        fields["files"] = dict(message.files)
        fields["imports"] = {f: dict(p) for f, p in message.imports.items()}
    return json.dumps({"kind": message.kind, **fields}, separators=(",", ":")).encode() + b"\n"


def decode_from_worker(line: bytes) -> FromWorker:
    """A worker's line as a message; ``ProtocolError`` if it is not one."""
    kind, data = _parse(line)
    decoder = _FROM_WORKER.get(kind)
    if decoder is None:
        raise ProtocolError(f"unknown message kind {kind!r} from a worker")
    return decoder(data)


def decode_to_worker(line: bytes) -> ToWorker:
    """The coordinator's line as a message; ``ProtocolError`` if it is not one."""
    kind, data = _parse(line)
    decoder = _TO_WORKER.get(kind)
    if decoder is None:
        raise ProtocolError(f"unknown message kind {kind!r} from the coordinator")
    return decoder(data)


def _parse(line: bytes) -> tuple[str, dict[str, Any]]:
    try:
        data = json.loads(line)
    except ValueError:
        raise ProtocolError(f"not a JSON message: {_shorten(line)}") from None
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        raise ProtocolError(f"not a message with a kind: {_shorten(line)}")
    return data.pop("kind"), data


def _shorten(line: bytes, limit: int = 200) -> str:
    text = line.decode(errors="replace")
    return repr(text if len(text) <= limit else text[:limit] + "...")


# -- checking fields ----------------------------------------------------------------------

Check = Callable[[object], bool]


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_float(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _or_none(check: Check) -> Check:
    return lambda value: value is None or check(value)


def _is_strs(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_part(value: object) -> bool:
    """(index, count) of a cut file's parts, as JSON sends it."""
    return (
        isinstance(value, list)
        and len(value) == len(("index", "count"))
        and all(type(n) is int for n in value)
    )


def _is_file_seconds(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and _is_float(v) for k, v in value.items()
    )


def _is_errors(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(e, dict) and _fields_wrong(e, _ERROR_FIELDS, required=True) is None
        for e in value
    )


def _fields_wrong(
    data: Mapping[str, object], spec: Mapping[str, Check], required: bool
) -> str | None:
    """What is wrong with ``data`` against ``spec``, or None."""
    unknown = sorted(set(data) - set(spec))
    if unknown:
        return f"unknown field(s) {', '.join(unknown)}"
    for name, check in spec.items():
        if name not in data:
            if required:
                return f"missing field {name!r}"
        elif not check(data[name]):
            return f"field {name!r} has a wrong value {data[name]!r:.100}"
    return None


def _checked(
    kind: str, data: dict[str, Any], spec: Mapping[str, Check], required: bool = True
) -> dict[str, Any]:
    wrong = _fields_wrong(data, spec, required)
    if wrong is not None:
        raise ProtocolError(f"bad {kind!r} message: {wrong}")
    return data


_ERROR_FIELDS: dict[str, Check] = {"id": _is_str, "outcome": _is_str, "longrepr": _is_str}
_COLLECTED_FIELDS: dict[str, Check] = {
    "unit": _is_str,
    "tests": _is_strs,
    "errors": _is_errors,
    "deselected": _is_strs,
    "files": _is_file_seconds,
    "start": _is_float,
    "stop": _is_float,
    "imports": lambda v: (
        isinstance(v, dict)
        and all(isinstance(k, str) and _is_file_seconds(p) for k, p in v.items())
    ),
}
_RESULT_FIELDS: dict[str, Check] = {
    **dict.fromkeys(("id", "file", "outcome", "stdout", "stderr"), _is_str),
    **dict.fromkeys(("setup", "call", "teardown", "start", "stop"), _is_float),
    **dict.fromkeys(
        (
            "group",
            "longrepr",
            "worker",
            "teardown_error",
            "teardown_node",
            "crash",
            "teardown_crash",
            "skipped_at",
        ),
        _or_none(_is_str),
    ),
    "subtest_failures": _is_strs,
    "subtest_passes": _is_strs,
    "attempts": lambda v: type(v) is int and v == 1,  # reruns are counted by the coordinator
}
_WARNING_FIELDS: dict[str, Check] = {
    **dict.fromkeys(("location", "message", "category", "filename", "nodeid", "when"), _is_str),
    "lineno": lambda v: type(v) is int,
}
_UNIT_FIELDS: dict[str, Check] = {
    "id": _is_str,
    "files": _is_strs,
    "tests": _or_none(_is_strs),
    "exclude": _is_strs,
    "part": _or_none(_is_part),
}


def _collected(data: dict[str, Any]) -> Collected:
    d = _checked("collected", data, _COLLECTED_FIELDS)
    return Collected(
        unit=d["unit"],
        tests=tuple(d["tests"]),
        errors=tuple(CollectError(**e) for e in d["errors"]),
        deselected=tuple(d["deselected"]),
        files=d["files"],
        start=d["start"],
        stop=d["stop"],
        imports=d["imports"],
    )


def _test_done(data: dict[str, Any]) -> TestDone:
    d = _checked("test", data, _RESULT_FIELDS, required=False)
    if "id" not in d or "file" not in d:
        raise ProtocolError("bad 'test' message: a result needs an 'id' and a 'file'")
    return TestDone(TestResult(**d))


def _warned(data: dict[str, Any]) -> Warned:
    return Warned(WarningRecord(**_checked("warning", data, _WARNING_FIELDS)))


def _run_unit(data: dict[str, Any]) -> RunUnit:
    d = _checked("unit", data, _UNIT_FIELDS)
    tests = None if d["tests"] is None else tuple(d["tests"])
    part = None if d["part"] is None else (d["part"][0], d["part"][1])
    return RunUnit(d["id"], tuple(d["files"]), tests, tuple(d["exclude"]), part)


def _empty(cls: Callable[[], Message]) -> Callable[[dict[str, Any]], Any]:
    def decode(data: dict[str, Any]) -> Message:
        message = cls()
        _checked(message.kind, data, {})
        return message

    return decode


def _ready(data: dict[str, Any]) -> Ready:
    d = _checked("ready", data, {"header": _is_strs}, required=False)
    return Ready(header=tuple(d.get("header", ())))


def _bye(data: dict[str, Any]) -> Bye:
    return Bye(**_checked("bye", data, {"aborted": _is_bool}, required=False))


_FROM_WORKER: dict[str, Callable[[dict[str, Any]], FromWorker]] = {
    Ready.kind: _ready,
    Next.kind: _empty(Next),
    Collected.kind: _collected,
    TestDone.kind: _test_done,
    Warned.kind: _warned,
    Bye.kind: _bye,
}
_TO_WORKER: dict[str, Callable[[dict[str, Any]], ToWorker]] = {
    RunUnit.kind: _run_unit,
    Stop.kind: _empty(Stop),
    Abort.kind: _empty(Abort),
}
