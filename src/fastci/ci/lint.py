"""Which linters a project's CI runs and each one's command line: one decision for the
generated workflows and for ``fastci pipeline``."""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Sequence
from pathlib import Path

from fastci.config import read_pyproject
from fastci.errors import UsageError

LINTERS = ("ruff", "mypy")
MYPY_FILES_LINE = re.compile(r"^\s*files\s*=", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class LintCommand:
    """One linter and the command that runs it from the project root."""

    name: str
    argv: tuple[str, ...]

    @property
    def line(self) -> str:
        """The command as one shell line."""
        return shlex.join(self.argv)


def lint_commands(linters: Sequence[str], root: Path) -> tuple[LintCommand, ...]:
    """The command of each of ``linters``: ``ruff check .``; mypy on the files its
    configuration names, else on ``.``."""
    mypy = ("mypy",) if mypy_names_its_files(root) else ("mypy", ".")
    argv = {"ruff": ("ruff", "check", "."), "mypy": mypy}
    return tuple(LintCommand(name, argv[name]) for name in linters)


def choose_linters(lint: str, root: Path) -> tuple[str, ...]:
    """--lint: 'auto' (ruff, and mypy when the project configures it), 'none' or a list."""
    if lint == "auto":
        return ("ruff", "mypy") if mypy_configured(root) else ("ruff",)
    if lint == "none":
        return ()
    names = {name.strip() for name in lint.split(",") if name.strip()}
    unknown = names - set(LINTERS)
    if unknown or not names:
        raise UsageError(
            f"--lint {lint!r}: expected 'auto', 'none' or a comma-separated list of "
            + ", ".join(LINTERS)
        )
    return tuple(name for name in LINTERS if name in names)


def _mypy_config_texts(root: Path) -> list[str]:
    texts = [
        (root / name).read_text(encoding="utf-8", errors="replace")
        for name in ("mypy.ini", ".mypy.ini")
        if (root / name).is_file()
    ]
    setup_cfg = root / "setup.cfg"
    if setup_cfg.is_file():
        text = setup_cfg.read_text(encoding="utf-8", errors="replace")
        if "[mypy]" in text:
            texts.append(text)
    return texts


def _pyproject_mypy(root: Path) -> dict[str, object] | None:
    try:
        tool = read_pyproject(root).get("tool", {})
    except UsageError:
        return None  # load_config has already reported a broken pyproject.toml
    table = tool.get("mypy") if isinstance(tool, dict) else None
    return table if isinstance(table, dict) else None


def mypy_configured(root: Path) -> bool:
    return _pyproject_mypy(root) is not None or bool(_mypy_config_texts(root))


def mypy_names_its_files(root: Path) -> bool:
    table = _pyproject_mypy(root)
    if table is not None and table.get("files"):
        return True
    return any(MYPY_FILES_LINE.search(text) for text in _mypy_config_texts(root))
