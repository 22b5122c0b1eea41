"""pytest's session header, as the user's own pytest would print it, for the coordinator."""

from __future__ import annotations

import io

import pytest


def session_header(session: pytest.Session) -> tuple[str, ...]:
    """The lines pytest's terminal reporter writes at session start (the rule, platform, the
    ``pytest_report_header`` lines of pytest itself, plugins and conftests), written by a
    reporter of pytest's own at the user's verbosity (fastci adds one ``-q`` to its
    workers), at least 0, where it shows."""
    config = session.config
    out = io.StringIO()
    reporter = pytest.TerminalReporter(config, out)
    verbose = config.option.verbose
    config.option.verbose = max(0, verbose + 1)
    try:
        reporter.pytest_sessionstart(session)
    finally:
        config.option.verbose = verbose
    return tuple(out.getvalue().splitlines())
