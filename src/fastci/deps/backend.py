"""The tools that do the work, uv or pip: finding them, running them, explaining failures."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence

from fastci.deps.interpreter import Interpreter
from fastci.errors import ExitCode, FastciError

LAST_LINES = 25
# Phrases uv and pip print when the index cannot be reached at all.
UNREACHABLE = re.compile(
    r"Connection refused|Failed to establish a new connection|Name or service not known|"
    r"Temporary failure in name resolution|dns error|error sending request|"
    r"Max retries exceeded|NewConnectionError|ConnectTimeout|Network is unreachable|"
    r"No route to host|tcp connect error|failed to lookup address",
    re.IGNORECASE,
)

UV_INDEX_VARIABLES = ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX", "UV_EXTRA_INDEX_URL")


# uv and pip come with the deps extra, not with fastci: projects that only run their tests
# with fastci do not get them in their test environment.
MISSING_TOOLS = "fastci deps needs uv (or pip): pip install 'fastci[deps]'"
MISSING_PIP = (
    "fastci deps build needs pip to download and build wheels (uv cannot): "
    "pip install 'fastci[deps]'"
)


@dataclasses.dataclass(frozen=True)
class Backend:
    """The chosen installer, and whether pip is there to download and build wheels."""

    name: str  # "uv" or "pip"
    uv: str | None
    has_pip: bool = True  # pip in fastci's environment (the target's own is checked apart)

    def index_arguments(self, index_url: str | None) -> list[str]:
        """Which index to use: deps.index-url, else the tool's own configuration.

        uv does not read pip's settings, so a PIP_INDEX_URL / PIP_EXTRA_INDEX_URL that a CI
        sets for a private index is passed on to uv when uv has no index setting of its own.
        """
        if index_url:
            return ["--index-url", index_url]
        if self.name != "uv" or any(os.environ.get(v) for v in UV_INDEX_VARIABLES):
            return []
        arguments = []
        if os.environ.get("PIP_INDEX_URL"):
            arguments += ["--index-url", os.environ["PIP_INDEX_URL"]]
        for url in os.environ.get("PIP_EXTRA_INDEX_URL", "").split():
            arguments += ["--extra-index-url", url]
        return arguments

    def pip(self, interpreter: Interpreter) -> list[str]:
        """A pip command line that works on ``interpreter``, even one without pip of its own."""
        if interpreter.has_pip:
            return [interpreter.executable, "-m", "pip"]
        if not self.has_pip:
            raise FastciError(
                MISSING_TOOLS if self.uv is None else MISSING_PIP, ExitCode.DEPENDENCIES_FAILED
            )
        return [sys.executable, "-m", "pip", "--python", interpreter.executable]


@dataclasses.dataclass(frozen=True)
class Target:
    """What a dependency step works with: the interpreter it serves, the tools, the index."""

    interpreter: Interpreter
    backend: Backend
    index_url: str | None = None

    def index_arguments(self) -> list[str]:
        return self.backend.index_arguments(self.index_url)

    def pip(self) -> list[str]:
        return self.backend.pip(self.interpreter)


def find_uv() -> str | None:
    """The uv binary that came with fastci, else one on PATH."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def fastci_has_pip() -> bool:
    """Whether pip is importable where fastci runs (a virtualenv often has it anyway)."""
    return importlib.util.find_spec("pip") is not None


def choose_backend(installer: str, interpreter: Interpreter, *, download: bool = False) -> Backend:
    """``installer`` is auto, uv or pip (the deps.installer setting); ``download``: the
    action downloads and builds wheels, which only pip does.

    Missing tools are one line and exit 8, before any work starts.
    """
    uv = find_uv() if installer in ("auto", "uv") else None
    if installer == "uv" and uv is None:
        raise FastciError(
            "deps.installer is 'uv' but no uv was found: pip install 'fastci[deps]'",
            ExitCode.DEPENDENCIES_FAILED,
        )
    backend = Backend("uv" if uv else "pip", uv, fastci_has_pip())
    if (download or uv is None) and not interpreter.has_pip:
        backend.pip(interpreter)  # raises the one line when no pip is anywhere
    return backend


def run_tool(
    argv: Sequence[str], doing: str, env: dict[str, str] | None = None, cwd: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run uv or pip; a failure becomes one line (exit 8) with the tool's last lines above it."""
    environment = {**os.environ, **(env or {})}
    try:
        result = subprocess.run(
            list(argv), capture_output=True, text=True, env=environment, cwd=cwd, check=False
        )
    except OSError as e:
        raise FastciError(
            f"cannot run {argv[0]} while {doing}: {e.strerror}", ExitCode.DEPENDENCIES_FAILED
        ) from None
    if result.returncode != 0:
        raise tool_failure(result, doing)
    return result


def tool_failure(result: subprocess.CompletedProcess[str], doing: str) -> FastciError:
    output = "\n".join(part for part in (result.stdout, result.stderr) if part.strip())
    lines = [line for line in output.splitlines() if line.strip()]
    details = "\n".join(lines[-LAST_LINES:])
    if UNREACHABLE.search(output):
        return FastciError(
            f"the package index is unreachable while {doing}; check the network and the index "
            "URL (deps.index-url, or your pip/uv configuration)",
            ExitCode.DEPENDENCIES_FAILED,
            details=details,
        )
    reason = next((line.strip() for line in reversed(lines) if "error" in line.lower()), "")
    return FastciError(
        f"{doing} failed (exit {result.returncode})" + (f": {reason}" if reason else ""),
        ExitCode.DEPENDENCIES_FAILED,
        details=details,
    )
