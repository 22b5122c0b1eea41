"""The target interpreter: which Python the set is for, and what of it changes the wheels."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

from fastci.changes.git import last_line
from fastci.errors import UsageError

# Run inside the target interpreter, which may have nothing but the standard library.
PROBE = """
import json, platform, sys, sysconfig
libc, libc_version = platform.libc_ver()
print(json.dumps({
    "implementation": sys.implementation.name,
    "version": list(sys.version_info[:2]),
    "soabi": sysconfig.get_config_var("SOABI") or "",
    "gil_disabled": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "platform": sysconfig.get_platform(),
    "libc": f"{libc} {libc_version}".strip(),
    "executable": sys.executable,
    "has_pip": __import__("importlib.util").util.find_spec("pip") is not None,
}))
"""


@dataclasses.dataclass(frozen=True)
class Interpreter:
    """What the key needs of a Python: version and ABI, platform and libc; not its path."""

    executable: str
    implementation: str
    version: tuple[int, int]
    soabi: str
    gil_disabled: bool
    platform: str
    libc: str
    has_pip: bool

    @property
    def tag(self) -> str:
        """A short interpreter tag, as in wheel names: cp311, cp313t, pp310."""
        short = {"cpython": "cp", "pypy": "pp"}.get(self.implementation, self.implementation)
        return f"{short}{self.version[0]}{self.version[1]}{'t' if self.gil_disabled else ''}"

    @property
    def python_input(self) -> str:
        major, minor = self.version
        return f"{self.implementation} {major}.{minor} abi={self.soabi or self.tag}"

    @property
    def platform_input(self) -> str:
        return f"{self.platform} {self.libc}".strip()


def default_python() -> str:
    """The active virtualenv's Python, else the one running fastci."""
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:
        for candidate in (Path(venv) / "bin" / "python", Path(venv) / "Scripts" / "python.exe"):
            if candidate.exists():
                return str(candidate)
    return sys.executable


def probe(python: str | None) -> Interpreter:
    """Ask ``python`` (default: see default_python) about itself."""
    executable = python or default_python()
    try:
        result = subprocess.run(
            [executable, "-c", PROBE], capture_output=True, text=True, check=False, timeout=60
        )
    except OSError as e:
        raise UsageError(f"cannot run Python interpreter {executable}: {e.strerror}") from None
    if result.returncode != 0:
        reason = last_line(result.stderr)
        raise UsageError(f"{executable} is not a working Python interpreter: {reason}")
    info = json.loads(result.stdout)
    return Interpreter(
        executable=str(Path(executable).absolute()) if os.sep in executable else executable,
        implementation=info["implementation"],
        version=(info["version"][0], info["version"][1]),
        soabi=info["soabi"],
        gil_disabled=info["gil_disabled"],
        platform=info["platform"],
        libc=info["libc"],
        has_pip=info["has_pip"],
    )
