"""pytest's session header, as the user's own pytest would print it, for the coordinator."""

from __future__ import annotations

import importlib
import importlib.metadata
import io
from typing import Any, cast

import pytest


def session_header(session: pytest.Session) -> tuple[str, ...]:
    """The lines pytest's terminal reporter writes at session start (the rule, platform, the
    ``pytest_report_header`` lines of pytest itself, plugins and conftests), written by a
    reporter of pytest's own at the user's verbosity (fastci adds one ``-q`` to its
    workers), at least 0, where it shows."""
    config = session.config
    out = io.StringIO()
    reporter = _terminal_reporter_class()(config, out)
    verbose = config.option.verbose
    config.option.verbose = max(0, verbose + 1)
    try:
        reporter.pytest_sessionstart(session)
    finally:
        config.option.verbose = verbose
    return tuple(_in_entry_point_order(line) for line in out.getvalue().splitlines())


def _terminal_reporter_class() -> type[Any]:
    """pytest's terminal reporter: public in recent pytest, only in ``_pytest.terminal`` in 8.0."""
    found = (
        getattr(pytest, "TerminalReporter", None)
        or importlib.import_module("_pytest.terminal").TerminalReporter
    )
    return cast("type[Any]", found)


def _in_entry_point_order(line: str) -> str:
    """The plugins line in the order plain pytest loads them (its pytest11 entry points, by
    installed distribution), not with fastci first because a worker loads it by ``-p``."""
    if not line.startswith("plugins: "):
        return line
    order: dict[str, int] = {}
    for dist in importlib.metadata.distributions():
        if any(ep.group == "pytest11" for ep in dist.entry_points):
            name = dist.metadata["Name"] or ""
            name = name.removeprefix("pytest-")
            order.setdefault(f"{name}-{dist.version}", len(order))
    shown = line.removeprefix("plugins: ").split(", ")
    ranked = sorted(shown, key=lambda item: order.get(item, len(order)))
    return "plugins: " + ", ".join(ranked)
