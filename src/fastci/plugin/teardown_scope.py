"""Which collectors' teardown raised a test's teardown error: the test's own, or shared ones.

pytest tears down, after a test, the collectors the next test does not share (its class,
module, package, and after the last test the session), each by running the finalizers its
fixtures registered. A worker watches those finalizers: when only collectors' finalizers
raised (not the test's own fixtures), the error belongs to a fixture that every worker that
set it up tears down again, and the coordinator reports it once (fastci.results.teardowns).

This reads pytest's ``session._setupstate.stack`` (node -> finalizers), which is not public;
where it is missing, nothing is watched and every teardown error counts as the test's own.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import pytest

SESSION_NODE = "(session)"  # the session's node id is empty


class TeardownScope:
    """Registered in a worker: remembers, per test, the collectors whose teardown raised."""

    def __init__(self) -> None:
        self.shared: dict[str, str] = {}  # test id -> the collectors that raised, alone

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_teardown(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, object]:
        __tracebackhide__ = True  # not in the error pytest shows: this frame is fastci's
        raised: list[Any] = []  # the nodes whose finalizers raised, in order
        for node, finalizers in _torn_down(item, nextitem):
            finalizers[:] = [_watched(fin, node, raised) for fin in finalizers]
        try:
            return (yield)
        finally:
            if raised and item not in raised:
                self.shared[item.nodeid] = " ".join(
                    dict.fromkeys(node.nodeid or SESSION_NODE for node in raised)
                )

    def take(self, nodeid: str) -> str | None:
        """The collectors whose teardown alone raised after ``nodeid``, once."""
        return self.shared.pop(nodeid, None)


def _torn_down(
    item: pytest.Item, nextitem: pytest.Item | None
) -> list[tuple[Any, list[Callable[[], object]]]]:
    """The stack's nodes that this teardown pops, as pytest's SetupState.teardown_exact does,
    with their finalizer lists."""
    stack = getattr(getattr(item.session, "_setupstate", None), "stack", None)
    if not isinstance(stack, dict):
        return []
    needed = nextitem.listchain() if nextitem is not None else []
    nodes = list(stack)
    kept = 0
    while kept < len(nodes) and kept < len(needed) and nodes[kept] is needed[kept]:
        kept += 1
    found = []
    for node in nodes[kept:]:
        entry = stack[node]
        if isinstance(entry, tuple) and entry and isinstance(entry[0], list):
            found.append((node, entry[0]))
    return found


def _watched(fin: Callable[[], object], node: Any, raised: list[Any]) -> Callable[[], object]:
    def run() -> object:
        __tracebackhide__ = True
        try:
            return fin()
        except BaseException:
            raised.append(node)
            raise

    return run
