"""The cache key: one hash over every input of the installed set, explainable and diffable."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from fastci.deps.inputs import KeyInput, Sources
from fastci.deps.interpreter import Interpreter
from fastci.errors import UsageError

# Bumped whenever what goes into the key, or how it is normalised, changes: a new format
# must never reuse a wheelhouse built under an old one.
KEY_FORMAT = 1
PREFIX = "fastci-deps"


@dataclasses.dataclass(frozen=True)
class Key:
    """The key and the inputs it hashes, in name order."""

    value: str
    inputs: tuple[KeyInput, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.value,
            "inputs": {i.name: {"sha256": i.digest, "lines": list(i.lines)} for i in self.inputs},
        }


@dataclasses.dataclass(frozen=True)
class InputChange:
    """One input that differs between two keys; lines added and removed when both have it."""

    name: str
    status: str  # "changed", "added" or "removed"
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


def compute_key(sources: Sources, interpreter: Interpreter) -> Key:
    """The key of ``sources`` installed into ``interpreter``; paths and order never count."""
    inputs = sorted(
        [
            KeyInput("format", (f"{PREFIX}/{KEY_FORMAT}",)),
            KeyInput("python", (interpreter.python_input,)),
            KeyInput("platform", (interpreter.platform_input,)),
            *sources.inputs,
        ],
        key=lambda i: i.name,
    )
    digest = hashlib.sha256(
        json.dumps({i.name: i.digest for i in inputs}, sort_keys=True).encode()
    ).hexdigest()
    platform = interpreter.platform.replace("-", "_").replace(".", "_")
    value = f"{PREFIX}-v{KEY_FORMAT}-{interpreter.tag}-{platform}-{digest[:32]}"
    return Key(value, tuple(inputs))


def inputs_from_json(data: object, source: str) -> tuple[str, tuple[KeyInput, ...]]:
    """The key and inputs recorded in a manifest or in ``fastci deps key --json`` output."""
    if not isinstance(data, dict) or not isinstance(data.get("inputs"), dict):
        raise UsageError(f"{source} is not a fastci deps manifest or key record")
    inputs = []
    for name, value in data["inputs"].items():
        lines = value.get("lines", []) if isinstance(value, dict) else []
        inputs.append(KeyInput(str(name), tuple(str(line) for line in lines)))
    return str(data.get("key", "?")), tuple(sorted(inputs, key=lambda i: i.name))


def load_key_record(reference: str, wheelhouse_root: Path) -> tuple[str, tuple[KeyInput, ...]]:
    """Find the inputs of another key: a manifest or key-record file, a wheelhouse directory,
    or a key whose wheelhouse is under ``wheelhouse_root``."""
    from fastci.deps.manifest import MANIFEST

    path = Path(reference)
    candidates = [path, path / MANIFEST, wheelhouse_root / reference / MANIFEST]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        raise UsageError(
            f"no manifest found for {reference!r}: pass a key with a wheelhouse under "
            f"{wheelhouse_root}, a wheelhouse directory, a manifest.json, or the output of "
            "'fastci deps key --json'"
        )
    try:
        data = json.loads(found.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot read {found}: {e}") from None
    return inputs_from_json(data, str(found))


def diff_inputs(old: tuple[KeyInput, ...], new: tuple[KeyInput, ...]) -> list[InputChange]:
    """The inputs that differ, in name order; empty when both keys hash the same inputs."""
    before = {i.name: i for i in old}
    after = {i.name: i for i in new}
    changes = []
    for name in sorted(before.keys() | after.keys()):
        if name not in after:
            changes.append(InputChange(name, "removed", removed=before[name].lines))
        elif name not in before:
            changes.append(InputChange(name, "added", added=after[name].lines))
        elif before[name].digest != after[name].digest:
            added, removed = _line_changes(before[name].lines, after[name].lines)
            changes.append(InputChange(name, "changed", added=added, removed=removed))
    return changes


def _line_changes(
    before: tuple[str, ...], after: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(sorted(set(after) - set(before))), tuple(sorted(set(before) - set(after)))
