"""How a run treats Ctrl-C and SIGTERM: alike while tests run, held while results are written."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType


@contextlib.contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """CI cancels a job with SIGTERM: treat it like Ctrl-C so results are still written."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[list[int]]:
    """Hold Ctrl-C/SIGTERM while results are written, so the store and bundle stay whole.

    Yields the signals received meanwhile; the caller turns them into exit code 2.
    """
    received: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
