"""The planner: units of tests into N duration-balanced shards, deterministically.

The cost of a shard is its startup, plus its units' durations, plus the import cost of each
file it touches (a file split over two shards is imported twice). Units are placed largest
file first (and within a file, largest unit first) on the shard where they end the lowest,
which keeps a file's units together unless splitting it balances better; then a refinement
pass moves or swaps units off the most loaded shard while that lowers it. The same units,
costs and shard count give the same plan, byte for byte, on every machine.
"""

from __future__ import annotations

import bisect
import dataclasses
import heapq
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

PLAN_FORMAT = 1
# Refinement stops after this many improving steps: bounds planning time on huge inputs.
MAX_REFINEMENT_STEPS = 20_000
# How many units around the ideal size are tried per shard pair in a refinement step.
CANDIDATES_PER_PAIR = 6
EPSILON = 1e-9


@dataclasses.dataclass(frozen=True)
class Unit:
    """Tests that run together on one worker: a file, a class, a test, or a marked group."""

    id: str
    files: tuple[str, ...]  # the files it imports; files[0] is the one it is filed under
    duration: float  # estimated seconds of its tests, without file import costs
    tests: tuple[str, ...] | None = None  # node ids to run; None: every test of its files


@dataclasses.dataclass(frozen=True)
class CostModel:
    shard_startup: float = 0.0
    file_costs: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def file_cost(self, file: str) -> float:
        return self.file_costs.get(file, 0.0)


@dataclasses.dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as in --shard K/N
    units: tuple[str, ...]  # in run order: longest first
    predicted: float


@dataclasses.dataclass(frozen=True)
class Plan:
    granularity: str
    shards: tuple[Shard, ...]
    units: Mapping[str, Unit]
    shard_startup: float
    makespan: float
    lower_bound: float

    def shard(self, index: int) -> Shard:
        return self.shards[index - 1]

    def to_json(self) -> dict[str, object]:
        return {
            "format": PLAN_FORMAT,
            "granularity": self.granularity,
            "shard_startup": self.shard_startup,
            "makespan": self.makespan,
            "lower_bound": self.lower_bound,
            "shards": [dataclasses.asdict(s) for s in self.shards],
            "units": {
                uid: {
                    "files": list(u.files),
                    "duration": u.duration,
                    "tests": None if u.tests is None else list(u.tests),
                }
                for uid, u in sorted(self.units.items())
            },
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, indent=1) + "\n"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        if data.get("format") != PLAN_FORMAT:
            raise ValueError(f"plan format is not {PLAN_FORMAT}")
        units = {
            uid: Unit(
                id=uid,
                files=tuple(u["files"]),
                duration=float(u["duration"]),
                tests=None if u["tests"] is None else tuple(u["tests"]),
            )
            for uid, u in data["units"].items()
        }
        shards = tuple(
            Shard(index=int(s["index"]), units=tuple(s["units"]), predicted=float(s["predicted"]))
            for s in data["shards"]
        )
        return cls(
            granularity=str(data["granularity"]),
            shards=shards,
            units=units,
            shard_startup=float(data["shard_startup"]),
            makespan=float(data["makespan"]),
            lower_bound=float(data["lower_bound"]),
        )


class _Loads:
    """Mutable shard state during planning: loads, members and per-file use counts."""

    def __init__(self, shard_count: int, model: CostModel) -> None:
        self.model = model
        self.load = [model.shard_startup] * shard_count
        self.members: list[list[tuple[float, str]]] = [[] for _ in range(shard_count)]
        self.file_uses: list[dict[str, int]] = [defaultdict(int) for _ in range(shard_count)]

    def after(self, shard: int, remove: Unit | None = None, add: Unit | None = None) -> float:
        """The shard's load if ``remove`` left it and ``add`` joined it."""
        load = self.load[shard]
        uses = self.file_uses[shard]
        if remove is not None:
            load -= remove.duration
            for f in remove.files:
                if uses[f] == 1:
                    load -= self.model.file_cost(f)
        if add is not None:
            load += add.duration
            for f in add.files:
                count = uses.get(f, 0) - (1 if remove is not None and f in remove.files else 0)
                if count == 0:
                    load += self.model.file_cost(f)
        return load

    def place(self, shard: int, unit: Unit) -> None:
        self.load[shard] = self.after(shard, add=unit)
        bisect.insort(self.members[shard], (unit.duration, unit.id))
        for f in unit.files:
            self.file_uses[shard][f] += 1

    def take(self, shard: int, unit: Unit) -> None:
        self.load[shard] = self.after(shard, remove=unit)
        members = self.members[shard]
        del members[bisect.bisect_left(members, (unit.duration, unit.id))]
        uses = self.file_uses[shard]
        for f in unit.files:
            uses[f] -= 1
            if uses[f] == 0:
                del uses[f]


def plan_shards(
    units: Sequence[Unit], shard_count: int, model: CostModel, granularity: str = "file"
) -> Plan:
    """Partition ``units`` into ``shard_count`` shards, minimising the longest shard."""
    if shard_count < 1:
        raise ValueError("shard_count must be >= 1")
    by_id = {u.id: u for u in units}
    if len(by_id) != len(units):
        raise ValueError("unit ids must be unique")
    state = _Loads(shard_count, model)
    _place_greedily(state, units)
    _refine(state, by_id)
    return _finish(state, by_id, model, granularity)


def _unit_cost(unit: Unit, model: CostModel) -> float:
    return unit.duration + sum(model.file_cost(f) for f in unit.files)


def _place_greedily(state: _Loads, units: Sequence[Unit]) -> None:
    model = state.model
    file_totals: dict[str, float] = defaultdict(float)
    for unit in units:
        file_totals[unit.files[0] if unit.files else ""] += unit.duration
    for file in file_totals:
        file_totals[file] += model.file_cost(file)

    def order(unit: Unit) -> tuple[float, str, float, str]:
        home = unit.files[0] if unit.files else ""
        return (-file_totals[home], home, -_unit_cost(unit, model), unit.id)

    counts = [0] * len(state.load)
    heap = [(state.load[s], 0, s) for s in range(len(state.load))]
    heapq.heapify(heap)
    shards_with_file: dict[str, list[int]] = defaultdict(list)
    for unit in sorted(units, key=order):
        while (heap[0][0], heap[0][1]) != (state.load[heap[0][2]], counts[heap[0][2]]):
            heapq.heappop(heap)  # a stale entry: that shard's load has changed since
        candidates = {heap[0][2]}
        for f in unit.files:
            candidates.update(shards_with_file.get(f, ()))
        best = min(candidates, key=lambda s: (state.after(s, add=unit), counts[s], s))
        for f in unit.files:
            if f not in state.file_uses[best]:
                shards_with_file[f].append(best)
        state.place(best, unit)
        counts[best] += 1
        heapq.heappush(heap, (state.load[best], counts[best], best))


def _refine(state: _Loads, by_id: Mapping[str, Unit]) -> None:
    """Move or swap units off the most loaded shard while that lowers it."""
    shard_count = len(state.load)
    for _ in range(MAX_REFINEMENT_STEPS):
        top = max(range(shard_count), key=lambda s: (state.load[s], -s))
        best: tuple[float, int, str, str] | None = None  # (new pair max, shard, unit, swap)
        for other in sorted(range(shard_count), key=lambda s: (state.load[s], s)):
            if other == top or state.load[other] >= state.load[top] - EPSILON:
                continue
            for uid, vid in _pair_candidates(state, top, other):
                unit = by_id[uid]
                swap = by_id[vid] if vid else None
                if swap is None and len(state.members[top]) <= 1:
                    continue  # never empty a shard
                pair_max = max(
                    state.after(top, remove=unit, add=swap),
                    state.after(other, remove=swap, add=unit),
                )
                key = (pair_max, other, uid, vid)
                if pair_max < state.load[top] - EPSILON and (best is None or key < best):
                    best = key
        if best is None:
            return
        _, other, uid, vid = best
        state.take(top, by_id[uid])
        if vid:
            state.take(other, by_id[vid])
            state.place(top, by_id[vid])
        state.place(other, by_id[uid])


def _pair_candidates(state: _Loads, top: int, other: int) -> list[tuple[str, str]]:
    """Moves (u, "") and swaps (u, v) likely to even out the two shards' loads."""
    gap = state.load[top] - state.load[other]
    ours = state.members[top]
    theirs = state.members[other]
    result: list[tuple[str, str]] = []
    # Moves: a unit of about half the gap.
    i = bisect.bisect_left(ours, (gap / 2, ""))
    for duration, uid in ours[max(0, i - CANDIDATES_PER_PAIR) : i + CANDIDATES_PER_PAIR]:
        if duration < gap:
            result.append((uid, ""))
    # Swaps: for the largest units of ours, a unit of theirs smaller by about half the gap.
    for duration, uid in ours[-CANDIDATES_PER_PAIR:]:
        j = bisect.bisect_left(theirs, (duration - gap / 2, ""))
        for other_duration, vid in theirs[max(0, j - 2) : j + 2]:
            if 0 < duration - other_duration < gap:
                result.append((uid, vid))
    return result


def _finish(state: _Loads, by_id: Mapping[str, Unit], model: CostModel, granularity: str) -> Plan:
    shards = []
    for index, members in enumerate(state.members):
        ordered = sorted(
            (by_id[uid] for _, uid in members), key=lambda u: (-_unit_cost(u, model), u.id)
        )
        files = sorted({f for u in ordered for f in u.files})
        predicted = (
            model.shard_startup
            + sum(u.duration for u in ordered)
            + sum(model.file_cost(f) for f in files)
        )
        shards.append(
            Shard(index=index + 1, units=tuple(u.id for u in ordered), predicted=predicted)
        )
    makespan = max(s.predicted for s in shards)
    return Plan(
        granularity=granularity,
        shards=tuple(shards),
        units=dict(by_id),
        shard_startup=model.shard_startup,
        makespan=makespan,
        lower_bound=lower_bound(list(by_id.values()), len(shards), model),
    )


def lower_bound(units: Sequence[Unit], shard_count: int, model: CostModel) -> float:
    """No plan can beat this: max(largest unit, total work / N), each plus a shard's startup."""
    if not units:
        return model.shard_startup
    files = {f for u in units for f in u.files}
    total = sum(u.duration for u in units) + sum(model.file_cost(f) for f in files)
    largest = max(_unit_cost(u, model) for u in units)
    return model.shard_startup + max(largest, total / shard_count)
