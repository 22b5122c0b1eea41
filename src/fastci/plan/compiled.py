"""Test files known to compile: each one's size and modification time when it last did, so an
unchanged file is not compiled again where Python writes no bytecode cache to tell."""

from __future__ import annotations

import json
import os
from pathlib import Path

from fastci.errors import FastciError
from fastci.files import ensure_dir, write_atomically

COMPILED = "compiled.json"  # its name in fastci's directory (.fastci)
# Entries beyond this are dropped oldest first: the cache stays small on any suite.
MAX_ENTRIES = 100_000


class CompiledFiles:
    """A JSON file mapping a test file's absolute path to [size, mtime_ns] when it compiled."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.known: dict[str, list[int]] = self._load()
        self.changed = False

    def _load(self) -> dict[str, list[int]]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # missing or damaged: every file is compiled once more
        return data if isinstance(data, dict) else {}

    @staticmethod
    def _key(stat: os.stat_result) -> list[int]:
        return [stat.st_size, stat.st_mtime_ns]

    def knows(self, path: Path, stat: os.stat_result) -> bool:
        """Whether this very file (same size and modification time) compiled before."""
        return self.known.get(str(path)) == self._key(stat)

    def add(self, path: Path, stat: os.stat_result) -> None:
        self.known.pop(str(path), None)
        self.known[str(path)] = self._key(stat)
        self.changed = True

    def save(self) -> None:
        """Write the cache back if it learnt something; a cache that cannot be written is
        skipped (the next run compiles again)."""
        if self.path is None or not self.changed:
            return
        entries = list(self.known.items())[-MAX_ENTRIES:]
        try:
            ensure_dir(self.path.parent)
            write_atomically(self.path, json.dumps(dict(entries), separators=(",", ":")))
        except (OSError, FastciError):
            return
