"""The planner: units of tests into N duration-balanced shards, deterministically.

The cost of a shard is fastci.plan.costs's: its startup, plus its units' durations, plus the
import cost of each file it touches (a file split over two shards is imported twice) and of
each shared package its files need, once. Units are placed largest file first (and within a
file, largest unit first) on the shard where they end the lowest,
which keeps a file's units together unless splitting it balances better; then a refinement
pass moves or swaps units off the most loaded shard while that lowers it. The same units,
costs and shard count give the same plan, byte for byte, on every machine: sums are exact
(math.fsum), so no iteration order (a set's, which varies with PYTHONHASHSEED) changes them.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import heapq
import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from operator import attrgetter
from typing import Any, NamedTuple

from fastci.plan.costs import CostModel

PLAN_FORMAT = 1
# Refinement stops after this many improving steps: bounds planning time on huge inputs.
MAX_REFINEMENT_STEPS = 20_000
# How many units around the ideal size are tried per shard pair in a refinement step.
CANDIDATES_PER_PAIR = 6
EPSILON = 1e-9


class Unit(NamedTuple):
    """Tests that run together on one worker: a file, a class, a test, or a marked group.

    A named tuple rather than a dataclass: a plan at test granularity builds 10^5 of them.
    """

    id: str
    files: tuple[str, ...]  # the files it imports; files[0] is the one it is filed under
    duration: float  # estimated seconds of its tests, without file import costs
    tests: tuple[str, ...] | None = None  # node ids to run; None: every test of its files
    exclude: tuple[str, ...] = ()  # with tests None: every test of its files but these
    part: tuple[int, int] | None = None  # (index, count): only its file's tests in_part()


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
    parallelism: float = 1.0  # workers per shard its predictions assume (min(-j, cores))
    rough: bool = False  # nothing measured yet: estimated from the files' contents

    def shard(self, index: int) -> Shard:
        return self.shards[index - 1]

    def to_json(self) -> dict[str, object]:
        return {
            "format": PLAN_FORMAT,
            "granularity": self.granularity,
            "shard_startup": self.shard_startup,
            "makespan": self.makespan,
            "lower_bound": self.lower_bound,
            "parallelism": self.parallelism,
            "rough": self.rough,
            "shards": [dataclasses.asdict(s) for s in self.shards],
            "units": {
                uid: {
                    "files": list(u.files),
                    "duration": u.duration,
                    "tests": None if u.tests is None else list(u.tests),
                    "exclude": list(u.exclude),
                    "part": u.part and list(u.part),
                }
                for uid, u in sorted(self.units.items())
            },
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, indent=1) + "\n"

    def placement_digest(self) -> str:
        """A digest of which tests each shard runs, and nothing the machine decides (its
        cores change the predictions, not the placement): shards of one run agree on it."""
        placement = {
            "granularity": self.granularity,
            "shards": [list(s.units) for s in self.shards],
            "units": {
                uid: [list(u.files), u.tests and list(u.tests), list(u.exclude), u.part]
                for uid, u in sorted(self.units.items())
            },
        }
        return hashlib.sha256(json.dumps(placement, sort_keys=True).encode()).hexdigest()

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
                exclude=tuple(u.get("exclude", ())),
                part=None if u.get("part") is None else (int(u["part"][0]), int(u["part"][1])),
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
            parallelism=float(data.get("parallelism", 1.0)),
            rough=bool(data.get("rough", False)),
        )


class _Loads:
    """Mutable shard state during planning: loads, members and per-file use counts."""

    def __init__(self, shard_count: int, model: CostModel, units: Sequence[Unit]) -> None:
        self.model = model
        self.needs = {u.id: model.needs(u) for u in units}  # its files, then shared packages
        self.load = [model.shard_startup] * shard_count
        # (duration, id) per shard; sorted on demand, since placing 10^5 units must be cheap.
        self.members: list[list[tuple[float, str]]] = [[] for _ in range(shard_count)]
        self._sorted = [True] * shard_count
        self.file_uses: list[dict[str, int]] = [defaultdict(int) for _ in range(shard_count)]
        self.holders: dict[str, set[int]] = defaultdict(set)  # file -> shards importing it

    def after(self, shard: int, remove: Unit | None = None, add: Unit | None = None) -> float:
        """The shard's load if ``remove`` left it and ``add`` joined it."""
        load = self.load[shard]
        uses = self.file_uses[shard]
        if remove is not None:
            load -= remove.duration
            for f in self.needs[remove.id]:
                if uses[f] == 1:
                    load -= self.model.file_cost(f)
        if add is not None:
            load += add.duration
            removed = self.needs[remove.id] if remove is not None else ()
            for f in self.needs[add.id]:
                count = uses.get(f, 0) - (1 if f in removed else 0)
                if count == 0:
                    load += self.model.file_cost(f)
        return load

    def place(self, shard: int, unit: Unit) -> None:
        self.load[shard] = self.after(shard, add=unit)
        if self._sorted[shard]:
            bisect.insort(self.members[shard], (unit.duration, unit.id))
        else:
            self.members[shard].append((unit.duration, unit.id))
        for f in self.needs[unit.id]:
            self.file_uses[shard][f] += 1
            self.holders[f].add(shard)

    def place_block(self, shard: int, units: Sequence[Unit], added_cost: float) -> None:
        """Place units whose total cost (durations plus files new to the shard) is known."""
        self.load[shard] += added_cost
        self._sorted[shard] = False
        self.members[shard].extend((u.duration, u.id) for u in units)
        uses = self.file_uses[shard]
        for unit in units:
            for f in self.needs[unit.id]:
                uses[f] += 1
                self.holders[f].add(shard)

    def sorted_members(self, shard: int) -> list[tuple[float, str]]:
        if not self._sorted[shard]:
            self.members[shard].sort()
            self._sorted[shard] = True
        return self.members[shard]

    def take(self, shard: int, unit: Unit) -> None:
        self.load[shard] = self.after(shard, remove=unit)
        members = self.sorted_members(shard)
        del members[bisect.bisect_left(members, (unit.duration, unit.id))]
        uses = self.file_uses[shard]
        for f in self.needs[unit.id]:
            uses[f] -= 1
            if uses[f] == 0:
                del uses[f]
                self.holders[f].discard(shard)


def plan_shards(
    units: Sequence[Unit], shard_count: int, model: CostModel, granularity: str = "file"
) -> Plan:
    """Partition ``units`` into ``shard_count`` shards, minimising the longest shard."""
    if shard_count < 1:
        raise ValueError("shard_count must be >= 1")
    units = sorted(units, key=attrgetter("id"))  # input order must not matter, not even to sums
    by_id = {u.id: u for u in units}
    if len(by_id) != len(units):
        raise ValueError("unit ids must be unique")
    cost = _unit_costs(units, model)
    bound = lower_bound(units, shard_count, model, cost)
    state = _Loads(shard_count, model, units)
    _place_greedily(state, units, cost, bound - model.shard_startup)
    _fill_empty_shards(state, by_id)
    _refine(state, by_id)
    return _finish(state, by_id, cost, granularity, bound)


def _unit_costs(units: Sequence[Unit], model: CostModel) -> dict[str, float]:
    """Each unit's duration plus the import cost of its files."""
    result = {}
    for u in units:
        files = model.needs(u)
        if len(files) == 1:
            result[u.id] = u.duration + model.file_cost(files[0])
        else:
            result[u.id] = u.duration + math.fsum(model.file_cost(f) for f in files)
    return result


def _place_greedily(
    state: _Loads, units: Sequence[Unit], cost: Mapping[str, float], ideal: float
) -> None:
    """Largest file first onto the least loaded shard; split a file only when it cannot fit.

    A file's units go together while the shard stays within the ideal load (total work / N),
    so its import is paid once; a file too large for that is spread unit by unit, each on the
    shard where it ends lowest (shards already importing the file pay nothing more for it).
    """
    model = state.model
    shard_count = len(state.load)
    blocks: dict[str, list[Unit]] = defaultdict(list)
    for unit in units:
        blocks[unit.files[0] if unit.files else ""].append(unit)
    block_cost = {
        home: math.fsum(u.duration for u in members)
        + math.fsum(model.file_cost(f) for f in {f for u in members for f in state.needs[u.id]})
        for home, members in blocks.items()
    }
    count = [0] * shard_count
    heap = [(state.load[s], 0, s) for s in range(shard_count)]
    heapq.heapify(heap)

    def least_loaded() -> int:
        while (heap[0][0], heap[0][1]) != (state.load[heap[0][2]], count[heap[0][2]]):
            heapq.heappop(heap)  # a stale entry: that shard's load has changed since
        return heap[0][2]

    def placed(shard: int, how_many: int) -> None:
        count[shard] += how_many
        heapq.heappush(heap, (state.load[shard], count[shard], shard))

    for home in sorted(blocks, key=lambda h: (-block_cost[h], h)):
        members = blocks[home]
        target = least_loaded()
        fits = state.load[target] - model.shard_startup + block_cost[home] <= ideal + EPSILON
        if (fits or len(members) == 1) and not any(
            f in state.file_uses[target] for u in members for f in u.files
        ):
            state.place_block(target, members, block_cost[home])
            placed(target, len(members))
            continue
        for unit in sorted(members, key=lambda u: (-cost[u.id], u.id)):
            candidates = {least_loaded()}
            for f in state.needs[unit.id]:
                candidates.update(state.holders.get(f, ()))
            best = min(candidates, key=lambda s: (state.after(s, add=unit), count[s], s))
            state.place(best, unit)
            placed(best, 1)


def _fill_empty_shards(state: _Loads, by_id: Mapping[str, Unit]) -> None:
    """With at least as many units as shards, give every empty shard one unit."""
    shard_count = len(state.load)
    if len(by_id) < shard_count:
        return
    for empty in range(shard_count):
        if state.members[empty]:
            continue
        donor = max(range(shard_count), key=lambda s: (len(state.members[s]), state.load[s], -s))
        _, uid = state.sorted_members(donor)[0]  # its smallest unit
        state.take(donor, by_id[uid])
        state.place(empty, by_id[uid])


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
    ours = state.sorted_members(top)
    theirs = state.sorted_members(other)
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


def _finish(
    state: _Loads,
    by_id: Mapping[str, Unit],
    cost: Mapping[str, float],
    granularity: str,
    bound: float,
) -> Plan:
    model = state.model
    shards = []
    for index, members in enumerate(state.members):
        by_name = sorted(uid for _, uid in members)
        ordered = sorted(by_name, key=cost.__getitem__, reverse=True)  # ties stay by name
        largest = max((by_id[u].duration + math.fsum(model.file_costs.get(f, 0.0)
                       for f in by_id[u].files) for u in by_name), default=0.0)  # fmt: skip
        tests = math.fsum(duration for duration, _ in members)
        predicted = model.wall(sorted(state.file_uses[index]), tests, largest, len(members))
        shards.append(Shard(index=index + 1, units=tuple(ordered), predicted=predicted))
    return Plan(
        granularity=granularity,
        shards=tuple(shards),
        units=dict(by_id),
        shard_startup=model.shard_startup,
        makespan=max(s.predicted for s in shards),
        # The bound is of one process's work; a shard's workers share all but its fixed cost.
        lower_bound=model.shard_startup + (bound - model.shard_startup) / model.parallelism,
        parallelism=model.parallelism,
        rough=model.rough,
    )


def lower_bound(
    units: Sequence[Unit],
    shard_count: int,
    model: CostModel,
    cost: Mapping[str, float] | None = None,
) -> float:
    """No plan can beat this: max(largest unit, total work / N), each plus a shard's startup."""
    if not units:
        return model.shard_startup
    if cost is None:
        cost = _unit_costs(units, model)
    files = {f for u in units for f in model.needs(u)}
    total = math.fsum(u.duration for u in units) + math.fsum(model.file_cost(f) for f in files)
    return model.shard_startup + max(*cost.values(), total / shard_count)
