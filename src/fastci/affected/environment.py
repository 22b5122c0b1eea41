"""The inputs every test depends on: a change to any of them runs everything."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from importlib import metadata
from pathlib import Path

from fastci.config import Config, read_toml
from fastci.errors import FastciError

CONFIG_FILES = ("pyproject.toml", "pytest.ini", "tox.ini", "setup.cfg", "setup.py")
# [tool.*] tables of tools that never run inside pytest: a change there (a lint rule, a
# release setting) cannot change a test's outcome through pytest's configuration. A test that
# reads pyproject.toml itself records the file, and any change to it selects that test.
NOT_TEST_TOOLS = frozenset(
    (
        "autopep8",
        "bandit",
        "black",
        "bumpversion",
        "check-manifest",
        "cibuildwheel",
        "codespell",
        "commitizen",
        "docformatter",
        "flake8",
        "interrogate",
        "isort",
        "mypy",
        "pydocstyle",
        "pylint",
        "pyright",
        "ruff",
        "semantic_release",
        "tbump",
        "towncrier",
        "tox",  # runs pytest from outside: a tox setting cannot reach a test fastci runs
        "vulture",
        "yapf",
    )
)
SKIPPED_DIRS = {".git", ".venv", "venv", ".tox", "node_modules", "__pycache__", ".fastci"}


def file_hash(path: Path) -> str:
    """A short digest of the file's content; "" when it cannot be read (absent)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return ""


def pyproject_hash(path: Path) -> str:
    """A digest of what pyproject.toml says, without comments, layout and the tables of
    tools that never run inside pytest (NOT_TEST_TOOLS); the file's own digest when it does
    not parse."""
    try:
        document = read_toml(path)
    except (OSError, ValueError):  # absent, or not TOML
        return file_hash(path)
    tools = document.get("tool")
    if isinstance(tools, dict):
        document["tool"] = {k: v for k, v in tools.items() if k not in NOT_TEST_TOOLS}
    canonical = json.dumps(document, sort_keys=True, default=str).encode()
    return hashlib.sha256(canonical).hexdigest()[:16]


def conftest_files(root: Path) -> list[str]:
    """Every conftest.py under the project, outside virtualenvs and caches."""
    found = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        if "conftest.py" in files:
            found.append(os.path.relpath(os.path.join(directory, "conftest.py"), root))
    return [f.replace(os.sep, "/") for f in sorted(found)]


def environment(config: Config, env_names: tuple[str, ...]) -> dict[str, str]:
    """Name -> value or digest of every global input, as compared between two commits."""
    from fastci import __version__

    inputs = {
        "python": ".".join(map(str, sys.version_info[:3])),
        "pytest": _version("pytest"),
        "fastci": __version__,
        "deps key": _deps_key(config),
    }
    for name in CONFIG_FILES:
        path = config.root / name
        inputs[name] = pyproject_hash(path) if name == "pyproject.toml" else file_hash(path)
    for name in conftest_files(config.root):
        inputs[name] = file_hash(config.root / name)
    for name in env_names:
        inputs[f"${name}"] = os.environ.get(name, "")
    for glob, paths in config.inputs:
        inputs[input_key(glob, paths)] = _glob_digest(config.root, glob)
    return inputs


def input_key(glob: str, paths: tuple[str, ...]) -> str:
    """The environment's name for one ``[tool.fastci] inputs`` entry."""
    return f"inputs {glob}" + (f" -> {','.join(paths)}" if paths else "")


def _glob_digest(root: Path, glob: str) -> str:
    """One digest of every file the glob matches now: their paths and contents."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.glob(glob) if p.is_file()):
        digest.update(f"{path.relative_to(root)}\0{file_hash(path)}\0".encode())
    return digest.hexdigest()[:16]


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return ""


def _deps_key(config: Config) -> str:
    from fastci.deps.inputs import read_sources
    from fastci.deps.interpreter import probe
    from fastci.deps.key import compute_key

    try:
        return compute_key(read_sources(config), probe(None)).value
    except FastciError:
        return "unknown"
