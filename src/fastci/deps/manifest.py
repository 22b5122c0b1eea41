"""A wheelhouse's manifest: the key it was built for and every wheel it holds, with hashes."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1


@dataclasses.dataclass(frozen=True)
class Wheel:
    """One wheel of the wheelhouse as the manifest records it."""

    name: str
    version: str
    file: str
    sha256: str
    size: int

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"


@dataclasses.dataclass(frozen=True)
class Manifest:
    """What a complete wheelhouse holds and which key inputs it was built from."""

    key: str
    inputs: dict[str, Any]
    packages: tuple[Wheel, ...]  # installed into the environment
    build_packages: tuple[Wheel, ...]  # the project's build requirements, for --project
    local: tuple[str, ...]  # editables and local directories, never in the wheelhouse
    backend: str

    @property
    def wheels(self) -> tuple[Wheel, ...]:
        return self.packages + self.build_packages

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "key": self.key,
            "backend": self.backend,
            "inputs": self.inputs,
            "packages": [dataclasses.asdict(w) for w in self.packages],
            "build_packages": [dataclasses.asdict(w) for w in self.build_packages],
            "local": list(self.local),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        if data.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"manifest format {data.get('format')!r}, expected {MANIFEST_FORMAT}")
        return cls(
            key=str(data["key"]),
            inputs=dict(data["inputs"]),
            packages=tuple(Wheel(**w) for w in data["packages"]),
            build_packages=tuple(Wheel(**w) for w in data["build_packages"]),
            local=tuple(data.get("local", ())),
            backend=str(data.get("backend", "")),
        )


def read_manifest(directory: Path) -> Manifest | None:
    """The manifest of a complete wheelhouse; None when absent or unreadable (incomplete)."""
    try:
        return Manifest.from_json(json.loads((directory / MANIFEST).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """Write and flush the manifest: the last step of a build, after every wheel."""
    with (directory / MANIFEST).open("w", encoding="utf-8") as f:
        json.dump(manifest.to_json(), f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
