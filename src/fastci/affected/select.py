"""Which tests a change can affect, from a recording at commit X and the working tree now.

Safe first: a test runs unless its recording proves nothing it touched has changed. A
changed Python file whose skeleton is as it was (fastci.affected.units) selects only the
tests that ran a changed function, or read the file whole.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Sequence
from pathlib import Path

from fastci.affected.added import added_tests
from fastci.affected.data import DepsData, TestDeps
from fastci.affected.environment import environment, file_hash, input_key
from fastci.affected.project import first_change
from fastci.affected.units import (
    SKELETON,
    changed_units,
    file_units,
    read_tree,
    split_key,
)
from fastci.config import Config
from fastci.model import FAILING_OUTCOMES
from fastci.plugin.launch import SPAWNED

NAMED = 3  # added tests a reason names


@dataclasses.dataclass
class Selection:
    """What runs (test ids, or whole test files) and why; what is skipped and why it is safe."""

    data_commit: str
    selected: list[str] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)
    reasons: dict[str, str] = dataclasses.field(default_factory=dict)
    everything: str | None = None
    safe_files: dict[str, str] = dataclasses.field(default_factory=dict)  # file -> why
    # tests of a selected file proven unaffected (its other tests run, and the tests it
    # gained since): pytest's --deselect
    deselected: list[str] = dataclasses.field(default_factory=list)

    def select(self, test: str, reason: str) -> None:
        self.selected.append(test)
        self.reasons[test] = reason

    def to_json(self) -> dict[str, object]:
        return {
            "data_commit": self.data_commit,
            "selected": self.selected,
            "skipped": self.skipped,
            "reasons": self.reasons,
            "everything": self.everything,
            "deselected": self.deselected,
        }


def select(config: Config, data: DepsData, test_files: Sequence[str]) -> Selection:
    """The tests in ``test_files`` (the suite now) that could see a difference since X."""
    selection = Selection(data.commit)
    now = environment(config, config.affected_env)
    mapped = {input_key(g, p): p for g, p in config.inputs if p}
    changed_inputs = [k for k in sorted({*now, *data.env}) if now.get(k) != data.env.get(k)]
    global_changes = [k for k in changed_inputs if k not in mapped]
    if global_changes:
        selection.everything = f"{global_changes[0]} changed since the data's commit"
        for test_file in test_files:
            selection.select(test_file, selection.everything)
        return selection
    changed = _changed_files(config, data)
    if any(SPAWNED in t.files for t in data.tests.values()):
        change = first_change(config.root, data.commit)
        if change is not None:
            changed[SPAWNED] = _Change(f"and {change}")
    rules = _Rules(config.always_run, [(k, mapped[k]) for k in changed_inputs])
    for test_file in test_files:
        _select_in_file(selection, data, test_file, changed, rules)
    return selection


@dataclasses.dataclass(frozen=True)
class _Change:
    """How a recorded file changed; ``units``: the functions whose bodies alone changed,
    None when the change may reach any test that touched the file."""

    how: str
    units: frozenset[str] | None = None
    added: frozenset[str] = frozenset()  # a test file's tests (and helpers) added since


def _changed_files(config: Config, data: DepsData) -> dict[str, _Change]:
    """Recorded files whose content differs now: path -> how."""
    changed = {}
    for path, recorded in data.hashes.items():
        current = file_hash(config.root / path)
        if current == recorded:
            continue
        if not current or not recorded:
            changed[path] = _Change("deleted" if not current else "added")
            continue
        changed[path] = _change(config.root / path, data.units.get(path), path in data.modules)
    return changed


def _change(path: Path, old: dict[str, str] | None, test_file: bool) -> _Change:
    """How a Python file that exists on both sides changed, by its units."""
    if not old:
        return _Change("changed")
    new = file_units(path)
    units = changed_units(old, new)
    if units is not None:
        return _Change("changed", frozenset(units))
    tree = read_tree(path) if test_file else None
    added = added_tests(old, tree) if tree is not None else None
    if added is None:
        return _Change("changed")
    bodies = {name for name in old if name != SKELETON and new.get(name) != old[name]}
    return _Change("changed", frozenset(bodies), frozenset(added))


@dataclasses.dataclass
class _Rules:
    always_run: tuple[str, ...]
    changed_inputs: list[tuple[str, tuple[str, ...]]]  # (input entry, test paths it affects)

    def reason(self, test: str, deps: TestDeps | None) -> str | None:
        path = test.split("::", maxsplit=1)[0]
        for pattern in self.always_run:
            if _matches(path, test, pattern) or (deps and pattern in deps.markers):
                return f"always_run {pattern}"
        for entry, paths in self.changed_inputs:
            if any(_matches(path, test, p) for p in paths):
                return f"{entry}: an input changed"
        return None


def _matches(path: str, test: str, pattern: str) -> bool:
    pattern = pattern.rstrip("/")
    return (
        fnmatch.fnmatch(path, pattern)
        or fnmatch.fnmatch(test, pattern)
        or path.startswith(pattern + "/")
    )


def _select_in_file(
    selection: Selection,
    data: DepsData,
    test_file: str,
    changed: dict[str, _Change],
    rules: _Rules,
) -> None:
    items = data.modules.get(test_file)
    if items is None:
        why = f"new test file, or none of its tests ran at {data.commit[:12]}"
        selection.select(test_file, why)
        return
    change = changed.get(test_file)
    if change is not None and change.units is None:
        selection.select(test_file, f"test file {change.how}")
        return
    reasons = {t: _test_reason(data.tests.get(t), t, changed, rules, data.commit) for t in items}
    chosen = {test: reason for test, reason in reasons.items() if reason is not None}
    if change is not None and change.added and len(chosen) < len(items):
        _select_with_added(selection, test_file, change.added, reasons)
        return
    if chosen and len(chosen) == len(items):
        # Every test runs: the file runs whole, so tests it holds now and did not then run too.
        selection.select(test_file, f"every test in it: {chosen[items[0]]}")
        return
    for test, reason in reasons.items():
        if reason is None:
            selection.skipped.append(test)
        else:
            selection.select(test, reason)
    skipped = len(items) - len(chosen)
    if skipped == len(items):
        selection.safe_files[test_file] = f"none of its {len(items)} tests ran or read changed code"
    elif skipped:
        selection.safe_files[test_file] = (
            f"{skipped} of its {len(items)} tests ran or read no changed code"
        )


def _select_with_added(
    selection: Selection, test_file: str, added: frozenset[str], reasons: dict[str, str | None]
) -> None:
    """A test file that gained tests runs whole, but for its earlier tests proven unaffected."""
    safe = [test for test, reason in reasons.items() if reason is None]
    names = ", ".join(sorted(added)[:NAMED]) + (", …" if len(added) > NAMED else "")
    affected = len(reasons) - len(safe)
    selection.select(
        test_file,
        f"{len(added)} added ({names}); {affected} of its {len(reasons)} earlier tests affected",
    )
    selection.deselected += safe
    selection.skipped += safe
    selection.safe_files[test_file] = (
        f"{len(safe)} of its {len(reasons)} earlier tests ran or read no changed code (deselected)"
    )


def _test_reason(
    deps: TestDeps | None, test: str, changed: dict[str, _Change], rules: _Rules, commit: str
) -> str | None:
    rule = rules.reason(test, deps)
    if rule is not None:
        return rule
    if deps is None:
        return f"no data: it did not run at {commit[:12]}"
    if deps.outcome in FAILING_OUTCOMES:
        return f"{deps.outcome} at {commit[:12]}"
    for key in deps.files:
        path, unit = split_key(key)
        change = changed.get(path)
        reason = None if change is None else _unit_reason(test, path, unit, change)
        if reason is not None:
            return reason
    return None


def _unit_reason(test: str, path: str, unit: str | None, change: _Change) -> str | None:
    """Why a test that touched ``unit`` of the changed ``path`` may see the change. Tests
    added to a test file reach those of another file that imports its classes (pytest
    collects their subclasses' new tests there): the skeleton changed for them."""
    if unit is None or change.units is None:
        return f"{path} {change.how}"
    if unit in change.units:
        return f"{path}: {unit}() changed"
    if unit == SKELETON and change.added and not test.startswith(f"{path}::"):
        return f"{path} gained tests"
    return None


def selection_for(
    config: Config, base: str | None, pytest_args: list[str]
) -> tuple[Selection, str]:
    """The selection for the suite pytest would collect with ``pytest_args``, and a note."""
    from fastci.affected.base import load_recording
    from fastci.plan.inventory import discover_files

    data, note = load_recording(config.store_path, config.root, base, config.estimate_window)
    inventory = discover_files(config.workdir, [*config.pytest_args, *pytest_args],
                               config.group_markers)  # fmt: skip
    return select(config, data, [f.path for f in inventory.files]), note
