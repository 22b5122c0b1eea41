"""How pytest stops a run while collecting: a collection error stops it with "Interrupted: N
errors during collection" and exit code 2 (unless --continue-on-collection-errors); an
exception in a hook is an INTERNALERROR, exit code 3."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

from fastci.execute.ledger import PoolResult
from fastci.model import TestResult
from fastci.plan.collection_errors import early_collection_errors
from fastci.plan.inventory import Inventory


def interruption(errors: int) -> str:
    """pytest's line for a run stopped by collection errors."""
    return f"Interrupted: {errors} error{'s' if errors != 1 else ''} during collection"


def stops_on_collection_errors(inventory: Inventory) -> bool:
    return not inventory.settings.continue_on_collection_errors


def collection_errors(results: Iterable[TestResult]) -> int:
    """How many files failed to import (a whole file's error, not a test's)."""
    return sum(1 for r in results if not r.is_test and r.outcome == "error")


def internal_error(log: str) -> str | None:
    """pytest's INTERNALERROR lines in a worker's output, if it reported one."""
    lines = [line for line in log.splitlines() if line.startswith("INTERNALERROR>")]
    return "\n".join(lines) if lines else None


def stop_notes(pool: PoolResult) -> list[str]:
    """What pytest would print about how collection stopped the run, for the summary."""
    notes = []
    if pool.internal_error:
        notes.append(pool.internal_error)
    if pool.collection_stop:
        notes.append(f"!!! {pool.collection_stop} !!!")
    return notes


def early_errors(
    inventory: Inventory, when: float, cache: Path | None = None
) -> tuple[Inventory, list[TestResult]]:
    """The inventory without the files found broken before anything runs, and their errors;
    ``cache`` remembers which files compiled (fastci.plan.compiled)."""
    found = early_collection_errors(
        Path(inventory.rootdir), inventory.files, inventory.settings.import_mode, cache
    )
    if not found:
        return inventory, []
    broken = {file for file, _ in found}
    kept = dataclasses.replace(
        inventory,
        files=tuple(f for f in inventory.files if f.path not in broken),
        items=None
        if inventory.items is None
        else tuple(i for i in inventory.items if i.file not in broken),
    )
    results = [
        TestResult(id=file, file=file, outcome="error", longrepr=text, start=when, stop=when)
        for file, text in found
    ]
    return kept, results
