"""Where recording meets ``fastci run`` and ``fastci merge``: one call each."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from fastci.affected.data import DepsData, read_bundle_files, write_bundle_file
from fastci.errors import FastciError

if TYPE_CHECKING:
    from fastci.config import Config
    from fastci.execute.outcome import RunOutcome, RunRequest


def recorded_run(request: RunRequest, run_tests: Callable[[RunRequest], RunOutcome]) -> RunOutcome:
    """Run, recording each test's dependencies when ``record_deps`` is on (and git says
    which commit they belong to): into the bundle, and into the store unless a merge will."""
    from fastci.affected.record import harvest, recording_directory

    config = request.config
    enabled = config.record_deps and request.revision is not None
    with recording_directory(enabled, config.root) as directory:
        outcome = run_tests(request)
        if directory is None or request.revision is None:
            return outcome
        data = harvest(config, directory, outcome.pool.results, request.revision[0])
    if data is None:
        return outcome
    if outcome.bundle is not None:
        write_bundle_file(outcome.bundle, data)
    if request.shard is None and request.queue is None:
        save_recordings(config.store_path, [data])
    return outcome


def affected_args(config: Config, base: str | None, pytest_args: list[str]) -> list[str] | None:
    """pytest's arguments for ``fastci run --affected``: the selected tests in place of the
    paths given; None when nothing is selected (a line says so)."""
    from fastci.affected.explain import summary_line
    from fastci.commands.affected import selection_for

    selection, note = selection_for(config, base, pytest_args)
    print(summary_line(selection, note), file=sys.stderr)
    if not selection.selected:
        print(
            f"fastci: no test is affected by the changes since commit "
            f"{selection.data_commit[:12]}: nothing to run"
        )
        return None
    options = [a for a in pytest_args if a.startswith("-") or not _names_a_path(config, a)]
    return [*options, *selection.selected]


def _names_a_path(config: Config, arg: str) -> bool:
    return (config.workdir / arg.split("::", maxsplit=1)[0]).exists()


def merge_recordings(store_path: Path, bundles: Iterable[Path]) -> int:
    """Fold the recordings in these bundles into the store; how many tests they held."""
    found = read_bundle_files(bundles)
    save_recordings(store_path, found)
    return sum(len(d.tests) for d in found)


def save_recordings(store_path: Path, recordings: list[DepsData]) -> None:
    from fastci.affected import storage
    from fastci.plan.store import TimingsStore

    if not recordings:
        return
    try:
        with TimingsStore(store_path) as store:
            storage.save(store, recordings)
    except (FastciError, OSError) as e:
        print(f"fastci: warning: dependencies not recorded: {e}", file=sys.stderr)
