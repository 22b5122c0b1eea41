"""Test files known to compile: an unchanged file is trusted without a bytecode cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

from fastci.plan.collection_errors import early_collection_errors
from fastci.plan.inventory import TestFile
from tests.helpers.projects import Project

FILE = "tests/test_known.py"


def errors(root: Path, cache: Path) -> list[tuple[str, str]]:
    return early_collection_errors(root, [TestFile(FILE, 0)], "prepend", cache)


def test_a_file_that_compiled_is_not_compiled_again_until_it_changes(tmp_path: Path) -> None:
    path = Project(tmp_path).write(FILE, "x = 1\n")
    cache = tmp_path / ".fastci" / "compiled.json"
    assert not (path.parent / "__pycache__").exists()  # no bytecode cache to tell
    assert errors(tmp_path, cache) == []
    stat = path.stat()
    assert json.loads(cache.read_text()) == {str(path): [stat.st_size, stat.st_mtime_ns]}
    path.write_text("x = (\n")  # same size and, below, the same time: trusted, not compiled
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert errors(tmp_path, cache) == []
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))  # changed: compiled again
    [(nodeid, text)] = errors(tmp_path, cache)
    assert nodeid == FILE
    assert "SyntaxError" in text


def test_a_damaged_or_unwritable_cache_only_costs_a_compile(tmp_path: Path) -> None:
    Project(tmp_path).write(FILE, "x = (\n")
    damaged = tmp_path / "compiled.json"
    damaged.write_text("{not json")
    assert len(errors(tmp_path, damaged)) == 1
    blocked = tmp_path / "a-file" / "compiled.json"
    (tmp_path / "a-file").write_text("")  # its directory is a file: cannot be written
    Project(tmp_path).write(FILE, "x = 1\n")
    assert errors(tmp_path, blocked) == []
