"""What one recording holds: each test's files, outcome and markers, at one commit."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

BUNDLE_FILE = "deps.json"


@dataclasses.dataclass
class TestDeps:
    """One test's recorded dependencies (keys of project-relative paths, see
    fastci.affected.units) and how it ended."""

    __test__ = False

    outcome: str
    files: list[str]
    markers: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class DepsData:
    """A recording at ``commit``: tests, the tests of each test file, file hashes, env."""

    commit: str
    recorded: float
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    hashes: dict[str, str] = dataclasses.field(default_factory=dict)  # "" : file was absent
    tests: dict[str, TestDeps] = dataclasses.field(default_factory=dict)
    modules: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    # Python file -> its units' digests (fastci.affected.units.fingerprint)
    units: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)

    def fold(self, other: DepsData) -> None:
        """Add another recording of the same commit (another shard's)."""
        self.recorded = max(self.recorded, other.recorded)
        self.env.update(other.env)
        self.hashes.update(other.hashes)
        self.units.update(other.units)
        self.tests.update(other.tests)
        for module, items in other.modules.items():
            self.modules[module] = sorted({*self.modules.get(module, ()), *items})

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DepsData:
        tests = {t: TestDeps(**d) for t, d in data.get("tests", {}).items()}
        return cls(
            str(data["commit"]),
            float(data["recorded"]),
            dict(data.get("env", {})),
            dict(data.get("hashes", {})),
            tests,
            {m: list(i) for m, i in data.get("modules", {}).items()},
            {p: dict(u) for p, u in data.get("units", {}).items()},
        )


def write_bundle_file(bundle: Path, data: DepsData) -> None:
    from fastci.files import write_atomically

    write_atomically(bundle / BUNDLE_FILE, json.dumps(data.to_json()))


def read_bundle_files(bundles: Iterable[Path]) -> list[DepsData]:
    """The recordings in these bundle directories (those that hold one), by commit."""
    found: dict[str, DepsData] = {}
    for bundle in bundles:
        path = bundle / BUNDLE_FILE
        if not path.is_file():
            continue
        try:
            data = DepsData.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            # The recording is a cache: a damaged one costs its data, never the verdict.
            print(f"fastci: warning: {path} left out: not a dependency recording ({e})",
                  file=sys.stderr)  # fmt: skip
            continue
        if data.commit in found:
            found[data.commit].fold(data)
        else:
            found[data.commit] = data
    return list(found.values())
