"""The merged run as GitHub-flavoured Markdown, for $GITHUB_STEP_SUMMARY and summary.md."""

from __future__ import annotations

import html
import re

from fastci.model import TestResult
from fastci.report.overview import Overview
from fastci.report.summary import verdict_line

MAX_FAILURES = 30  # a step summary is capped at 1 MiB; the JUnit file has every failure
MAX_TRACEBACK_CHARS = 6000
SLOWEST_SHOWN = 10
LEAST_COVERED_SHOWN = 10
HEADLINE_MARK = {"passed": "✅", "failed": "❌", "incomplete": "⚠️"}
STATUS_MARK = {"passed": "✅", "failed": "❌", "interrupted": "⚠️"}


def render_markdown(overview: Overview) -> str:
    lines = _headline(overview)
    lines += _shards(overview)
    lines += _failures(overview)
    lines += _slowest(overview)
    lines += _coverage(overview)
    return "\n".join(lines).rstrip() + "\n"


def _headline(overview: Overview) -> list[str]:
    verdict = overview.verdict
    shards = len(overview.shards)
    lines = [
        f"## {HEADLINE_MARK[verdict]} fastci: {verdict} — "
        f"{verdict_line(overview.counts, overview.makespan)} "
        f"({shards} shard{'s' if shards != 1 else ''})",
        "",
    ]
    facts = [
        f"makespan **{overview.makespan:.2f} s** (lower bound {overview.lower_bound:.2f} s)",
        f"test time {overview.test_seconds:.2f} s",
    ]
    if overview.coverage is not None:
        facts.append(f"coverage **{overview.coverage.shown}**")
    lines += [" · ".join(facts), ""]
    if overview.problems:
        lines += [f"- **{_escape(p.message)}**" for p in overview.problems] + [""]
    if overview.notes:
        lines += [f"- {_escape(note)}" for note in overview.notes] + [""]
    return lines


def _shards(overview: Overview) -> list[str]:
    if not overview.shards:
        return []
    lines = [
        "| shard | status | tests | units | workers | planned | actual | vs plan |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for shard in overview.shards:
        deviation = "" if shard.deviation is None else f"{shard.deviation:+.0%}"
        label = f"**{shard.label}** (tail)" if shard.is_tail else shard.label
        lines.append(
            f"| {label} | {STATUS_MARK[shard.status]} {shard.status} | {shard.tests} | "
            f"{shard.units} | {len(shard.lanes)} | {shard.predicted:.2f} s | "
            f"{shard.actual:.2f} s | {deviation} |"
        )
    return [*lines, ""]


def _failures(overview: Overview) -> list[str]:
    failures = [(s.label, r) for s in overview.shards for r in s.results if r.failed]
    if not failures:
        return []
    lines = [f"### Failures ({len(failures)})", ""]
    for shard, result in failures[:MAX_FAILURES]:
        lines += _failure(shard, result)
    if len(failures) > MAX_FAILURES:
        lines += [f"…and {len(failures) - MAX_FAILURES} more in the merged JUnit XML.", ""]
    return lines


def _failure(shard: str, result: TestResult) -> list[str]:
    text = (result.longrepr or result.outcome).rstrip()
    if len(text) > MAX_TRACEBACK_CHARS:
        text = "…\n" + text[-MAX_TRACEBACK_CHARS:]
    fence = "`" * max(3, _longest_backtick_run(text) + 1)
    worker = f" on {shard}, {result.worker}" if result.worker else f" on {shard}"
    return [
        "<details open>",
        f"<summary><b>{result.outcome.upper()}</b> <code>{html.escape(result.id)}</code>{worker}"
        "</summary>",
        "",
        f"{fence}text",
        text,
        fence,
        "",
        "</details>",
        "",
    ]


def _slowest(overview: Overview) -> list[str]:
    tests = overview.slowest_tests[:SLOWEST_SHOWN]
    if not tests:
        return []
    lines = ["### Slowest tests", "", "| seconds | test |", "|--:|---|"]
    for result in tests:
        seconds = result.setup + result.call + result.teardown
        lines.append(f"| {seconds:.2f} | `{_cell(result.id)}` |")
    return [*lines, ""]


def _coverage(overview: Overview) -> list[str]:
    coverage = overview.coverage
    if coverage is None:
        return []
    threshold = f", required {coverage.fail_under:g}%" if coverage.fail_under > 0 else ""
    lines = [
        "### Coverage",
        "",
        f"**{coverage.shown}** of {coverage.statements} statements covered "
        f"({coverage.missing} missed{threshold}).",
        "",
    ]
    least = sorted((f for f in coverage.files if f.statements), key=lambda f: (f.percent, f.path))
    if least:
        lines += ["| file | statements | missed | covered |", "|---|--:|--:|--:|"]
        for file in least[:LEAST_COVERED_SHOWN]:
            lines.append(
                f"| `{_cell(file.path)}` | {file.statements} | {file.missing} | "
                f"{file.percent:.{coverage.precision}f}% |"
            )
        lines.append("")
    return lines


def _longest_backtick_run(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)


def _cell(text: str) -> str:
    """Text for a table cell inside backticks: only the column separator needs escaping."""
    return text.replace("|", "\\|")


def _escape(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>|])", r"\\\1", text)
