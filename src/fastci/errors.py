"""The one user-facing error type and fastci's documented exit codes."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Exit codes of every fastci command; 0-5 mean what they mean to pytest."""

    OK = 0
    TESTS_FAILED = 1
    INTERRUPTED = 2
    INTERNAL_ERROR = 3
    USAGE_ERROR = 4
    NO_TESTS_COLLECTED = 5
    COVERAGE_UNDER_THRESHOLD = 6
    RESULTS_INCOMPLETE = 7
    DEPENDENCIES_FAILED = 8
    GATE_SKIP = 9


class FastciError(Exception):
    """A problem the user can fix: reported as one line, never as a traceback."""

    exit_code: int = ExitCode.USAGE_ERROR

    def __init__(
        self, message: str, exit_code: int | None = None, details: str | None = None
    ) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
        self.details = details  # printed as-is before the one-line message, e.g. pytest's output

    @property
    def message(self) -> str:
        return str(self)


class UsageError(FastciError):
    """Bad flags, a bad setting or a bad input file."""

    exit_code = ExitCode.USAGE_ERROR
