"""The coordinator<->worker messages: each survives the wire, and a bad line says what is wrong."""

from __future__ import annotations

import pytest

from fastci.execute.messages import (
    Abort,
    Bye,
    Collected,
    CollectError,
    Message,
    Next,
    ProtocolError,
    Ready,
    RunUnit,
    Stop,
    TestDone,
    decode_from_worker,
    decode_to_worker,
    encode,
)
from fastci.model import TestResult

FROM_WORKER: list[Message] = [
    Ready(),
    Ready(header=("=== test session starts ===", "rootdir: /src", "plugins: timeout-2.4.0")),
    Next(),
    Collected(
        unit="tests/test_a.py",
        tests=("tests/test_a.py::test_x", "tests/test_a.py::test_y[1]"),
        errors=(CollectError("tests/test_b.py", "error", "ImportError: no"),),
        deselected=("tests/test_a.py::test_z",),
        files={"tests/test_a.py": 0.25},
        start=1.0,
        stop=2.5,
    ),
    TestDone(
        TestResult(
            id="tests/test_a.py::test_x",
            file="tests/test_a.py",
            outcome="failed",
            setup=0.1,
            call=0.2,
            teardown=0.3,
            start=1.0,
            stop=1.6,
            group="g:1",
            longrepr="assert 0",
            stdout="out",
            stderr="err",
            worker="gw1",
            crash="assert 0",
            teardown_crash="RuntimeError: left open",
        )
    ),
    Bye(aborted=True),
]
TO_WORKER: list[Message] = [
    RunUnit("tests/test_a.py", ("tests/test_a.py",), ("tests/test_a.py::test_x",), ()),
    RunUnit("tests/test_b.py", ("tests/test_b.py",), None, ("tests/test_b.py::test_slow",)),
    Stop(),
    Abort(),
]


@pytest.mark.parametrize("message", FROM_WORKER, ids=lambda m: m.kind)
def test_every_worker_message_reads_back_as_it_was_sent(message: Message) -> None:
    assert decode_from_worker(encode(message)) == message


@pytest.mark.parametrize("message", TO_WORKER, ids=lambda m: m.kind)
def test_every_coordinator_message_reads_back_as_it_was_sent(message: Message) -> None:
    assert decode_to_worker(encode(message)) == message


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (b"Traceback (most recent call last):", "not a JSON message: 'Traceback"),
        (b"[1, 2]", "not a message with a kind"),
        (b'{"kind": "hello"}', "unknown message kind 'hello' from a worker"),
        (b'{"kind": "unit", "id": "x"}', "unknown message kind 'unit' from a worker"),
        (b'{"kind": "test", "outcome": "passed"}', "a result needs an 'id' and a 'file'"),
        (b'{"kind": "test", "id": 3, "file": "f"}', "bad 'test' message: field 'id' has a wrong"),
        (b'{"kind": "test", "id": "a", "file": "f", "call": "1"}', "field 'call' has a wrong"),
        (b'{"kind": "test", "id": "a", "file": "f", "cpu": 1}', "unknown field(s) cpu"),
        (b'{"kind": "bye", "aborted": "yes"}', "bad 'bye' message: field 'aborted'"),
        (b'{"kind": "ready", "extra": 1}', "bad 'ready' message: unknown field(s) extra"),
        (b'{"kind": "ready", "header": "rootdir"}', "bad 'ready' message: field 'header'"),
        (b'{"kind": "test", "id": "a", "file": "f", "crash": 1}', "field 'crash' has a wrong"),
        (b'{"kind": "collected", "unit": "u"}', "bad 'collected' message: missing field 'tests'"),
    ],
)
def test_a_line_that_is_not_a_worker_message_says_what_is_wrong(line: bytes, says: str) -> None:
    with pytest.raises(ProtocolError) as error:
        decode_from_worker(line)
    assert says in str(error.value)


def test_a_worker_refuses_what_only_a_worker_may_send() -> None:
    with pytest.raises(ProtocolError, match="unknown message kind 'ready' from the coordinator"):
        decode_to_worker(encode(Ready()))
    with pytest.raises(ProtocolError, match="bad 'unit' message: field 'tests'"):
        decode_to_worker(b'{"kind":"unit","id":"u","files":[],"tests":"all","exclude":[]}')
