"""The HTML report: one self-contained page (inline CSS, script and data, nothing fetched)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from importlib import resources

from fastci import __version__
from fastci.model import TestResult
from fastci.report.costs import render_phases, render_plan_misses
from fastci.report.overview import Overview, ShardView
from fastci.report.summary import VERDICT_ORDER
from fastci.report.timeline import render_timeline, seconds_text

MAX_FAILURES = 200
MAX_TRACEBACK_CHARS = 20_000
LEAST_COVERED_SHOWN = 12


def render_html(overview: Overview) -> str:
    body = [
        _header(overview),
        _problems(overview),
        _card(
            "timeline",
            "Where the time went",
            "One row per worker, one bar per unit, every shard from its own start. "
            "The dashed line marks each shard's planned time; hover a bar for its details.",
            _legend() + render_timeline(overview),
        ),
        '<div class="grid">',
        _card("shards", "Planned vs actual per shard", "", _shard_bars(overview)),
        _card("coverage", "Coverage", "", _coverage(overview)),
        "</div>",
        _card(
            "phases",
            "Fixed costs per phase",
            "Where each shard's time went before its first test and after its last one, from "
            "the process's start to its results written.",
            render_phases(overview),
        ),
        _card(
            "plan-misses",
            "Where the plan and the run parted",
            "The units whose time differed most from the plan's prediction for them.",
            render_plan_misses(overview),
        ),
        _failures(overview),
        '<div class="grid">',
        _card("slowest-tests", "Slowest tests", "", _slowest_tests(overview)),
        _card("slowest-files", "Slowest files", "", _slowest_files(overview)),
        "</div>",
        _footer(overview),
    ]
    title = f"fastci · {overview.title} · {overview.verdict}"
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        # Nothing may be fetched: no network, and no inline-script injection from test output.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
        f"<title>{escape(title)}</title>\n<style>\n{_asset('report.css')}</style>\n</head>\n"
        f'<body class="verdict-{overview.verdict}">\n<main>\n'
        + "\n".join(part for part in body if part)
        + f'\n</main>\n<div id="tip" role="tooltip" hidden></div>\n'
        f"<script>\n{_asset('report.js')}</script>\n</body>\n</html>\n"
    )


def _asset(name: str) -> str:
    return (resources.files("fastci.report") / "assets" / name).read_text(encoding="utf-8")


def _card(anchor: str, title: str, intro: str, content: str) -> str:
    lead = f'<p class="intro">{escape(intro)}</p>' if intro else ""
    return f'<section class="card" id="{anchor}"><h2>{escape(title)}</h2>{lead}{content}</section>'


def _header(overview: Overview) -> str:
    counts = overview.counts
    facts = [
        (
            str(counts.get(outcome, 0)),
            outcome,
            f"fact-{outcome}" if counts.get(outcome) else "fact-zero",
        )
        for outcome in ("passed", *(o for o in VERDICT_ORDER if o != "passed"))
        if counts.get(outcome) or outcome in ("passed", "failed")
    ]
    facts.append((seconds_text(overview.makespan), "makespan", ""))
    facts.append((str(len(overview.shards)), "shards", ""))
    if overview.coverage is not None:
        facts.append((overview.coverage.shown, "coverage", ""))
    cells = "".join(
        f'<div class="fact {css}"><b>{escape(value)}</b><span>{escape(name)}</span></div>'
        for value, name, css in facts
    )
    tail = overview.tail
    tail_text = ""
    if tail is not None:
        tail_text = (
            f" · tail: <b>{escape(tail.label)}</b> at {escape(seconds_text(tail.actual))}, "
            f"lower bound {escape(seconds_text(overview.lower_bound))}"
        )
    return (
        '<header class="top">'
        f'<div class="brand">fastci report</div><h1>{escape(overview.title)} '
        f'<span class="pill pill-{overview.verdict}">{escape(overview.verdict)}</span></h1>'
        f'<p class="sub">{len(overview.results)} tests in {len(overview.shards)} '
        f"shard{'s' if len(overview.shards) != 1 else ''}, "
        f"{escape(seconds_text(overview.test_seconds))} of test time{tail_text}</p>"
        f'<div class="facts">{cells}</div></header>'
    )


def _problems(overview: Overview) -> str:
    if not overview.problems and not overview.notes:
        return ""
    items = "".join(f'<li class="problem">{escape(p.message)}</li>' for p in overview.problems)
    items += "".join(f'<li class="note">{escape(n)}</li>' for n in overview.notes)
    return f'<section class="problems" id="problems"><ul>{items}</ul></section>'


def _legend() -> str:
    keys = [
        ("key-ok", "unit passed"),
        ("key-fail", "unit with failures"),
        ("key-proc", "worker process alive"),
        ("key-startup", "startup / wrap-up"),
        ("key-plan", "planned time"),
        ("key-bound", "lower bound"),
    ]
    spans = "".join(f'<span class="key {css}"><i></i>{escape(text)}</span>' for css, text in keys)
    return f'<div class="legend">{spans}</div>'


def _shard_bars(overview: Overview) -> str:
    if not overview.shards:
        return '<p class="empty">No shards.</p>'
    scale = max([s.actual for s in overview.shards] + [s.predicted for s in overview.shards])
    rows = "".join(_shard_row(shard, scale) for shard in overview.shards)
    return (
        f'<div class="pva">{rows}</div><p class="note-line">makespan '
        f"<b>{escape(seconds_text(overview.makespan))}</b>, lower bound "
        f"{escape(seconds_text(overview.lower_bound))}; the plan expected "
        f"{escape(seconds_text(overview.planned_makespan))} (its lower bound "
        f"{escape(seconds_text(overview.planned_lower_bound))})</p>"
    )


def _shard_row(shard: ShardView, scale: float) -> str:
    deviation = "" if shard.deviation is None else f" {shard.deviation:+.0%}"
    tail = ' <span class="tag tag-tail">tail</span>' if shard.is_tail else ""
    bars = [
        ("pva-plan", shard.predicted, f"planned {seconds_text(shard.predicted)}"),
        ("pva-actual", shard.actual, f"actual {seconds_text(shard.actual)}{deviation}"),
    ]
    return (
        f'<div class="pva-row status-{shard.status}{" is-tail" if shard.is_tail else ""}" '
        f'data-shard="{escape(shard.label)}">'
        f'<div class="pva-label">{escape(shard.label)}{tail}<small>{shard.tests} tests · '
        f"{shard.units} units · {escape(shard.status)}</small></div><div>"
        + "".join(
            _meter_bar(css, value / scale if scale > 0 else 0, text) for css, value, text in bars
        )
        + "</div></div>"
    )


# A meter bar this full or more holds its label inside; a shorter one shows it just after.
LABEL_INSIDE_FROM = 0.45


def _meter_bar(css: str, fraction: float, text: str) -> str:
    """A bar of ``fraction`` of the width; its label inside when it fits, else just after."""
    width = f"{fraction * 100:.2f}%"
    bar = f'<i class="{css}" style="width:{width}">'
    if fraction >= LABEL_INSIDE_FROM:
        return f'<div class="pva-track">{bar}{escape(text)}</i></div>'
    return f'<div class="pva-track">{bar}</i><span style="left:{width}">{escape(text)}</span></div>'


def _coverage(overview: Overview) -> str:
    coverage = overview.coverage
    if coverage is None:
        return '<p class="empty">No shard measured coverage (run the shards with --cov=PKG).</p>'
    threshold = ""
    if coverage.fail_under > 0:
        verdict = "under" if coverage.threshold_problem is not None else "meets"
        threshold = (
            f'<span class="threshold threshold-{verdict}">{verdict} the required '
            f"{coverage.fail_under:g}%</span>"
            f'<i class="cov-mark" style="left:{min(100.0, coverage.fail_under):.2f}%"></i>'
        )
    least = sorted((f for f in coverage.files if f.statements), key=lambda f: (f.percent, f.path))
    rows = "".join(
        f'<tr><td class="name">{escape(f.path)}</td><td class="num">{f.statements}</td>'
        f'<td class="num">{f.missing}</td><td class="meter-cell">'
        f'<div class="meter"><i style="width:{f.percent:.2f}%"></i></div>'
        f"<span>{f.percent:.{coverage.precision}f}%</span></td></tr>"
        for f in least[:LEAST_COVERED_SHOWN]
    )
    table = (
        '<table class="data"><thead><tr><th>least covered files</th><th>stmts</th>'
        f"<th>miss</th><th>covered</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows
        else ""
    )
    return (
        f'<div class="cov-total"><b>{escape(coverage.shown)}</b><span>of '
        f"{coverage.statements} statements, {coverage.missing} missed</span>{threshold}</div>"
        f'<div class="cov-bar"><i style="width:{coverage.percent:.2f}%"></i></div>{table}'
    )


def _failures(overview: Overview) -> str:
    failed = [
        (shard, r)
        for shard in overview.shards
        for r in shard.results
        if r.failed or r.outcome == "flaky"  # a flaky test shows its failing attempt
    ]
    if not failed:
        return ""
    items = "".join(_failure(shard, result) for shard, result in failed[:MAX_FAILURES])
    more = ""
    if len(failed) > MAX_FAILURES:
        more = f'<p class="note-line">…and {len(failed) - MAX_FAILURES} more in the JUnit XML.</p>'
    return _card("failures", f"Failures ({len(failed)})", "", f"{items}{more}")


def _failure(shard: ShardView, result: TestResult) -> str:
    text = (result.longrepr or result.outcome).rstrip()
    if len(text) > MAX_TRACEBACK_CHARS:
        text = "…\n" + text[-MAX_TRACEBACK_CHARS:]
    captured = "".join(
        f'<h4>captured {name}</h4><pre class="captured">{escape(output.rstrip())}</pre>'
        for name, output in (("stdout", result.stdout), ("stderr", result.stderr))
        if output
    )
    seconds = result.setup + result.call + result.teardown
    return (
        f'<details class="failure" open data-test="{escape(result.id)}"><summary>'
        f'<span class="outcome outcome-{escape(result.outcome)}">{escape(result.outcome)}</span>'
        f'<code>{escape(result.id)}</code><span class="where">{escape(shard.label)} · '
        f"{escape(result.worker or '?')} · {escape(seconds_text(seconds))}</span></summary>"
        f"<pre>{escape(text)}</pre>{captured}</details>"
    )


def _slowest_tests(overview: Overview) -> str:
    tests = overview.slowest_tests
    return _ranked(
        (
            (r.id, r.setup + r.call + r.teardown, "" if r.outcome == "passed" else r.outcome)
            for r in tests
        ),
        "test",
        "time",
    )


def _slowest_files(overview: Overview) -> str:
    files = overview.slowest_files
    return _ranked(((f.file, f.seconds, f"{f.tests} tests") for f in files), "file", "time")


def _ranked(rows: Iterable[tuple[str, float, str]], what: str, measure: str) -> str:
    ranked: Sequence[tuple[str, float, str]] = list(rows)
    if not ranked:
        return '<p class="empty">Nothing ran.</p>'
    top = max(seconds for _, seconds, _ in ranked) or 1.0
    body = "".join(
        f'<tr><td class="name" title="{escape(name)}">{escape(name)}'
        f'<small>{escape(extra)}</small></td><td class="meter-cell">'
        f'<div class="meter meter-time"><i style="width:{seconds / top * 100:.2f}%"></i></div>'
        f"<span>{escape(seconds_text(seconds))}</span></td></tr>"
        for name, seconds, extra in ranked
    )
    return (
        f'<table class="data"><thead><tr><th>{escape(what)}</th><th>{escape(measure)}</th></tr>'
        f"</thead><tbody>{body}</tbody></table>"
    )


def _footer(overview: Overview) -> str:
    machines = len({s.host for s in overview.shards})
    bundles = len(overview.shards)
    return (
        f"<footer>fastci {escape(__version__)} · {bundles} bundle{'s' if bundles != 1 else ''} "
        f"from {machines} machine{'s' if machines != 1 else ''} · this page needs no network"
        "</footer>"
    )
