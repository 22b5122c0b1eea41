"""What an ``--affected`` run tells ``fastci merge``: how many tests it skipped, by whose data.

Each bundle of an affected run holds ``affected.json``; a run that selected nothing writes
no bundle, only ``fastci-affected-nothing.json`` in its results directory, so the merge can
pass a change that affects no test instead of failing for missing shards.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from fastci.affected.select import Selection
from fastci.files import write_atomically

BUNDLE_NOTE = "affected.json"
NOTHING_MARKER = "fastci-affected-nothing.json"


def note(selection: Selection) -> dict[str, object]:
    return {
        "data_commit": selection.data_commit,
        "selected": len(selection.selected),
        "skipped": len(selection.skipped),
    }


def write_note(directory: Path, name: str, summary: dict[str, object]) -> None:
    write_atomically(directory / name, json.dumps(summary))


def _read(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def skipped_line(bundles: Iterable[Path]) -> str | None:
    """The merge's line on tests skipped as unaffected, when the shards ran --affected."""
    for bundle in bundles:
        data = _read(bundle / BUNDLE_NOTE)
        if data is not None:
            return (
                f"{data.get('skipped')} tests skipped as unaffected, by the dependency data of "
                f"commit {str(data.get('data_commit'))[:12]}"
            )
    return None


def nothing_affected(dirs: Iterable[Path]) -> str | None:
    """The verdict when every shard found no affected test (no bundles, only markers)."""
    from fastci.merge.bundles import bundle_dirs

    dirs = list(dirs)
    if any(next(bundle_dirs(d), None) for d in dirs if d.is_dir()):  # any bundle at all
        return None
    for directory in dirs:
        for marker in sorted(directory.glob(f"**/{NOTHING_MARKER}")):
            data = _read(marker)
            if data is not None:
                return (
                    f"no test is affected by the changes since commit "
                    f"{str(data.get('data_commit'))[:12]}: all {data.get('skipped')} skipped"
                )
    return None
