"""The ways tests run fastci: in this process with its output captured, or as a real process."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from fastci.cli import main


@dataclasses.dataclass(frozen=True)
class Result:
    """What a fastci command run in this process returned and printed."""

    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


def fastci(capsys: pytest.CaptureFixture[str], *args: str | Path) -> Result:
    """Run the fastci CLI in this process and capture what it printed."""
    capsys.readouterr()
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def fastci_code(*args: str | Path) -> int:
    """Run the fastci CLI in this process, its output left to pytest; return its exit code."""
    return main([str(a) for a in args])


def fastci_process(
    cwd: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m fastci`` as a real process in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "fastci", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def started_fastci(
    cwd: Path, *args: str, sigint: signal.Handlers = signal.SIG_DFL
) -> subprocess.Popen[str]:
    """Start ``python -m fastci`` as a real process that Ctrl-C reaches.

    A process started with SIGINT ignored keeps ignoring it (as a background job of a
    non-interactive shell does, CI runners among them), so the child gets ``sigint`` as its
    disposition whatever this process inherited.
    """
    return subprocess.Popen(
        [sys.executable, "-m", "fastci", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, sigint),  # noqa: PLW1509 (no threads here)
    )


def wait_for_file(path: Path, timeout: float = 60) -> None:
    """Wait until ``path`` exists: a test in a worker got that far."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)
