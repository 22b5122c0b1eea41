"""The coordinator's side of recording: workers' files in, one DepsData out, per run."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from fastci.affected.data import DepsData, TestDeps
from fastci.affected.environment import environment, file_hash
from fastci.affected.units import file_units, split_key
from fastci.config import Config
from fastci.model import TestResult
from fastci.plugin.launch import DEPS_ROOT_VARIABLE, DEPS_VARIABLE, SPAWNED


@contextlib.contextmanager
def recording_directory(enabled: bool, root: Path) -> Iterator[Path | None]:
    """A directory the workers write into (through their environment), while the run lasts."""
    if not enabled:  # nor may a fastci run inside a recorded test write into that recording
        os.environ.pop(DEPS_VARIABLE, None)
        os.environ.pop(DEPS_ROOT_VARIABLE, None)
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="fastci-recording-") as directory:
        os.environ[DEPS_VARIABLE] = directory
        os.environ[DEPS_ROOT_VARIABLE] = str(root.resolve())
        try:
            yield Path(directory)
        finally:
            os.environ.pop(DEPS_VARIABLE, None)
            os.environ.pop(DEPS_ROOT_VARIABLE, None)


def harvest(
    config: Config, directory: Path, results: Iterable[TestResult], commit: str
) -> DepsData | None:
    """What the workers recorded, with outcomes and file hashes; None if nothing was."""
    outcomes = {r.id: r.outcome for r in results}
    data = DepsData(commit, time.time(), environment(config, config.affected_env))
    for line in _lines(directory):
        test, module = line.get("test"), line.get("module")
        if isinstance(test, str) and test in outcomes:
            data.tests[test] = TestDeps(outcomes[test], list(line["files"]), list(line["markers"]))
        elif isinstance(module, str):
            data.modules[module] = sorted({*data.modules.get(module, ()), *line["items"]})
    if not data.tests:
        return None
    keys = {k for t in data.tests.values() for k in t.files if k != SPAWNED}
    files = {split_key(k)[0] for k in keys} | set(data.modules)
    data.hashes = {f: file_hash(config.root / f) for f in sorted(files)}
    split = {path for path, unit in map(split_key, keys) if unit is not None}
    data.units = {f: units for f in sorted(split) if (units := file_units(config.root / f))}
    return data


def _lines(directory: Path) -> Iterator[dict[str, Any]]:
    """Each worker's lines, a test's file numbers turned into paths; a line cut short by a
    crashed worker, or naming a number never written, is left out (that test runs)."""
    for path in sorted(directory.glob("worker-*.jsonl")):
        paths: dict[int, str] = {}
        for text in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                line = json.loads(text)
                if "paths" in line:
                    paths.update({int(n): str(p) for n, p in line["paths"].items()})
                    continue
                if "ids" in line:
                    line["files"] = [paths[n] for n in line["ids"]]
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
            yield line
