"""The hashes the repository itself gives its pins: requirement files' --hash, lock files."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, canonicalize_version

from fastci.deps.requirements import RequirementFile

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

# {("six", "1.17.0"): ("sha256:…", …)}: every file the repository accepts for that pin.
Hashes = Mapping[tuple[str, str], tuple[str, ...]]
HASH_OPTION = "--hash="


def pin_key(name: str, version: str) -> tuple[str, str]:
    """One spelling of a pin for lookups: ``Django``/``4.2.0``, ``django``/``4.2`` alike."""
    return canonicalize_name(name), canonicalize_version(version.strip())


def exact_version(requirement: Requirement) -> str | None:
    """The version of a ``name==v`` or ``name===v`` requirement; None for anything looser."""
    specs = list(requirement.specifier)
    if requirement.url is None and len(specs) == 1 and specs[0].operator in ("==", "==="):
        return specs[0].version
    return None


def requirement_hashes(files: Iterable[RequirementFile]) -> dict[tuple[str, str], tuple[str, ...]]:
    """The ``--hash`` values of each exact pin in the (normalised) requirement files."""
    hashes: dict[tuple[str, str], tuple[str, ...]] = {}
    for file in files:
        for line in file.lines:
            text, *options = line.split(f" {HASH_OPTION}")
            if not options or text.startswith("-"):
                continue
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue  # a direct archive or path: pip checks its hash itself
            version = exact_version(requirement)
            if version is not None:
                key = pin_key(requirement.name, version)
                hashes[key] = (*hashes.get(key, ()), *(o.split()[0] for o in options))
    return hashes


def lock_hashes(path: Path) -> dict[tuple[str, str], tuple[str, ...]]:
    """The hashes of every wheel and sdist a ``uv.lock`` or ``pylock*.toml`` records."""
    with path.open("rb") as f:
        document = tomllib.load(f)
    packages = document.get("package" if path.name == "uv.lock" else "packages", [])
    hashes: dict[tuple[str, str], tuple[str, ...]] = {}
    for package in packages if isinstance(packages, list) else ():
        if not isinstance(package, dict) or "version" not in package:
            continue
        files = [package.get("sdist"), package.get("archive"), *package.get("wheels", ())]
        found = [h for item in files if isinstance(item, dict) for h in _file_hashes(item)]
        if found:
            key = pin_key(str(package.get("name", "")), str(package["version"]))
            hashes[key] = (*hashes.get(key, ()), *found)
    return hashes


def _file_hashes(item: dict[str, Any]) -> list[str]:
    """uv.lock writes ``hash = "sha256:…"``, pylock.toml ``hashes = {sha256 = "…"}``."""
    if isinstance(item.get("hash"), str):
        return [item["hash"]]
    table = item.get("hashes")
    return [f"{a}:{v}" for a, v in table.items()] if isinstance(table, dict) else []


def merged(*sources: Hashes) -> dict[tuple[str, str], tuple[str, ...]]:
    """All the hashes each pin gets from any source, each once."""
    hashes: dict[tuple[str, str], tuple[str, ...]] = {}
    for source in sources:
        for key, values in source.items():
            hashes[key] = tuple(dict.fromkeys((*hashes.get(key, ()), *values)))
    return hashes


def sha256_listed(hashes: Hashes, name: str, version: str) -> frozenset[str] | None:
    """The sha256 digests the repository accepts for a pin; None when it gives none."""
    digests = frozenset(
        h.removeprefix("sha256:")
        for h in hashes.get(pin_key(name, version), ())
        if h.startswith("sha256:")
    )
    return digests or None
