"""The HTML report's views of what a run paid besides its tests, and of where the plan missed:
fixed costs per phase and shard, and units whose actual time parted most from the predicted."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from fastci.report.overview import Overview, ShardView
from fastci.report.timeline import seconds_text
from fastci.results.phases import STARTUP, TESTS, WRAPUP

PLAN_MISSES_SHOWN = 15
MIN_PREDICTED_FOR_SHARE = 0.1  # seconds


def render_phases(overview: Overview) -> str:
    """One row per phase, one column per shard: seconds spent before, around and after tests."""
    shards = [s for s in overview.shards if s.phases]
    if not shards:
        return '<p class="empty">No shard recorded its phases (bundles of an older fastci).</p>'
    names: dict[str, str] = {}  # phase -> part, in the order phases happen
    for shard in shards:
        for phase in shard.phases:
            names.setdefault(phase.name, phase.part)
    head = "".join(f"<th>{escape(s.label)}</th>" for s in shards)
    rows = [_row(name, part, shards) for name, part in names.items()]
    rows.insert(
        sum(1 for p in names.values() if p == STARTUP),
        _total("start-up to the first test", STARTUP, shards),
    )
    rows.append(_total("wrap-up after the last test", WRAPUP, shards))
    return (
        f'<table class="data phases"><thead><tr><th>phase</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _seconds(shard: ShardView, name: str) -> float | None:
    found = [p.seconds for p in shard.phases if p.name == name]
    return sum(found) if found else None


def _cell(seconds: float | None) -> str:
    return f'<td class="num">{"&ndash;" if seconds is None else escape(seconds_text(seconds))}</td>'


def _row(name: str, part: str, shards: Sequence[ShardView]) -> str:
    css = "phase-tests" if part == TESTS else f"phase-{part}"
    cells = "".join(_cell(_seconds(s, name)) for s in shards)
    label = f"{escape(name)}<small>{escape(part)}</small>"
    return f'<tr class="{css}"><td class="name">{label}</td>{cells}</tr>'


def _total(label: str, part: str, shards: Sequence[ShardView]) -> str:
    cells = "".join(_cell(sum(p.seconds for p in s.phases if p.part == part)) for s in shards)
    return f'<tr class="phase-total"><td class="name"><b>{escape(label)}</b></td>{cells}</tr>'


def render_plan_misses(overview: Overview) -> str:
    """The units whose actual time differs most from what the plan predicted for them."""
    units = [
        (shard.label, bar.unit, bar.predicted, bar.seconds)
        for shard in overview.shards
        for lane in shard.lanes
        for bar in lane.bars
    ]
    if not units:
        return '<p class="empty">Nothing ran.</p>'
    units.sort(key=lambda u: (-abs(u[3] - u[2]), u[1]))
    body = "".join(
        f'<tr><td class="name" title="{escape(unit)}">{escape(unit)}<small>{escape(label)}</small>'
        f'</td>{_cell(predicted)}{_cell(actual)}<td class="num">{_difference(predicted, actual)}'
        "</td></tr>"
        for label, unit, predicted, actual in units[:PLAN_MISSES_SHOWN]
    )
    return (
        '<table class="data plan-misses"><thead><tr><th>unit</th><th>predicted</th>'
        f"<th>actual</th><th>off by</th></tr></thead><tbody>{body}</tbody></table>"
    )


def _difference(predicted: float, actual: float) -> str:
    change = actual - predicted
    sign = "+" if change >= 0 else "&minus;"
    # a share of a prediction under a tenth of a second says more about rounding than the plan
    relative = f" ({change / predicted:+.0%})" if predicted >= MIN_PREDICTED_FOR_SHARE else ""
    return sign + escape(f"{seconds_text(abs(change))}{relative}")
