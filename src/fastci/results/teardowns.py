"""A shared fixture's teardown error once per run, however many workers and shards tore it down.

pytest sets a session fixture up once and tears it down after the session's last test, which
gets its teardown error; a module or class fixture likewise after the module's or class's
last test. fastci sets such a fixture up in each worker that runs a test using it, so each
of them tears it down and reports the same error. A worker marks an error raised by a
collector's teardown alone with that collector (``TestResult.teardown_node``, see
fastci.plugin.teardown_scope); the same error from the same collectors is one error, kept on
the holder that comes last in pytest's order (by file path, then by when it finished), as
pytest keeps it on the last test.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import PurePosixPath

from fastci.model import TestResult
from fastci.results.bundle import Bundle


def _pytest_order(result: TestResult) -> tuple[tuple[str, ...], float]:
    """pytest collects a directory's entries sorted by name: compare paths part by part."""
    return PurePosixPath(result.file).parts, result.stop


def once_per_run(results: Sequence[TestResult]) -> list[TestResult]:
    """``results`` with each repeated shared teardown error kept once."""
    holders: dict[tuple[str, str], list[int]] = {}
    for index, result in enumerate(results):
        if result.teardown_node is not None and result.teardown_error is not None:
            holders.setdefault((result.teardown_node, result.teardown_error), []).append(index)
    repeats: set[int] = set()
    for indexes in holders.values():
        kept = max(indexes, key=lambda i: _pytest_order(results[i]))
        repeats.update(i for i in indexes if i != kept)
    return [
        dataclasses.replace(r, teardown_error=None, teardown_node=None) if i in repeats else r
        for i, r in enumerate(results)
    ]


def once_over_shards(bundles: Sequence[Bundle]) -> list[Bundle]:
    """The bundles with each shared teardown error that several shards repeat kept once."""
    folded = once_per_run([r for bundle in bundles for r in bundle.results])
    out, start = [], 0
    for bundle in bundles:
        end = start + len(bundle.results)
        out.append(dataclasses.replace(bundle, results=tuple(folded[start:end])))
        start = end
    return out
