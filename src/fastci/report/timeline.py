"""The timeline as HTML: a row per shard worker, a bar per unit, plan and tail marked.

Every shard is drawn from its own start (runners start at different moments), on one time
scale, so bars compare across shards. Positions are percentages of that scale, so the page
needs no script to draw and stays sharp at any width.
"""

from __future__ import annotations

import math
import posixpath
from html import escape

from fastci.report.overview import Bar, Lane, Overview, ShardView

LABEL_MIN_PERCENT = 7.0  # narrower bars carry no text; their tooltip names them
MAX_TICKS = 8


def render_timeline(overview: Overview) -> str:
    if not overview.shards:
        return '<p class="empty">No shard bundles to draw.</p>'
    scale = _scale(overview)
    parts = [
        '<div class="tl" role="figure" aria-label="timeline of every shard and worker">',
        _axis(scale),
        _gridlines(scale),
        '<div class="tl-shards">',
        *(_shard(shard, scale) for shard in overview.shards),
        "</div>",
        _guides(overview, scale),
        "</div>",
    ]
    return "\n".join(parts)


# Durations under these many seconds keep two decimals, then one; from two minutes, m:ss.
TWO_DECIMALS_BELOW = 10
ONE_DECIMAL_BELOW = 120


def seconds_text(value: float) -> str:
    if value < TWO_DECIMALS_BELOW:
        return f"{value:.2f} s"
    if value < ONE_DECIMAL_BELOW:
        return f"{value:.1f} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes}m {rest:02d}s"


def _scale(overview: Overview) -> float:
    longest = max(
        [overview.makespan, overview.lower_bound, *(s.predicted for s in overview.shards)]
    )
    return max(longest * 1.03, 0.001)


def _pct(value: float, scale: float) -> str:
    return f"{min(100.0, max(0.0, value / scale * 100)):.3f}%"


def _ticks(scale: float) -> list[float]:
    raw = scale / MAX_TICKS
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    count = int(scale // step)
    return [i * step for i in range(count + 1)]


def _axis(scale: float) -> str:
    ticks = "".join(
        f'<span class="tick" style="left:{_pct(t, scale)}">{escape(_tick_text(t))}</span>'
        for t in _ticks(scale)
    )
    return _in_track_column("tl-axis", "tl-ticks", ticks)


def _tick_text(value: float) -> str:
    if value >= ONE_DECIMAL_BELOW:
        return seconds_text(value)
    return f"{value:.10g} s" if value else "0"


def _gridlines(scale: float) -> str:
    lines = "".join(
        f'<i class="gridline" style="left:{_pct(t, scale)}"></i>' for t in _ticks(scale)[1:]
    )
    return _in_track_column("tl-underlay", "tl-grid", lines)


def _in_track_column(row_class: str, track_class: str, content: str) -> str:
    """A row laid out like a lane: an empty label column, then ``content`` over the tracks."""
    return (
        f'<div class="{row_class}"><div class="tl-gutter"></div>'
        f'<div class="{track_class}">{content}</div></div>'
    )


def _guides(overview: Overview, scale: float) -> str:
    """Lines across every shard: the makespan and the lower bound no split could beat."""
    guides = [
        ("guide-makespan", overview.makespan, f"makespan {seconds_text(overview.makespan)}"),
        ("guide-bound", overview.lower_bound, f"lower bound {seconds_text(overview.lower_bound)}"),
    ]
    lines = "".join(
        f'<div class="guide {css}" style="left:{_pct(at, scale)}"><span>{escape(text)}</span></div>'
        for css, at, text in guides
    )
    return _in_track_column("tl-overlay", "tl-guides", lines)


def _shard(shard: ShardView, scale: float) -> str:
    deviation = "" if shard.deviation is None else f" {shard.deviation:+.0%}"
    tail = '<span class="tag tag-tail">tail</span>' if shard.is_tail else ""
    head = (
        f'<div class="tl-head"><div class="tl-gutter"><span class="shard-name">'
        f"{escape(shard.label)}</span>{tail}<small>{escape(seconds_text(shard.actual))} · "
        f"plan {escape(seconds_text(shard.predicted))}{escape(deviation)}</small></div>"
        f'<div class="track track-head">{_shard_phases(shard, scale)}</div></div>'
    )
    lanes = "".join(_lane(shard, lane, scale) for lane in shard.lanes)
    plan = f'<div class="plan" style="left:{_pct(shard.predicted, scale)}"></div>'
    classes = f"tl-shard status-{shard.status}{' is-tail' if shard.is_tail else ''}"
    return (
        f'<div class="{classes}" data-shard="{escape(shard.label)}">{head}'
        f'<div class="tl-lanes">{lanes}{_in_track_column("tl-plan", "tl-plan-track", plan)}'
        "</div></div>"
    )


def _shard_phases(shard: ShardView, scale: float) -> str:
    """The shard's whole run as one thin bar: startup, running units, wrap-up."""
    first = shard.first_unit if shard.first_unit is not None else shard.actual
    last = shard.last_unit if shard.last_unit is not None else first
    phases = [
        ("phase-startup", 0.0, first, "startup: collect, plan, start workers"),
        ("phase-run", first, last, "running units"),
        ("phase-wrap", last, shard.actual, "wrap-up: timings, coverage, bundle"),
    ]
    parts = []
    for css, start, stop, tip in phases:
        if stop <= start:
            continue
        took = seconds_text(stop - start)
        name = tip.split(":")[0]
        label = (
            f"<em>{escape(name)} {escape(took)}</em>"
            if (stop - start) / scale * 100 >= LABEL_MIN_PERCENT * 1.6
            else ""
        )
        parts.append(
            f'<span class="phase {css}" style="left:{_pct(start, scale)};'
            f'width:{_pct(stop - start, scale)}" data-tip="{escape(tip)}: {escape(took)}">'
            f"{label}</span>"
        )
    return "".join(parts)


def _lane(shard: ShardView, lane: Lane, scale: float) -> str:
    processes = "".join(
        f'<span class="proc{" proc-crashed" if p.crashed else ""}" '
        f'style="left:{_pct(p.start, scale)};width:{_pct(p.stop - p.start, scale)}" '
        f'data-tip="{escape(lane.worker)} pid {p.pid}'
        f'{": " + escape(p.crashed) if p.crashed else ""}"></span>'
        for p in lane.processes
    )
    bars = "".join(_bar(shard, lane, bar, n, scale) for n, bar in enumerate(lane.bars))
    busy = f"{lane.busy / shard.actual:.0%} busy" if shard.actual > 0 else ""
    return (
        f'<div class="lane" data-shard="{escape(shard.label)}" data-worker="{escape(lane.worker)}">'
        f'<div class="tl-gutter lane-label">{escape(lane.worker)}<small>{busy}</small></div>'
        f'<div class="track">{processes}{bars}</div></div>'
    )


def _bar(shard: ShardView, lane: Lane, bar: Bar, n: int, scale: float) -> str:
    kind = "bar-fail" if bar.failed else "bar-ok"
    shade = " bar-alt" if n % 2 else ""
    width = bar.seconds / scale * 100
    label = f"<span>{escape(_short(bar.unit))}</span>" if width >= LABEL_MIN_PERCENT else ""
    failed = f", {bar.failed} failed" if bar.failed else ""
    tip = (
        f"{bar.unit}\n{bar.tests} tests{failed} · {seconds_text(bar.seconds)} "
        f"(planned {seconds_text(bar.predicted)})\n{shard.label} · {lane.worker} · "
        f"{seconds_text(bar.start)} → {seconds_text(bar.stop)}"
    )
    return (
        f'<div class="bar {kind}{shade}" data-unit="{escape(bar.unit)}" '
        f'style="left:{_pct(bar.start, scale)};width:{_pct(bar.seconds, scale)}" '
        f'data-tip="{escape(tip)}">{label}</div>'
    )


def _short(unit: str) -> str:
    """A unit's name as it fits on a bar: the file name, and any class or test after it."""
    path, _, rest = unit.partition("::")
    name = posixpath.basename(path)
    return f"{name}::{rest}" if rest else name
