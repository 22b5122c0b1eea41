"""Per-test time limits in a worker: past it, every thread's stack is dumped, the worker ends.

A test's limit is its ``timeout`` marker (read as pytest-timeout reads it: the first argument
or ``timeout=``), else fastci's ``--timeout``; 0 means none. faulthandler's watchdog thread
is armed around each test's setup, call and teardown and cancelled after it; when it fires,
it writes every thread's stack to the worker's stacks file and ends the worker at once, even
in a test blocked in C code. The coordinator reads the file, fails the test as timed out and
hands the rest of its unit to a fresh worker (``fastci.execute.timeouts``).

When pytest-timeout is active in the worker, it acts first: it reads the same marker (and its
own ``timeout`` option), and fastci's watchdog fires only ``BACKSTOP_SECONDS`` after the
limit, for a test pytest-timeout could not stop (one blocked in C code, say).
"""

from __future__ import annotations

import faulthandler
import os
from collections.abc import Generator

import pytest

from fastci.plugin.launch import STACKS_HEADER_BYTES, STACKS_VARIABLE, TIMEOUT_VARIABLE
from fastci.settings import seconds

MARKER = "timeout"
BACKSTOP_SECONDS = 5.0  # the head start pytest-timeout gets, when it is active
BAD_MARKER = pytest.StashKey[str]()


def install(config: pytest.Config) -> None:
    """Arm the watchdog in a fastci worker; later than the limit when pytest-timeout is active."""
    stacks = os.environ.get(STACKS_VARIABLE)
    if not stacks:
        return
    backstop = 0.0
    # Its entry point's name, or its module's when loaded with -p pytest_timeout.
    if any(config.pluginmanager.has_plugin(n) for n in ("timeout", "pytest_timeout")):
        backstop = BACKSTOP_SECONDS
    else:
        config.addinivalue_line(
            "markers", f"{MARKER}(seconds): fail this test after that many seconds (fastci)"
        )
    default = seconds(os.environ.get(TIMEOUT_VARIABLE) or 0)
    config.pluginmanager.register(Watchdog(default, stacks, backstop), "fastci-watchdog")


def limit_of(item: pytest.Item, default: float) -> float:
    """The item's limit in seconds (0: none); raises ValueError for a marker fastci cannot read."""
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return default
    if "timeout" in marker.kwargs:
        return seconds(marker.kwargs["timeout"])
    return seconds(marker.args[0] if marker.args else None)


class Watchdog:
    def __init__(self, default: float, stacks_path: str, backstop: float) -> None:
        self.default = default
        self.backstop = backstop
        # Opened once: arming for a test then costs one write of the header, not an open.
        self.fd = os.open(stacks_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.set_inheritable(self.fd, False)
        os.write(self.fd, b" " * STACKS_HEADER_BYTES)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, object]:
        try:
            limit = limit_of(item, self.default)
        except ValueError as e:
            item.stash[BAD_MARKER] = f"its {MARKER} marker must be {e}"
            limit = 0.0
        if limit <= 0:
            return (yield)
        header = f"{limit!r}\n".encode().ljust(STACKS_HEADER_BYTES)[:STACKS_HEADER_BYTES]
        os.pwrite(self.fd, header, 0)  # the file position stays where faulthandler writes
        faulthandler.dump_traceback_later(limit + self.backstop, exit=True, file=self.fd)
        try:
            return (yield)
        finally:
            faulthandler.cancel_dump_traceback_later()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        problem = item.stash.get(BAD_MARKER, None)
        if problem is not None:
            marker = item.get_closest_marker(MARKER)
            pytest.fail(f"{item.nodeid}: {problem}, got {marker}", pytrace=False)
