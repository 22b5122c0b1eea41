"""Lines over a pair of pipes, between fastci's coordinator and its workers."""

from __future__ import annotations

import os
import select

from fastci.execute.messages import FromWorker, ToWorker, decode_to_worker, encode


class LineReader:
    """Splits bytes read from a pipe into lines; keeps a partial last line for later."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        return [line for line in lines if line.strip()]


def write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


class WorkerChannel:
    """The worker's end: blocking receive, non-blocking poll, send."""

    def __init__(self, fd_in: int, fd_out: int) -> None:
        self.fd_in = fd_in
        self.fd_out = fd_out
        self._reader = LineReader()
        self._pending: list[ToWorker] = []
        self._closed = False

    def send(self, message: FromWorker) -> None:
        write_all(self.fd_out, encode(message))

    def receive(self) -> ToWorker | None:
        """The next message; None once the coordinator has closed its end."""
        while not self._pending:
            if self._closed or not self._read(blocking=True):
                return None
        return self._pending.pop(0)

    def poll(self) -> ToWorker | None:
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
        self._pending.extend(decode_to_worker(line) for line in self._reader.feed(data))
        return True
