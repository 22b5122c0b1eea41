"""The gate: whether a change needs the pipeline, from gitignore-style patterns over its paths.

A changed path runs the pipeline when it matches an include pattern and no exclude pattern.
Patterns are relative to the project root; a changed path outside the project (in a larger
repository) is matched by its path from the repository root, so it can only add runs.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import pathspec

from fastci.changes.diff import ChangeSet
from fastci.config import Config
from fastci.errors import UsageError

# What a Python project's tests can depend on. Documentation, images and the like match none
# of these, so a change to them alone skips the pipeline.
DEFAULT_INCLUDE: tuple[str, ...] = (
    # Python code anywhere: the package, the tests, conftest.py, setup.py, noxfile.py
    "*.py",
    "*.pyi",
    "*.pyx",
    "*.pxd",
    # Everything beside the code: package data, test fixtures, compiled-extension sources
    "src/",
    "tests/",
    "test/",
    # How the project is built, installed and tested
    "pyproject.toml",
    "setup.cfg",
    "MANIFEST.in",
    "tox.ini",
    "pytest.ini",
    ".coveragerc",
    ".python-version",
    "requirements*.txt",
    "requirements/",
    "constraints*.txt",
    "Pipfile",
    "Pipfile.lock",
    "poetry.lock",
    "pdm.lock",
    "uv.lock",
    "pylock.toml",
    "pylock.*.toml",
    # The CI configuration itself
    "/.github/workflows/",
    "/.github/actions/",
    "/.gitlab-ci.yml",
)
LISTED_PATHS = 5  # how many unmatched paths a skip line names


def default_include(root: Path) -> tuple[str, ...]:
    """The default patterns, plus each top-level package of a flat layout (``pkg/``)."""
    packages = sorted(
        f"/{child.name}/"
        for child in root.iterdir()
        if child.is_dir() and (child / "__init__.py").is_file()
    )
    return DEFAULT_INCLUDE + tuple(packages)


@dataclasses.dataclass(frozen=True)
class GateRules:
    """The include and exclude patterns, in the order given."""

    include: tuple[str, ...]
    exclude: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Config) -> GateRules:
        include = config.gate_include
        if include is None:
            include = default_include(config.root)
        return cls(include + config.gate_extend_include, config.gate_exclude)

    @functools.cached_property
    def _include_spec(self) -> pathspec.GitIgnoreSpec:
        return _compile(self.include, "include")

    @functools.cached_property
    def _exclude_spec(self) -> pathspec.GitIgnoreSpec:
        return _compile(self.exclude, "exclude")

    def selecting_pattern(self, path: str) -> str | None:
        """The include pattern that makes ``path`` run the pipeline, or None."""
        if self._exclude_spec.match_file(path):
            return None
        result = self._include_spec.check_file(path)
        if not result.include or result.index is None:
            return None
        return self.include[result.index]


def unmatched_patterns(patterns: tuple[str, ...], paths: list[str], kind: str) -> list[str]:
    """The patterns no path matches: they can never decide anything."""
    return [p for p in patterns if not any(_compile((p,), kind).match_file(f) for f in paths)]


def _compile(patterns: tuple[str, ...], kind: str) -> pathspec.GitIgnoreSpec:
    try:
        return pathspec.GitIgnoreSpec.from_lines(patterns)
    except (ValueError, TypeError) as e:
        raise UsageError(
            f"[tool.fastci.gate] {kind} has a pattern that is not gitignore syntax: {e}"
        ) from None


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The gate's answer: run or skip, the one line saying why, and what decided it."""

    run: bool
    reason: str
    path: str | None = None  # the changed path that made it run
    pattern: str | None = None  # the include pattern that path matched


def decide(changes: ChangeSet, rules: GateRules, project_root: Path) -> Verdict:
    """Run when any changed path is selected (or the change set is unknown); else skip."""
    if changes.everything:
        return Verdict(True, f"every path counts as changed: {changes.everything_reason}")
    since = f"since {changes.described} (merge base {str(changes.base)[:12]})"
    for path in changes.paths:
        pattern = rules.selecting_pattern(project_path(path, changes.repo_root, project_root))
        if pattern is not None:
            return Verdict(True, f"{path} changed and matches {pattern!r}, {since}", path, pattern)
    if not changes.paths:
        return Verdict(False, f"nothing changed {since}")
    listed = ", ".join(changes.paths[:LISTED_PATHS])
    if len(changes.paths) > LISTED_PATHS:
        listed += f" and {len(changes.paths) - LISTED_PATHS} more"
    count = len(changes.paths)
    return Verdict(
        False, f"{count} path{'s' if count != 1 else ''} changed {since}, none selected: {listed}"
    )


def explain(
    changes: ChangeSet, rules: GateRules, project_root: Path
) -> list[tuple[str, str | None]]:
    """Every changed path with the include pattern that selects it (None: not selected)."""
    return [
        (path, rules.selecting_pattern(project_path(path, changes.repo_root, project_root)))
        for path in changes.paths
    ]


def project_path(path: str, repo_root: Path | None, project_root: Path) -> str:
    """``path`` (from the repository root) relative to the project root, when inside it."""
    if repo_root is None:
        return path
    try:
        prefix = project_root.resolve().relative_to(repo_root).as_posix()
    except ValueError:
        return path
    if prefix in ("", "."):
        return path
    return path[len(prefix) + 1 :] if path.startswith(prefix + "/") else path
