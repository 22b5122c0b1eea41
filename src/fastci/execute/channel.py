"""JSON-lines messages over a pair of pipes, between fastci's coordinator and its workers."""

from __future__ import annotations

import json
import os
import select
from typing import Any

Message = dict[str, Any]


def encode(kind: str, **fields: Any) -> bytes:
    return json.dumps({"kind": kind, **fields}, separators=(",", ":")).encode() + b"\n"


class LineReader:
    """Splits bytes read from a pipe into messages; keeps a partial last line for later."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[Message]:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        return [json.loads(line) for line in lines if line.strip()]


class WorkerChannel:
    """The worker's end: blocking receive, non-blocking poll, send."""

    def __init__(self, fd_in: int, fd_out: int) -> None:
        self.fd_in = fd_in
        self.fd_out = fd_out
        self._reader = LineReader()
        self._pending: list[Message] = []
        self._closed = False

    def send(self, kind: str, **fields: Any) -> None:
        data = encode(kind, **fields)
        while data:
            written = os.write(self.fd_out, data)
            data = data[written:]

    def receive(self) -> Message | None:
        """The next message; None once the coordinator has closed its end."""
        while not self._pending:
            if self._closed or not self._read(blocking=True):
                return None
        return self._pending.pop(0)

    def poll(self) -> Message | None:
        """A message if one has arrived, without waiting."""
        if not self._pending and not self._closed:
            self._read(blocking=False)
        return self._pending.pop(0) if self._pending else None

    def _read(self, blocking: bool) -> bool:
        if not blocking:
            ready, _, _ = select.select([self.fd_in], [], [], 0)
            if not ready:
                return True
        data = os.read(self.fd_in, 65536)
        if not data:
            self._closed = True
            return False
        self._pending.extend(self._reader.feed(data))
        return True
