"""Where recording meets ``fastci run`` and ``fastci merge``: one call each."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from fastci.affected.data import DepsData, read_bundle_files, write_bundle_file
from fastci.errors import FastciError, UsageError
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
    from fastci.affected.verdict import BUNDLE_NOTE, write_note

    config = request.config
    enabled = config.record_deps and request.revision is not None
    with recording_directory(enabled, config.root) as directory:
        outcome = run_tests(request)
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
        save_recordings(config.store_path, [data])
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
    except UsageError as e:  # no git, store or data: any doubt means run
        print(f"fastci: --affected: {e.message}; running every test", file=sys.stderr)
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
    options = [a for a in pytest_args if a.startswith("-") or not _names_a_path(config, a)]
    return [*options, *selection.selected], note(selection)


def _names_a_path(config: Config, arg: str) -> bool:
    return (config.workdir / arg.split("::", maxsplit=1)[0]).exists()


def merge_notes(store_path: Path | None, bundles: Iterable[Path]) -> list[str]:
    """Fold the recordings in these bundles into the store (None: no store); the merge's
    line on tests skipped as unaffected, if the shards ran --affected."""
    from fastci.affected.verdict import skipped_line

    bundles = list(bundles)
    if store_path is not None:
        save_recordings(store_path, read_bundle_files(bundles))
    skipped = skipped_line(bundles)
    return [] if skipped is None else [f"fastci: {skipped}"]


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
