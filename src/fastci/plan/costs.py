"""The cost model: what a shard's processes pay, learned from the store, behind every prediction.

A shard's wall time is its processes' fixed cost (interpreter, pytest, conftest and plugins:
``shard_startup``), plus each shared package its files need, once (a heavy library is paid
by whichever file imports it first in a process; its workers pay it side by side), plus its
files' own imports and its tests' durations shared by its workers: divided by the effective
parallelism, min(workers, cores), never under its largest unit. Durations are stored as one
worker alone would take them (fastci.plan.folding scales runs of more workers than cores), so
the same store predicts any ``-j``. ``fastci plan``, ``fastci run``'s status line and
``fastci merge``'s planned-vs-actual all read the prediction this model gives the plan.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from fastci.plan.estimates import median

if TYPE_CHECKING:
    from fastci.plan.planner import Plan, Unit
    from fastci.plan.store import TimingsStore

# A shared package among a unit's costs is keyed "import NAME": no test file path starts so.
PACKAGE_KEY = "import "
_IMPORT_LINE = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class CostModel:
    shard_startup: float = 0.0  # one process's fixed cost, paid by every worker side by side
    file_costs: Mapping[str, float] = dataclasses.field(default_factory=dict)  # own imports
    # Own seconds of each shared top-level package, and the packages each file needs.
    package_costs: Mapping[str, float] = dataclasses.field(default_factory=dict)
    file_packages: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    parallelism: float = 1.0  # of the run predicted: min(workers, cores)
    rough: bool = False  # nothing measured: durations guessed from the files' contents

    def file_cost(self, key: str) -> float:
        """A file's own import, or a shared package's: what placing shards weighs.

        Placing ignores the parallelism (it follows the machine's cores, and every CI runner
        must compute the same shards); only the predicted wall times use it.
        """
        if key.startswith(PACKAGE_KEY):
            return self.package_costs.get(key[len(PACKAGE_KEY) :], 0.0)
        return self.file_costs.get(key, 0.0)

    def needs(self, unit: Unit) -> tuple[str, ...]:
        """What running the unit costs beyond its tests: its files, then the packages they need."""
        if not self.file_packages:
            return unit.files
        packages = sorted({p for f in unit.files for p in self.file_packages.get(f, ())})
        return unit.files + tuple(PACKAGE_KEY + p for p in packages)

    def wall(self, needs: Sequence[str], tests: float, largest: float, units: int) -> float:
        """Seconds a shard takes: fixed costs and shared packages once, the rest shared by
        its workers (no more of them than units), never under its largest unit."""
        packages = sum(self.package_costs.get(k[len(PACKAGE_KEY) :], 0.0) for k in needs
                       if k.startswith(PACKAGE_KEY))  # fmt: skip
        files = sum(self.file_costs.get(k, 0.0) for k in needs if not k.startswith(PACKAGE_KEY))
        workers = max(1.0, min(self.parallelism, float(units)))
        return self.shard_startup + packages + max(largest, (files + tests) / workers)


def effective_parallelism(jobs: int, cpus: int | None = None) -> float:
    """How many workers make progress at once: no more than the machine has cores."""
    return float(max(1, min(jobs, cpus or os.cpu_count() or 1)))


def predicted_wall(plan: Plan, units: Sequence[Unit]) -> float | None:
    """The plan's wall time for a run of these units: its shard's, when they are one shard's
    (a queue runner's units are not: None)."""
    ids = {u.id for u in units}
    for shard in plan.shards:
        if set(shard.units) == ids:
            return shard.predicted
    return None


class Imports(NamedTuple):
    """What the store learned of shared imports: each package's own seconds (scaled as test
    durations are), and which files were seen to import which packages first."""

    packages: dict[str, float]
    files: dict[str, frozenset[str]]


class _ImportSample(NamedTuple):
    file: str
    package: str
    seconds: float


def read_imports(store: TimingsStore) -> Imports:
    """The store's shared imports: per package, the median of its newest samples."""
    from fastci.plan.folding import ALONE

    rows = store.read(
        _ImportSample._make,
        f"SELECT i.file, i.package, i.seconds * {ALONE} FROM import_samples i"  # noqa: S608 -- constants
        " LEFT JOIN reports r ON r.id = i.report_id ORDER BY i.package, i.started DESC",
    )
    seconds: dict[str, list[float]] = defaultdict(list)
    files: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        seconds[row.package].append(row.seconds)
        files[row.file].add(row.package)
    packages = {p: median(s[: store.window]) for p, s in seconds.items()}
    return Imports(packages, {f: frozenset(p) for f, p in files.items()})


def needed_packages(
    root: Path, paths: Sequence[str], imports: Imports
) -> dict[str, tuple[str, ...]]:
    """Per file, the known shared packages it imports: seen first-imported by it in a run, or
    named by one of its import lines (read as text: a plan imports nothing)."""
    if not imports.packages:
        return {}
    result = {}
    for path in paths:
        needed = set(imports.files.get(path, ()))
        try:
            text = (root / path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        needed.update(n for n in _IMPORT_LINE.findall(text) if n in imports.packages)
        if needed:
            result[path] = tuple(sorted(needed))
    return result
