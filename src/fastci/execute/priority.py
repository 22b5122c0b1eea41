"""Which units start first: the last run's failures, then new or changed test files, then the rest.

``--order failures-first`` (the default) keeps the plan's longest-first order inside each of
three tiers: units holding a test that failed, errored or crashed in the store's newest run;
units of test files that are new (the store has no timings for them) or changed since that
run; everything else. A file counts as changed when it was modified after the run started
and, in git, also differs from the commit the run recorded (or is untracked), so an
uncommitted edit that the last run already ran is not news. With ``-x`` or ``--maxfail``
finding a failure soon matters more than balance: inside each tier, units with the most tests
per estimated second go first. ``--order longest`` keeps the plan's order. The order is a
pure function of the plan, the store and the files, so a run can be repeated.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from fastci.changes.git import GitError, changed_since, resolve_commit, toplevel, untracked
from fastci.config import Config
from fastci.model import in_part
from fastci.plan.inventory import Inventory
from fastci.plan.planner import Unit
from fastci.plan.recent import LastRun, last_run
from fastci.plan.store import TimingsStore

FAILED, CHANGED, REST = 0, 1, 2  # tiers, first to last
MIN_UNIT_SECONDS = 0.001  # keeps a rate finite for a unit estimated at nothing


@dataclasses.dataclass(frozen=True)
class Signals:
    """What marks a unit as likely to fail: last run's failures, files new or changed since."""

    failed: frozenset[str]  # node ids
    failed_files: frozenset[str]
    changed: frozenset[str]  # test files, as in node ids
    tests_per_file: Mapping[str, int]


def read_signals(config: Config, inventory: Inventory) -> Signals | None:
    """The signals for this suite, or None when no store has recorded a run yet."""
    if config.order == "longest" or not config.store_path.exists():
        return None
    with TimingsStore(config.store_path, window=config.estimate_window) as store:
        last = last_run(store)
    if last is None:
        return None
    files = [f.path for f in inventory.files]
    rootdir = Path(os.path.realpath(inventory.rootdir))
    changed = {f for f in files if f not in last.known_files}
    changed.update(_changed_files(rootdir, files, last))
    return Signals(last.failed, last.failed_files, frozenset(changed), last.tests_per_file)


def _changed_files(rootdir: Path, files: Sequence[str], last: LastRun) -> set[str]:
    """Test files modified since the last run started (and, in git, differing from its commit)."""
    touched = {f for f in files if _modified(rootdir / f) > last.started}
    if not touched:  # nothing newer than the run: no need to ask git
        return touched
    in_git = _differing_from(rootdir, last.commit)
    return touched if in_git is None else {f for f in touched if str(rootdir / f) in in_git}


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # gone since discovery: not news
        return 0.0


def _differing_from(rootdir: Path, commit: str | None) -> set[str] | None:
    """Absolute paths that differ from ``commit`` or are untracked; None when git cannot say."""
    top = toplevel(rootdir) if commit else None
    if top is None or commit is None or resolve_commit(top, commit) is None:
        return None
    try:
        paths = [*changed_since(top, commit), *untracked(top)]
    except GitError:
        return None
    return {str(top / p) for p in paths}


def first_units(units: Sequence[Unit], signals: Signals | None, stop_early: bool) -> list[Unit]:
    """``units`` (in plan order) in the order they start; stable, so ties keep the plan's order."""
    if signals is None:
        return list(units)
    position = {u.id: n for n, u in enumerate(units)}

    def key(unit: Unit) -> tuple[int, float, int]:
        rate = _tests_per_second(unit, signals) if stop_early else 0.0
        return (_tier(unit, signals), -rate, position[unit.id])

    return sorted(units, key=key)


def _tier(unit: Unit, signals: Signals) -> int:
    if _holds_failure(unit, signals):
        return FAILED
    if any(f in signals.changed for f in unit.files):
        return CHANGED
    return REST


def _holds_failure(unit: Unit, signals: Signals) -> bool:
    if unit.tests is not None:
        return any(t in signals.failed for t in unit.tests)
    if not any(f in signals.failed_files for f in unit.files):
        return False
    excluded = set(unit.exclude)
    files = set(unit.files)
    return any(
        t not in excluded
        and t.split("::")[0] in files
        and (unit.part is None or in_part(t, unit.part))
        for t in signals.failed
    )


def _tests_per_second(unit: Unit, signals: Signals) -> float:
    """How many tests the unit runs per estimated second: the more, the sooner one fails."""
    if unit.tests is not None:
        count = len(unit.tests)
    else:
        count = sum(signals.tests_per_file.get(f, 1) for f in unit.files) - len(unit.exclude)
        count //= unit.part[1] if unit.part else 1
    return max(count, 1) / max(unit.duration, MIN_UNIT_SECONDS)
