"""pytest's own terminal lines, as pytest formats them: -v lines, --durations, warnings."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections import Counter
from collections.abc import Iterable, Sequence

from fastci.model import TestResult, WarningRecord

# The word pytest's verbose lines and short summary use for each outcome.
WORDS = {
    "passed": "PASSED", "failed": "FAILED", "skipped": "SKIPPED", "xfailed": "XFAIL",
    "xpassed": "XPASS", "error": "ERROR", "crashed": "CRASHED", "flaky": "FLAKY",
}  # fmt: skip
PROGRESS_WIDTH = len(" [100%]")
NARROWEST = 40  # a terminal narrower than this is taken as 80 wide, as pytest does
VERY_VERBOSE = 2  # -vv: whole messages and reasons, every duration
DURATIONS_MIN = 0.005  # pytest's --durations-min when not given, below -vv


@dataclasses.dataclass(frozen=True)
class TerminalOptions:
    """What the user's pytest options ask of the terminal report."""

    verbosity: int = 0  # -v: 1, -vv: 2, -q: -1
    reportchars: str = "fE"
    durations: int | None = None  # --durations=N; 0: all
    durations_min: float | None = None  # --durations-min; None: not given
    show_warnings: bool = True  # the warnings summary; --disable-warnings hides it
    fold_skipped: bool = True  # -rs lists skips folded by place and reason (--no-fold-skipped)

    @property
    def full_messages(self) -> bool:
        """Crash messages whole, as pytest prints them on CI or with -vv; else one trimmed line."""
        on_ci = any(os.environ.get(v) for v in ("CI", "BUILD_NUMBER"))
        return self.verbosity >= VERY_VERBOSE or on_ci


def width() -> int:
    """The terminal's width as pytest takes it: 80 when unknown or under 40."""
    columns = shutil.get_terminal_size((80, 24)).columns
    return columns if columns >= NARROWEST else 80


def rule(title: str, char: str = "=") -> str:
    """A line of ``char`` across the terminal around `` title ``, as pytest's ``sep``."""
    full = width()
    if title:
        side = char * max((full - len(title) - 2) // (2 * len(char)), 1)
        line = f"{side} {title} {side}"
    else:
        line = char * (full // len(char))
    return line + char if len(line) + len(char) <= full else line


def trimmed(template: str, message: str, available: int) -> str | None:
    """``template`` with the first line of ``message`` cut to fit ``available`` columns with
    an ellipsis; None when not even the ellipsis fits (pytest's ``_format_trimmed``)."""
    message = message.split("\n", 1)[0]
    ellipsis = "..."
    bare = len(template.format(""))
    if bare + len(ellipsis) > available:
        return None
    if bare + len(message) > available:
        message = message[: available - len(ellipsis) - bare] + ellipsis
    return template.format(message)


def with_crash(line: str, message: str | None, options: TerminalOptions) -> str:
    """A short summary line with pytest's " - MESSAGE" of the exception, when there is one."""
    if message is None:
        return line
    if options.full_messages:
        return f"{line} - {message}"
    return line + (trimmed(" - {}", message, width() - len(line)) or "")


def reason(result: TestResult) -> str:
    """Why a test skipped, xfailed or xpassed, as pytest's lines show it ("" when none)."""
    text = result.longrepr or ""
    if result.outcome in ("xfailed", "xpassed"):
        return text.removeprefix("xfail:").strip().removeprefix("reason: ")
    return text if result.outcome == "skipped" else ""


def folded_skips(results: Iterable[TestResult]) -> list[str]:
    """pytest's -rs lines: skips with one place and reason folded into one line that counts
    them, ``SKIPPED [3] tests/test_x.py:12: no network``."""
    folded: Counter[tuple[str, str]] = Counter()
    unplaced = []
    for result in results:
        if result.outcome != "skipped":
            continue
        if result.skipped_at is None:  # a whole file's skip, or a result from an older bundle
            unplaced.append(f"SKIPPED {result.id} - {reason(result)}")
        else:
            folded[result.skipped_at, reason(result)] += 1
    lines = [f"SKIPPED [{n}] {where}: {why}" for (where, why), n in folded.items()]
    return lines + unplaced


def verbose_lines(result: TestResult, done: int, total: int, options: TerminalOptions) -> list[str]:
    """pytest's -v lines for one finished test: ``id WORD (reason)   [ 42%]``; a teardown
    error adds an ERROR line of its own."""
    words = [WORDS.get(result.outcome, result.outcome.upper())]
    words += ["ERROR"] * (result.teardown_error is not None)
    lines = []
    for word in words:
        line = f"{result.id} {word}"
        why = reason(result) if word == words[0] else ""
        if why and options.verbosity < VERY_VERBOSE:
            line += trimmed(" ({})", why, width() - len(line) - PROGRESS_WIDTH - 1) or ""
        elif why:
            line += f" ({why})"
        if total:
            progress = f" [{min(100, done * 100 // total):3d}%]"
            line += progress.rjust(max(len(progress), width() - 1 - len(line)))
        lines.append(line)
    return lines


def _phases(result: TestResult) -> list[tuple[str, float]]:
    """The phases pytest reported for a test: no call after a setup that failed or skipped."""
    ran_call = result.call > 0 or result.outcome not in ("error", "skipped")
    return [
        ("setup", result.setup),
        *([("call", result.call)] if ran_call else []),
        ("teardown", result.teardown),
    ]


def durations_lines(results: Iterable[TestResult], options: TerminalOptions) -> list[str]:
    """pytest's --durations section: the slowest phases, ``0.52s call     id``."""
    if options.durations is None:
        return []
    phases = sorted(
        ((seconds, when, r.id) for r in results if r.is_test for when, seconds in _phases(r)),
        key=lambda phase: -phase[0],
    )
    if not phases:
        return []
    count = options.durations
    title = "slowest durations" if not count else f"slowest {count} durations"
    shown = phases[:count] if count else phases
    least = options.durations_min
    if least is None:
        least = DURATIONS_MIN if options.verbosity < VERY_VERBOSE else 0.0
    lines = [rule(title)] + [
        f"{seconds:.2f}s {when:<8} {test}" for seconds, when, test in shown if seconds >= least
    ]
    hidden = len(shown) + 1 - len(lines)
    if hidden:
        hint = "  Use -vv to show these durations." if options.durations_min is None else ""
        lines += ["", f"({hidden} durations < {least:g}s hidden.{hint})"]
    return lines


DEFAULT_TERMINAL = TerminalOptions()


WARNINGS_DOCS = "-- Docs: https://docs.pytest.org/en/stable/how-to/capture-warnings.html"
COLLAPSE_AT = 10  # from this many locations of one warning, pytest counts them per file


def unique_warnings(records: Iterable[WarningRecord]) -> list[WarningRecord]:
    """Each warning once per location and text, in the order first seen: a module imported by
    two workers, or a conftest's warning in every worker, is one warning, as in one pytest."""
    seen: dict[tuple[str, str], WarningRecord] = {}
    for record in records:
        seen.setdefault((record.location, record.message), record)
    return list(seen.values())


def _locations(records: Sequence[WarningRecord]) -> list[str]:
    locations = [r.location for r in records]
    if len(locations) < COLLAPSE_AT:
        return locations
    per_file = Counter(location.split("::", 1)[0] for location in locations)
    return [f"{file}: {n} warning{'s' * (n > 1)}" for file, n in per_file.items()]


def warnings_summary(records: Sequence[WarningRecord]) -> list[str]:
    """pytest's warnings summary: each message once, under the tests (or places) that raised
    it, then the link to pytest's docs."""
    if not records:
        return []
    grouped: dict[str, list[WarningRecord]] = {}
    for record in records:
        grouped.setdefault(record.message, []).append(record)
    lines = [rule("warnings summary")]
    for message, group in grouped.items():
        lines += _locations(group)
        lines += ["  " + line for line in message.splitlines()]
        lines.append("")
    return [*lines, WARNINGS_DOCS]
