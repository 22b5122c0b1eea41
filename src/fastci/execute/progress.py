"""What a run shows as it goes: pytest's terminal options, and the live progress listener."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from fastci.execute.ledger import Listener
from fastci.execute.pool import Pool
from fastci.plan.costs import predicted_wall
from fastci.plan.inventory import Inventory, PytestSettings
from fastci.plan.planner import Plan, Unit
from fastci.report.terminal import TerminalOptions


def terminal_options(settings: PytestSettings) -> TerminalOptions:
    """What the user's pytest options (-v, -q, -r, --durations) ask of the terminal."""
    return TerminalOptions(
        settings.verbosity,
        settings.reportchars,
        settings.durations,
        settings.durations_min,
        show_warnings=not settings.disable_warnings,
        fold_skipped=settings.fold_skipped,
    )


def progress_for(
    inventory: Inventory, plan: Plan, units: Sequence[Unit], pool: Pool
) -> ListenerFactory:
    """The live progress, showing what the user's pytest options ask for: pytest's header
    from the pool's first ready worker, -v lines, the plan's predicted wall time."""
    from fastci.report.progress import Forecast, Progress

    known = all(u.tests is not None for u in units)
    return functools.partial(
        Progress,
        terminal=terminal_options(inventory.settings),
        total_tests=sum(len(u.tests or ()) for u in units) if known else 0,
        header=lambda: pool.result.header,
        forecast=Forecast(predicted_wall(plan, units), plan.rough),
    )


# Makes the listener once the plan is known: (units, predicted seconds of work, jobs).
ListenerFactory = Callable[[int, float, int], Listener]
