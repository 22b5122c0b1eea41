"""Estimates from stored timings: medians, per-file totals, and guesses for unseen tests."""

from __future__ import annotations

import dataclasses
import posixpath
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import NamedTuple

DEFAULT_TEST_SECONDS = 0.05


class KnownTest(NamedTuple):
    """What the store believes of one current test."""

    file: str
    estimate: float  # seconds: median of its newest `window` samples
    group: str | None  # its group marker value in its newest run, if any


@dataclasses.dataclass(frozen=True)
class FileEstimate:
    """What the store expects of one test file: its tests' total and its import cost."""

    tests: float
    collect: float
    count: int


def median(values: Iterable[float]) -> float:
    """The median of the values, 0.0 when there are none."""
    ordered = sorted(values)
    return statistics.median(ordered) if ordered else 0.0


class Estimator:
    """Estimates for any test id: known tests from the store, others from their neighbours.

    A test never seen gets its file's typical test, then its directory's (the nearest
    enclosing one that has known tests), then the suite's.
    """

    def __init__(self, known: Mapping[str, tuple[str, float, str | None]]) -> None:
        self.known = known
        by_file: dict[str, list[float]] = defaultdict(list)
        by_dir: dict[str, list[float]] = defaultdict(list)
        for file, estimate, _ in known.values():
            by_file[file].append(estimate)
            directory = posixpath.dirname(file)
            while directory:  # every enclosing directory, so a new subdirectory finds its parent
                by_dir[directory].append(estimate)
                directory = posixpath.dirname(directory)
        self.file_typical = {f: median(v) for f, v in by_file.items()}
        self.dir_typical = {d: median(v) for d, v in by_dir.items()}
        values = [estimate for _, estimate, _ in known.values()]
        self.suite_typical = median(values) if values else DEFAULT_TEST_SECONDS

    def test(self, test_id: str, file: str) -> float:
        known = self.known.get(test_id)
        if known is not None:
            return known[1]
        if file in self.file_typical:
            return self.file_typical[file]
        directory = posixpath.dirname(file)
        while True:
            if directory in self.dir_typical:
                return self.dir_typical[directory]
            if not directory:
                return self.suite_typical
            directory = posixpath.dirname(directory)
