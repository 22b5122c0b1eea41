"""The terminal summary after a run, as pytest's: failures, warnings, durations, a verdict."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from fastci.model import TestResult, WarningRecord
from fastci.report.progress import paint
from fastci.report.terminal import (
    DEFAULT_TERMINAL,
    TerminalOptions,
    durations_lines,
    folded_skips,
    reason,
    rule,
    unique_warnings,
    warnings_summary,
    with_crash,
)

if TYPE_CHECKING:
    from fastci.report.overview import Overview

# pytest's order for the verdict line, then fastci's own "crashed" and "flaky".
VERDICT_ORDER = (
    "failed", "passed", "skipped", "xfailed", "xpassed", "warnings", "error", "subtests passed",
    "crashed", "flaky",
)  # fmt: skip


def verdict_line(
    counts: Mapping[str, int], seconds: float, deselected: int = 0, warnings: int = 0
) -> str:
    parts = []
    for outcome in VERDICT_ORDER:
        n = warnings if outcome == "warnings" else counts.get(outcome, 0)
        if n:
            noun = outcome[:-1] if outcome == "warnings" and n == 1 else outcome
            noun = "errors" if outcome == "error" and n != 1 else noun
            parts.append(f"{n} {noun}")
        if outcome == "skipped" and deselected:  # where pytest puts it
            parts.append(f"{deselected} deselected")
    text = ", ".join(parts) if parts else "no tests ran"
    return f"{text} in {seconds:.2f}s"


def _error_title(result: TestResult) -> str:
    """pytest's heading for an error section: where the error happened."""
    if not result.is_test:
        return f"ERROR collecting {result.id}"
    return f"ERROR at setup of {result.id}"


def failure_sections(results: Iterable[TestResult]) -> list[str]:
    """pytest's ERRORS (setup, teardown, collection) and FAILURES sections, then fastci's
    FLAKY: tests that failed, then passed when run again."""
    results = list(results)
    errors = [(_error_title(r), r.longrepr, r) for r in results if r.outcome == "error"] + [
        (f"ERROR at teardown of {r.id}", r.teardown_error, r)
        for r in results
        if r.teardown_error is not None
    ]
    failures = [(f"{r.id} {label}", text, r) for r in results for label, text in r.subtests()] + [
        (r.id, r.longrepr, r) for r in results if r.outcome in ("failed", "crashed")
    ]
    flaky = [(r.id, r.longrepr, r) for r in results if r.outcome == "flaky"]
    lines: list[str] = []
    for heading, sections in (
        ("ERRORS", errors),
        ("FAILURES", failures),
        ("FLAKY (failed, then passed when run again)", flaky),
    ):
        if sections:
            lines.append(rule(heading))
        for title, text, result in sections:
            lines.append(rule(f"{title} [{result.worker or '?'}]", "_"))
            lines.append((text or result.outcome).rstrip())
            for name, output in (("stdout", result.stdout), ("stderr", result.stderr)):
                if output:
                    lines.append(rule(f"captured {name}", "-"))
                    lines.append(output.rstrip())
    return lines


# The outcomes each of pytest's -r letters lists, and the word its short summary uses.
_OUTCOMES_OF = {
    "f": ("failed",), "E": ("error", "crashed"), "s": ("skipped",), "x": ("xfailed",),
    "X": ("xpassed",), "p": ("passed",), "P": ("passed",),
}  # fmt: skip
_SUMMARY_WORD = {"xfailed": "XFAIL", "xpassed": "XPASS"}


def report_letters(reportchars: str) -> str:
    """pytest's -r value as the outcome letters it lists: 'a', 'A' and 'N' expanded."""
    letters = ""
    for given in reportchars:
        char = {"F": "f", "S": "s"}.get(given, given)  # pytest's old spellings
        if char == "a":
            letters = "sxXEf"
        elif char == "A":
            letters = "PpsxXEf"
        elif char == "N":
            letters = ""
        elif char not in letters:
            letters += char
    return letters


def _summary_line(word: str, result: TestResult, options: TerminalOptions) -> str:
    """One line of the short summary: a failure's crash message, or why it skipped or xfailed."""
    line = f"{word} {result.id}"
    if word == "ERROR" and result.outcome not in ("error", "crashed"):  # its teardown failed
        return with_crash(line, result.teardown_crash, options)
    if result.outcome in ("failed", "error"):
        return with_crash(line, result.crash, options)
    why = reason(result)
    return f"{line} - {why}" if why else line


def short_summary(
    results: Iterable[TestResult], options: TerminalOptions = DEFAULT_TERMINAL
) -> list[str]:
    """pytest's short test summary: a line per test whose outcome ``-r`` asks for, in its order."""
    lines: list[str] = []
    listed: set[str] = set()
    for letter in report_letters(options.reportchars):
        for outcome in _OUTCOMES_OF.get(letter, ()):
            if outcome in listed:
                continue
            listed.add(outcome)
            word = _SUMMARY_WORD.get(outcome, outcome.upper())
            if outcome == "skipped" and options.fold_skipped:
                lines += folded_skips(results)
                continue
            for r in results:
                if outcome == "failed":  # each failed subtest first, as pytest lists them
                    lines += [f"SUBFAILED{label} {r.id}" for label, _ in r.subtests()]
                if outcome == r.outcome or (outcome == "error" and r.teardown_error is not None):
                    lines.append(_summary_line(word, r, options))
    return [rule("short test summary info"), *lines] if lines else []


@dataclasses.dataclass(frozen=True)
class Summary:
    """Everything the closing summary of a run or a merge shows."""

    results: Sequence[TestResult]
    counts: Mapping[str, int]
    seconds: float
    timing_line: str
    coverage_report: str = ""
    notes: Sequence[str] = ()
    problems: Sequence[str] = ()  # one line each, just before the verdict: they turn it red
    deselected: int = 0
    terminal: TerminalOptions = DEFAULT_TERMINAL
    quarantined: Collection[str] = ()  # tests that ran in quarantine: their failures fail nothing
    warnings: Sequence[WarningRecord] = ()  # every worker's, duplicates and all

    def render(self, color: bool = False) -> str:
        lines = failure_sections(self.results)
        warned = unique_warnings(self.warnings)
        lines += warnings_summary(warned) if self.terminal.show_warnings else []
        lines += durations_lines(self.results, self.terminal)
        if self.coverage_report:
            lines += [rule("coverage", "-"), self.coverage_report.rstrip()]
        lines.append(self.timing_line)
        lines += list(self.notes)
        lines += short_summary(self.results, self.terminal)
        lines += [paint(f"fastci: {problem}", "red", color) for problem in self.problems]
        spared = set(self.quarantined)
        failed = any(r.failed and r.id not in spared for r in self.results) or bool(self.problems)
        verdict = verdict_line(self.counts, self.seconds, self.deselected, len(warned))
        if spared:
            bad = [r for r in self.results if r.id in spared and r.outcome != "passed"]
            lines += [f"quarantined, failing nothing: {r.outcome.upper()} {r.id}" for r in bad]
            verdict += f"; {len(spared)} quarantined, {len(bad)} of them not passed"
        if self.problems:  # never a line that reads like a success, whatever the counts say
            count = len(self.problems)
            verdict += f"; not a success: {count} problem{'s' * (count > 1)} above"
        quiet = self.terminal.verbosity
        if quiet < -1 and not self.problems:  # -qq: pytest prints no final line
            return "\n".join(lines)
        verdict = rule(verdict) if quiet >= 0 else verdict  # -q: pytest's line without its rule
        lines.append(paint(verdict, "red" if failed else "green", color))  # always last
        return "\n".join(lines)


def shard_lines(overview: Overview) -> list[str]:
    """Per shard: outcome, size, planned vs actual seconds; then the makespan and its bound."""
    if not overview.shards:
        return []
    lines = [rule("shards: planned vs actual", "-")]
    for shard in overview.shards:
        deviation = "" if shard.deviation is None else f"{shard.deviation:+6.0%}"
        lines.append(
            f"{shard.label:<12} {shard.status:<11} {shard.tests:>5} tests {shard.units:>4} units "
            f"{len(shard.lanes):>3} workers   planned {shard.predicted:7.2f}s   "
            f"actual {shard.actual:7.2f}s {deviation}{'  <- tail' if shard.is_tail else ''}"
        )
    lines.append(makespan_line(overview))
    return lines


def makespan_line(overview: Overview) -> str:
    tail = overview.tail
    where = f" ({tail.label} was the tail)" if tail is not None else ""
    return (
        f"makespan {overview.makespan:.2f}s{where}, lower bound {overview.lower_bound:.2f}s; "
        f"planned {overview.planned_makespan:.2f}s, lower bound "
        f"{overview.planned_lower_bound:.2f}s"
    )
