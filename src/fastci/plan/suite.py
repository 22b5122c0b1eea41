"""Planning a real suite: its inventory and the store's knowledge become units, then a plan."""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from fastci.config import Config
from fastci.plan.costs import (
    CostModel,
    Imports,
    effective_parallelism,
    needed_packages,
    read_imports,
)
from fastci.plan.estimates import Estimator, FileEstimate
from fastci.plan.inventory import Inventory, TestItem, collect_items, discover_files
from fastci.plan.planner import Plan, Unit, plan_shards
from fastci.plan.sizing import counted_tests
from fastci.plan.store import TimingsStore

# With no timings at all, a test file's duration is guessed from its tests (plan.sizing).
DEFAULT_FILE_COST = 0.02
DEFAULT_SHARD_STARTUP = 0.5
ROUGH_TEST_SECONDS = 0.02  # a test of a suite never timed: pytest's own cost and a bit more
ROUGH_BYTE_SECONDS = 1e-4  # and longer test code runs longer: 0.1 s a kilobyte
MIN_PIECE_SECONDS = 1.0  # a piece of a cut file shorter than this is not worth its import
MIN_PIECES = 2  # a file is cut only into two pieces or more
MIN_PART_TESTS = 4  # a file never run is cut into parts of at least this many tests


@dataclasses.dataclass(frozen=True)
class Knowledge:
    """What the timings store knows, read once: current tests, files and the startup cost."""

    tests: Mapping[str, tuple[str, float, str | None]]
    files: Mapping[str, FileEstimate]
    startup: float | None
    imports: Imports = dataclasses.field(default_factory=lambda: Imports({}, {}))

    @classmethod
    def from_store(cls, store: TimingsStore) -> Knowledge:
        tests = store.current_tests()
        files = store.file_estimates(tests)
        return cls(tests, files, store.startup_estimate(), read_imports(store))

    @classmethod
    def empty(cls) -> Knowledge:
        return cls(tests={}, files={}, startup=None)


def cost_model(
    inventory: Inventory,
    knowledge: Knowledge,
    shard_startup: float | None = None,
    jobs: int = 1,
) -> CostModel:
    """The model for this suite (fastci.plan.costs), predicting shards of ``jobs`` workers."""
    known = [e.collect for e in knowledge.files.values() if e.collect > 0]
    typical = statistics.median(known) if known else DEFAULT_FILE_COST
    costs = {}
    for f in inventory.files:
        estimate = knowledge.files.get(f.path)
        costs[f.path] = (
            estimate.collect if estimate is not None and estimate.collect > 0 else typical
        )
    if shard_startup is None:
        shard_startup = (
            knowledge.startup if knowledge.startup is not None else DEFAULT_SHARD_STARTUP
        )
    paths = [f.path for f in inventory.files]
    return CostModel(
        shard_startup=shard_startup,
        file_costs=costs,
        package_costs=knowledge.imports.packages,
        file_packages=needed_packages(Path(inventory.rootdir), paths, knowledge.imports),
        parallelism=effective_parallelism(jobs),
        rough=not knowledge.tests,
    )


def build_units(
    inventory: Inventory,
    knowledge: Knowledge,
    granularity: str,
    parallelism: int = 1,
    group_markers: Sequence[str] = (),
) -> list[Unit]:
    """Units at the given granularity; tests sharing a group always end up in one unit.

    With only files discovered, a unit is a whole file; with collected items, every unit
    lists its tests, so a selection (node ids, -k) is kept exactly.
    """
    if inventory.items is None:
        if granularity != "file":
            raise ValueError(f"{granularity} granularity needs collected items")
        units = _file_units(inventory, knowledge)
        cutter = Cutter(knowledge, parallelism, Path(inventory.rootdir), group_markers)
        return cutter.cut(units)
    estimator = Estimator(dict(knowledge.tests))
    key = _UNIT_KEYS[granularity]
    members: dict[str, list[TestItem]] = defaultdict(list)
    for item in inventory.items:
        members[f"group:{item.group}" if item.group else key(item)].append(item)
    units = []
    for uid, items in members.items():
        units.append(
            Unit(
                id=uid,
                files=_files_in_order(i.file for i in items),
                duration=math.fsum(estimator.test(i.id, i.file) for i in items),
                tests=tuple(i.id for i in items),
            )
        )
    with_items = {i.file for i in inventory.items}
    # A file that collected no test skipped itself at import: a unit of its own reports it.
    units.extend(
        Unit(id=file.path, files=(file.path,), duration=0.0)
        for file in inventory.files
        if file.path not in with_items
    )
    return units


_UNIT_KEYS: dict[str, Callable[[TestItem], str]] = {
    "file": lambda item: item.file,
    "class": lambda item: item.cls or item.file,
    "test": lambda item: item.id,
}


def _file_units(inventory: Inventory, knowledge: Knowledge) -> list[Unit]:
    """One unit per file, except files whose tests share a group (known from past runs)."""
    known_bytes = sum(f.size for f in inventory.files if _known(knowledge, f.path))
    known_seconds = math.fsum(
        knowledge.files[f.path].tests for f in inventory.files if _known(knowledge, f.path)
    )
    per_byte = known_seconds / known_bytes if known_bytes else 0.0
    rootdir = Path(inventory.rootdir)
    duration = {
        f.path: knowledge.files[f.path].tests
        if _known(knowledge, f.path)
        else f.size * per_byte
        if known_seconds
        else counted_tests(rootdir / f.path) * ROUGH_TEST_SECONDS + f.size * ROUGH_BYTE_SECONDS
        for f in inventory.files
    }
    # Files whose tests share a group merge into one unit (union-find over file paths).
    parent = {path: path for path in duration}

    def root(path: str) -> str:
        while parent[path] != path:
            parent[path] = parent[parent[path]]
            path = parent[path]
        return path

    first_file_of_group: dict[str, str] = {}
    group_of_root: dict[str, str] = {}
    for _, (file, _, group) in sorted(knowledge.tests.items()):
        if group is None or file not in parent:
            continue
        other = first_file_of_group.setdefault(group, file)
        a, b = sorted((root(file), root(other)))
        parent[b] = a
        group_of_root.setdefault(a, group)
    merged: dict[str, list[str]] = defaultdict(list)
    for path in sorted(duration):
        merged[root(path)].append(path)
    units = []
    for head, files in merged.items():
        uid = head if len(files) == 1 else f"group:{group_of_root.get(head, head)}"
        units.append(
            Unit(id=uid, files=tuple(files), duration=math.fsum(duration[f] for f in files))
        )
    return units


class Cutter:
    """Cuts a file that alone would hold up the run into pieces.

    A file estimated at more than half of one worker's share (total / parallelism) would
    leave a tail however the rest is placed. Pieces are about a quarter share each (at least
    MIN_PIECE_SECONDS: a piece must be worth importing the file again). A file whose tests
    the store knows is cut by them; one more piece runs every test of the file the store does
    not know yet (``exclude``), so a new test is never lost. A file never run is cut into
    parts by a hash of each test's node id (``Unit.part``) of a quarter share each, with at
    least MIN_PART_TESTS tests of its syntax tree each, whatever their guessed seconds: so a
    first run spreads it over the workers as ``pytest -n`` would.
    A file in a group (known from the store, or naming a group marker) stays whole.
    """

    def __init__(
        self,
        knowledge: Knowledge,
        parallelism: int,
        rootdir: Path,
        group_markers: Sequence[str] = (),
    ) -> None:
        self.parallelism = parallelism
        self.rootdir = rootdir
        self.group_markers = group_markers
        self.known: dict[str, list[tuple[str, float]]] = defaultdict(list)
        self.stored: set[str] = set()  # files with tests in the store, grouped or not
        for test_id, (file, estimate, group) in sorted(knowledge.tests.items()):
            self.stored.add(file)
            if group is None:
                self.known[file].append((test_id, estimate))

    def cut(self, units: list[Unit]) -> list[Unit]:
        if self.parallelism <= 1 or not units:
            return units
        share = math.fsum(u.duration for u in units) / self.parallelism
        target = max(share / 4, MIN_PIECE_SECONDS)
        result = []
        for unit in units:
            if unit.duration <= share / 2 or len(unit.files) != 1:
                result.append(unit)
            elif len(self.known.get(unit.id, ())) >= MIN_PIECES and unit.duration > 2 * target:
                result.extend(_pieces(unit, self.known[unit.id], target=target))
            elif unit.id not in self.stored:  # a rough guess: cut as finely as pytest -n would
                result.extend(self._parts(unit, share / 4))
            else:
                result.append(unit)
        return result

    def _parts(self, unit: Unit, target: float) -> list[Unit]:
        """A never-run file in parts by node id hash, or whole if it may hold a group."""
        try:
            source = (self.rootdir / unit.id).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return [unit]
        if any(marker in source for marker in self.group_markers):
            return [unit]
        tests = counted_tests(self.rootdir / unit.id)
        count = min(math.ceil(unit.duration / target), tests // MIN_PART_TESTS)
        if count < MIN_PIECES:
            return [unit]
        return [
            Unit(
                id=f"{unit.id}[part {k + 1}/{count}]",
                files=unit.files,
                duration=unit.duration / count,
                part=(k, count),
            )
            for k in range(count)
        ]


def _pieces(unit: Unit, known: list[tuple[str, float]], target: float) -> list[Unit]:
    """Consecutive runs of a file's known tests of about ``target`` seconds, plus the rest."""
    chunks: list[list[tuple[str, float]]] = [[]]
    filled = 0.0  # seconds in the last chunk
    for test in known:
        if chunks[-1] and filled + test[1] > target:
            chunks.append([])
            filled = 0.0
        chunks[-1].append(test)
        filled += test[1]
    pieces = [
        Unit(
            id=f"{unit.id}[{n}/{len(chunks)}]",
            files=unit.files,
            duration=math.fsum(s for _, s in chunk),
            tests=tuple(t for t, _ in chunk),
        )
        for n, chunk in enumerate(chunks, 1)
    ]
    rest = Unit(id=unit.id, files=unit.files, duration=0.0, exclude=tuple(t for t, _ in known))
    return [*pieces, rest]


def _known(knowledge: Knowledge, path: str) -> bool:
    estimate = knowledge.files.get(path)
    return estimate is not None and estimate.count > 0


def _files_in_order(files: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(files))


# Arguments whose meaning depends on the whole collection (pytest's cache of failures, node
# ids): a unit must be told exactly which tests it runs.
WHOLE_COLLECTION_FLAGS = frozenset({
    "--lf", "--last-failed", "--ff", "--failed-first", "--nf", "--new-first",
    "--sw", "--stepwise", "--sw-skip", "--stepwise-skip",
})  # fmt: skip


# pytest options whose (separate) value may hold "::" without naming tests to run.
OPTIONS_WITH_NODE_VALUES = frozenset({"--deselect", "-k", "-m", "--ignore", "--ignore-glob"})


def names_tests(args: Sequence[str]) -> bool:
    """True when a positional argument is a node id (``file::test``): a test selection."""
    previous = ""
    for arg in args:
        if "::" in arg and not arg.startswith("-") and previous not in OPTIONS_WITH_NODE_VALUES:
            return True
        previous = arg
    return False


def discovers_files(config: Config, pytest_args: Sequence[str]) -> bool:
    """Whether the run needs only the suite's files (file granularity, no test named)."""
    args = [*config.pytest_args, *pytest_args]
    needs_items = names_tests(args) or any(a in WHOLE_COLLECTION_FLAGS for a in args)
    return config.granularity == "file" and not needs_items


def inventory_for(config: Config, pytest_args: Sequence[str], collect: bool = False) -> Inventory:
    """Files only at file granularity (nothing imported), a full collection otherwise."""
    args = [*config.pytest_args, *pytest_args]
    if collect or not discovers_files(config, pytest_args):
        return collect_items(config.workdir, args, config.group_markers)
    return discover_files(config.workdir, args, config.group_markers)


def plan_suite(config: Config, inventory: Inventory, shard_count: int | None = None) -> Plan:
    """The plan for this suite, with durations from the store named by ``config``."""
    if config.store_path.exists():
        with TimingsStore(config.store_path, window=config.estimate_window) as store:
            knowledge = Knowledge.from_store(store)
    else:  # nothing known yet; planning reads, it creates no store
        knowledge = Knowledge.empty()
    shard_count = shard_count or config.shards
    # Across shards the plan must not depend on the machine, so only the shard count counts;
    # a local run balances over its own workers.
    parallelism = shard_count if shard_count > 1 else config.jobs
    if not config.split_files:
        parallelism = 1
    units = build_units(inventory, knowledge, config.granularity, parallelism, config.group_markers)
    model = cost_model(inventory, knowledge, config.shard_startup, config.jobs)
    return plan_shards(units, shard_count, model, config.granularity)
