"""Where recording meets ``fastci run`` and ``fastci merge``: one call each."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fastci.affected.data import DepsData, read_bundle_files, write_bundle_file
from fastci.errors import FastciError
from fastci.files import ensure_dir

if TYPE_CHECKING:
    from fastci.config import Config
    from fastci.execute.outcome import RunOutcome, RunRequest


def recorded_run(
    request: RunRequest,
    run_tests: Callable[[RunRequest], RunOutcome],
    affected: dict[str, object] | None = None,
) -> RunOutcome:
    """Run, recording each test's dependencies when ``record_deps`` is on (and git says
    which commit they belong to): into the bundle, and into the store unless a merge will.
    ``affected``: what --affected selected, noted in the bundle for the merge's verdict."""
    from fastci.affected.record import harvest, recording_directory
    from fastci.affected.verdict import BUNDLE_NOTE, NOTHING_MARKER, write_note

    config = request.config
    enabled = config.record_deps and request.revision is not None
    with recording_directory(enabled, config.root) as directory:
        outcome = run_tests(request)
        if outcome.bundle is not None:  # this run's bundle: an older "nothing" marker is stale
            (outcome.bundle.parent / NOTHING_MARKER).unlink(missing_ok=True)
        if affected is not None and outcome.bundle is not None:
            write_note(outcome.bundle, BUNDLE_NOTE, affected)
        if directory is None or request.revision is None:
            return outcome
        data = harvest(config, directory, outcome.pool.results, request.revision[0])
    if data is None:
        return outcome
    if outcome.bundle is not None:
        write_bundle_file(outcome.bundle, data)
    if request.shard is None and request.queue is None:
        save_recordings(config.store_path, config.estimate_window, [data])
    return outcome


def affected_args(
    config: Config, base: str | None, pytest_args: list[str], results: Path | None
) -> tuple[list[str] | None, dict[str, object] | None]:
    """pytest's arguments for ``fastci run --affected``: the selected tests in place of the
    paths given, None when nothing is selected (a line says so, and a marker in ``results``
    tells the merge); and the note for the run's bundle. Without data, everything runs."""
    from fastci.affected.explain import summary_line
    from fastci.affected.select import selection_for
    from fastci.affected.verdict import NOTHING_MARKER, note, write_note

    try:
        selection, how = selection_for(config, base, pytest_args)
    except (FastciError, sqlite3.Error) as e:  # no git, store or data: any doubt means run
        why = e.message if isinstance(e, FastciError) else f"the store could not be read ({e})"
        print(f"fastci: --affected: {why}; running every test", file=sys.stderr)
        return pytest_args, None
    print(summary_line(selection, how), file=sys.stderr)
    if not selection.selected:
        print(
            f"fastci: no test is affected by the changes since commit "
            f"{selection.data_commit[:12]}: nothing to run"
        )
        if results is not None:
            ensure_dir(results)
            write_note(results, NOTHING_MARKER, note(selection))
        return None, None
    kept = [a for i, a in enumerate(pytest_args) if not _is_test_path(config, pytest_args, i)]
    deselected = [f"--deselect={test}" for test in selection.deselected]
    return [*kept, *deselected, *selection.selected], note(selection)


# pytest options that take no value, so a path after one is a test path, not its value.
FLAGS = frozenset(
    [
        "-v",
        "-vv",
        "-vvv",
        "-q",
        "-qq",
        "-x",
        "-s",
        "-l",
        "--lf",
        "--ff",
        "--nf",
        "--sw",
        "--exitfirst",
        "--verbose",
        "--quiet",
        "--last-failed",
        "--failed-first",
        "--new-first",
        "--stepwise",
        "--showlocals",
        "--strict-markers",
        "--strict-config",
        "--runxfail",
        "--no-header",
        "--no-summary",
        "--disable-warnings",
        "--co",
        "--collect-only",
        "--setup-show",
        "--doctest-modules",
        "--pdb",
        "--trace",
    ]
)


def _is_test_path(config: Config, args: Sequence[str], index: int) -> bool:
    """Whether ``args[index]`` is a test path pytest would collect: it names a path and is
    not the value of an option before it. An option fastci does not know may take a value,
    so a path after one stays (any doubt means run more, never lose an option's value)."""
    arg = args[index]
    if arg.startswith("-") or not (config.workdir / arg.split("::", maxsplit=1)[0]).exists():
        return False
    before = args[index - 1] if index else ""
    return not before.startswith("-") or "=" in before or before in FLAGS


def merge_notes(store_path: Path | None, window: int, bundles: Iterable[Path]) -> list[str]:
    """Fold the recordings in these bundles into the store (None: no store); the merge's
    line on tests skipped as unaffected, if the shards ran --affected."""
    from fastci.affected.verdict import skipped_line

    bundles = list(bundles)
    if store_path is not None:
        save_recordings(store_path, window, read_bundle_files(bundles))
    skipped = skipped_line(bundles)
    return [] if skipped is None else [f"fastci: {skipped}"]


def save_recordings(store_path: Path, window: int, recordings: list[DepsData]) -> None:
    from fastci.affected import storage
    from fastci.plan.store import TimingsStore

    if not recordings:
        return
    try:
        with TimingsStore(store_path, window=window) as store:
            storage.save(store, recordings)
    except (FastciError, OSError, sqlite3.Error) as e:  # the store is a cache: never the run
        print(f"fastci: warning: dependencies not recorded: {e}", file=sys.stderr)
