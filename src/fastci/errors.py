"""What goes wrong: the one user-facing error type, the documented exit codes, the crash log."""

from __future__ import annotations

import dataclasses
import enum
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from fastci import __version__


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


@dataclasses.dataclass(frozen=True)
class Problem:
    """One reason a result is not a success, as one line, with the exit code it calls for."""

    message: str
    exit_code: ExitCode


# -- the crash log: what a bug in fastci leaves behind for its report, not a traceback

SHOWN_MESSAGE = 200  # characters of the exception's message on the one line


def crash_line(error: BaseException, argv: Sequence[str], project_dir: Path) -> str:
    """Write the crash log for ``error`` and return the one line that points to it."""
    message = " ".join(str(error).split())  # one line, whatever the exception said
    if len(message) > SHOWN_MESSAGE:
        message = message[: SHOWN_MESSAGE - 1] + "…"
    summary = f"{type(error).__name__}: {message}" if message else type(error).__name__
    log = write_crash_log(error, argv, project_dir)
    where = f"details in {log}" if log is not None else "no crash log could be written"
    return f"fastci: internal error ({summary}); {where} — please report it"


def write_crash_log(error: BaseException, argv: Sequence[str], project_dir: Path) -> Path | None:
    """The log under ``project_dir/.fastci``, else in the temp dir; None if neither is writable."""
    import tempfile  # the crash log's imports wait for a crash: every start stays lean

    from fastci.files import STATE_DIR, ensure_dir  # files imports this module

    text = crash_report(error, argv)
    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    for directory in (project_dir / STATE_DIR, Path(tempfile.gettempdir())):
        try:
            ensure_dir(directory)
            path = directory / name
            path.write_text(text, encoding="utf-8")
        except OSError:
            continue
        return path.resolve()
    return None


def crash_report(error: BaseException, argv: Sequence[str]) -> str:
    import platform
    import traceback

    lines = [
        f"fastci {__version__} internal error",
        f"python: {sys.version.split()[0]} ({sys.executable})",
        f"platform: {platform.platform()}",
        f"directory: {os.getcwd()}",
        f"command: {' '.join(['fastci', *argv])}",
        "",
        "".join(traceback.format_exception(error)),
    ]
    return "\n".join(lines)
