"""What decides the installed set: requirement files, pyproject.toml tables and lock files."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from fastci.config import Config, read_pyproject
from fastci.deps.hashes import lock_hashes, merged, requirement_hashes
from fastci.deps.requirements import (
    RequirementFile,
    normalise_requirement,
    read_requirement_files,
    relative_name,
)
from fastci.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

LOCK_PATTERNS = ("uv.lock", "pylock.toml", "pylock.*.toml")
# Requirement-file options that decide where and in what form pip fetches a package: the
# resolver reads them from the files, the wheel download has to be given them again.
FETCH_OPTIONS = (
    "--index-url",
    "--extra-index-url",
    "--trusted-host",
    "--find-links",
    "--no-index",
    "--no-binary",
    "--only-binary",
    "--prefer-binary",
    "--pre",
)
ALL = "*"
LEGACY_BUILD_REQUIREMENTS = ("setuptools>=40.8.0",)


@dataclasses.dataclass(frozen=True)
class KeyInput:
    """One input of the key: a stable name and its normalised lines (order-free)."""

    name: str
    lines: tuple[str, ...]

    @property
    def digest(self) -> str:
        return hashlib.sha256("\n".join(self.lines).encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class Sources:
    """Everything the resolver needs, and the key inputs it was read from."""

    root: Path
    requirement_files: tuple[Path, ...]  # the top-level files; includes are read by the resolver
    project_requirements: tuple[str, ...]  # pyproject dependencies, chosen extras and groups
    build_requirements: tuple[str, ...]  # [build-system] requires, for installing the project
    project_name: str | None
    installable: bool  # has a setup.py, [project] or [build-system]: install --project builds it
    lock_files: tuple[Path, ...]
    inputs: tuple[KeyInput, ...]
    fetch_options: tuple[str, ...] = ()  # index and binary options from requirement files
    # The --hash values the requirement files give an exact pin: {("six", "1.17.0"): (…)}.
    hashes: Mapping[tuple[str, str], tuple[str, ...]] = dataclasses.field(default_factory=dict)


def read_sources(config: Config) -> Sources:
    """Read every dependency input of the project at ``config.root``; bad input is a UsageError."""
    root = config.root
    top_level = sorted(
        {path.resolve() for pattern in config.deps_requirements for path in root.glob(pattern)}
    )
    files = read_requirement_files([p for p in top_level if p.is_file()], root)
    inputs = [KeyInput(f"requirements:{f.name}", f.lines) for f in files]
    document = read_pyproject(root)
    project = _table(document, "project")
    project_name = project.get("name") if isinstance(project.get("name"), str) else None
    chosen = _project_inputs(document, config, project_name)
    inputs.extend(chosen)
    installable = (root / "setup.py").is_file() or bool(project) or "build-system" in document
    build = _build_requirements(document, installable)
    if build:
        inputs.append(KeyInput("pyproject:build-system.requires", tuple(sorted(set(build)))))
    locks = sorted(
        {path for pattern in LOCK_PATTERNS for path in root.glob(pattern) if path.is_file()}
    )
    inputs.extend(KeyInput(f"lock:{relative_name(p, root)}", lock_lines(p)) for p in locks)
    requirements = [
        line
        for item in chosen
        for line in item.lines
        if not line.startswith("include-group ") and not _is_self_reference(line, project_name)
    ]
    return Sources(
        root=root,
        requirement_files=tuple(p for p in top_level if p.is_file()),
        project_requirements=tuple(sorted(set(requirements))),
        build_requirements=tuple(build),
        project_name=project_name,
        installable=installable,
        lock_files=tuple(locks),
        inputs=tuple(inputs),
        fetch_options=tuple(_fetch_options(files)),
        hashes=merged(requirement_hashes(files), *map(lock_hashes, locks)),
    )


def _fetch_options(files: Iterable[RequirementFile]) -> list[str]:
    options: list[str] = []
    for file in files:
        for line in file.lines:
            option, _, value = line.partition(" ")
            if option not in FETCH_OPTIONS:
                continue
            if option == "--find-links" and (file.path.parent / value).exists():
                value = str((file.path.parent / value).resolve())  # as pip reads it
            options.append(f"{option} {value}".rstrip())
    return list(dict.fromkeys(options))


def _table(document: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise UsageError(f"pyproject.toml: [{key}] must be a table")
    return value


def _requirement_lines(items: object, where: str) -> tuple[str, ...]:
    if not isinstance(items, list):
        raise UsageError(f"pyproject.toml: {where} must be a list of requirement strings")
    lines = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, dict) and set(item) == {"include-group"}:
            lines.append(f"include-group {canonicalize_name(str(item['include-group']))}")
            continue
        if not isinstance(item, str):
            raise UsageError(f"pyproject.toml: {where} item {number} is not a string: {item!r}")
        try:
            lines.append(normalise_requirement(item))
        except InvalidRequirement as e:
            reason = str(e).splitlines()[0]
            raise UsageError(
                f"pyproject.toml: {where} item {number} is not a valid requirement "
                f"{item!r} ({reason})"
            ) from None
    return tuple(sorted(set(lines)))


def _chosen(names: Iterable[str], wanted: Sequence[str], kind: str, setting: str) -> list[str]:
    available = {canonicalize_name(n): n for n in names}
    if ALL in wanted:
        return sorted(available)
    chosen = []
    for name in wanted:
        key = canonicalize_name(name)
        if key not in available:
            known = ", ".join(sorted(available)) or "none"
            raise UsageError(
                f"pyproject.toml has no {kind} {name!r} (set in {setting}); known: {known}"
            )
        chosen.append(key)
    return sorted(set(chosen))


def _project_inputs(
    document: Mapping[str, Any], config: Config, project_name: str | None
) -> list[KeyInput]:
    project = _table(document, "project")
    inputs = []
    if "dependencies" in project:
        lines = _requirement_lines(project["dependencies"], "[project] dependencies")
        inputs.append(KeyInput("pyproject:dependencies", lines))
    optional = project.get("optional-dependencies", {})
    if not isinstance(optional, dict):
        raise UsageError("pyproject.toml: [project.optional-dependencies] must be a table")
    extras: dict[str, object] = {canonicalize_name(k): v for k, v in optional.items()}

    def self_extras(lines: tuple[str, ...]) -> list[str]:  # all = ["app[dev,docs]"]
        named = [
            e
            for line in lines
            if _is_self_reference(line, project_name)
            for e in _self_extras(line)
        ]
        return [e for e in named if e in extras]

    chosen = _chosen(extras, config.deps_extras, "optional-dependencies extra", "deps.extras")
    inputs += _closure(extras, chosen, "project.optional-dependencies", self_extras)
    groups: dict[str, object] = {
        canonicalize_name(k): v for k, v in _table(document, "dependency-groups").items()
    }

    def included_groups(lines: tuple[str, ...]) -> list[str]:
        named = [line.split(" ", 1)[1] for line in lines if line.startswith("include-group ")]
        for name in named:
            if name not in groups:
                raise UsageError(
                    f"pyproject.toml: [dependency-groups] includes unknown group {name!r}"
                )
        return named

    chosen = _chosen(groups, config.deps_groups, "dependency group", "deps.groups")
    inputs += _closure(groups, chosen, "dependency-groups", included_groups)
    return sorted(inputs, key=lambda i: i.name)


def _closure(
    table: dict[str, object],
    chosen: list[str],
    section: str,
    follow: Callable[[tuple[str, ...]], list[str]],
) -> list[KeyInput]:
    """An input per chosen entry of ``table``, and per entry those name through ``follow``."""
    inputs = []
    pending = list(chosen)
    done: set[str] = set()
    while pending:
        name = pending.pop()
        if name in done:
            continue
        done.add(name)
        lines = _requirement_lines(table[name], f"[{section}] {name}")
        inputs.append(KeyInput(f"pyproject:{section.removeprefix('project.')}.{name}", lines))
        pending.extend(follow(lines))
    return inputs


def _is_self_reference(line: str, project_name: str | None) -> bool:
    requirement = _parsed(line)
    return (
        project_name is not None
        and requirement is not None
        and canonicalize_name(requirement.name) == canonicalize_name(project_name)
    )


def _self_extras(line: str) -> list[str]:
    requirement = _parsed(line)
    return [] if requirement is None else [canonicalize_name(e) for e in requirement.extras]


def _parsed(line: str) -> Requirement | None:
    """A normalised requirement line as packaging reads it; None for ``include-group x``."""
    try:
        return Requirement(line)
    except InvalidRequirement:
        return None


def _build_requirements(document: Mapping[str, Any], installable: bool) -> list[str]:
    build = _table(document, "build-system")
    if "requires" not in build:
        # What pip and uv build a project without [build-system] with (PEP 517's fallback).
        return list(LEGACY_BUILD_REQUIREMENTS) if installable else []
    return list(_requirement_lines(build["requires"], "[build-system] requires"))


def lock_lines(path: Path) -> tuple[str, ...]:
    """A lock file as order-free lines: one per locked package, one per other top-level key.

    Parsing the TOML first means comments and layout do not count; hashes and versions do.
    """
    try:
        with path.open("rb") as f:
            document = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"lock file {path} is not valid TOML ({e})") from None
    lines: list[str] = []
    for key, value in document.items():
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            lines.extend(  # name and version first: a diff line then says which package
                f"{key} {v.get('name', '')}=={v.get('version', '')} "
                f"{json.dumps(v, sort_keys=True, default=str)}"
                for v in value
            )
        else:
            lines.append(f"{key} {json.dumps(value, sort_keys=True, default=str)}")
    return tuple(sorted(lines))


def pylock_constraints(path: Path) -> list[str]:
    """``name==version ; marker`` for each package a pylock.toml pins to a version."""
    with path.open("rb") as f:
        document = tomllib.load(f)
    constraints = []
    for package in document.get("packages", []):
        if not isinstance(package, dict) or "version" not in package:
            continue
        line = f"{package['name']}=={package['version']}"
        if package.get("marker"):
            line += f" ; {package['marker']}"
        constraints.append(line)
    return constraints
