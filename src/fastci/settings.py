"""Every setting fastci reads: its [tool.fastci] key, its flag, how its value is checked."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Sequence
from typing import Any

GRANULARITIES = ("file", "class", "test")
INSTALLERS = ("auto", "uv", "pip")
ORDERS = ("failures-first", "longest")  # fastci.execute.priority
MAX_SHARDS = 1000  # more CI jobs than any provider runs in parallel
# A test keeps 20 samples, so a longer window only widens the median of shard startups.
MAX_ESTIMATE_WINDOW = 1000
MAX_RERUNS = 10


def cpu_count() -> int:
    """The CPUs this process may run on (fewer than the machine's under a cgroup/affinity)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


# -- value parsers: each takes a TOML value or a CLI string, returns the typed value or
#    raises ValueError with a message that completes "… must be <message>".


def positive_int(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("a whole number >= 1")
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ValueError("a whole number >= 1") from None
    if not isinstance(value, int) or value < 1:
        raise ValueError("a whole number >= 1")
    return value


def estimate_window(value: object) -> int:
    """Runs per median, bounded: an unbounded one overflows the store's SQLite integers."""
    count = positive_int(value)
    if count > MAX_ESTIMATE_WINDOW:
        raise ValueError(f"a whole number from 1 to {MAX_ESTIMATE_WINDOW}")
    return count


def rerun_count(value: object) -> int:
    """Reruns of a failed test: 0 (none) to 10; more hides a broken test behind luck."""
    if value in (0, "0"):
        return 0
    try:
        count = positive_int(value)
    except ValueError:
        count = -1
    if not 0 <= count <= MAX_RERUNS:
        raise ValueError(f"a whole number from 0 to {MAX_RERUNS}")
    return count


def shard_count(value: object) -> int:
    try:
        count = positive_int(value)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_SHARDS:
        raise ValueError(f"a whole number from 1 to {MAX_SHARDS}")
    return count


def jobs_count(value: object) -> int:
    if value in ("auto", "0") or (type(value) is int and value == 0):
        return cpu_count()
    try:
        return positive_int(value)
    except ValueError:
        raise ValueError("a whole number >= 1, or 'auto' (0 also means auto)") from None


def text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("a non-empty string")
    return value


def text_list(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError("a list of strings")
    return tuple(v.strip() for v in value)


def one_of(choices: Sequence[str]) -> Callable[[object], str]:
    def parse(value: object) -> str:
        if value not in choices:
            raise ValueError("one of " + ", ".join(repr(c) for c in choices))
        return str(value)

    return parse


def boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
        return value.lower() in ("true", "yes", "1")
    raise ValueError("true or false")


def input_map(value: object) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``inputs``: globs that affect every test, or a table of glob -> the test paths it affects."""
    if isinstance(value, dict):
        try:
            return tuple((str(k), text_list(v)) for k, v in value.items())
        except ValueError:
            raise ValueError("a list of globs, or a table of glob = [test paths]") from None
    return tuple((glob, ()) for glob in text_list(value))


def optional_text(value: object) -> str | None:
    if value in ("", None):
        return None
    return text(value)


def seconds(value: object) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError("a number of seconds >= 0") from None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError("a number of seconds >= 0")
    return float(value)


@dataclasses.dataclass(frozen=True)
class Setting:
    """One setting: its key in [tool.fastci] (dotted for sub-tables) and its CLI flag."""

    key: str
    flag: str
    parse: Callable[[object], Any]
    help: str
    metavar: str | None = None
    short: str | None = None
    switch: bool = False  # a true/false setting whose flag takes no value: given, it is true

    @property
    def field(self) -> str:
        return self.key.replace(".", "_").replace("-", "_")


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "store", "--store", text, "timings store (SQLite), relative to the project root", "PATH"
    ),
    Setting(
        "granularity",
        "--granularity",
        one_of(GRANULARITIES),
        "unit of planning: whole files, classes, or single tests",
        "{" + ",".join(GRANULARITIES) + "}",
    ),
    Setting("shards", "--shards", shard_count, "number of shards to plan", "N"),
    Setting(
        "jobs",
        "--jobs",
        jobs_count,
        "local worker processes (default: the CPU count)",
        "N",
        short="-j",
    ),
    Setting(
        "group_markers",
        "--group-markers",
        text_list,
        "markers whose first argument names a group of tests kept on one worker",
        "NAMES",
    ),
    Setting(
        "estimate_window",
        "--estimate-window",
        estimate_window,
        "recent runs whose median estimates a test's duration",
        "K",
    ),
    Setting(
        "shard_startup",
        "--shard-startup",
        seconds,
        "fixed cost of starting a shard in seconds (default: measured)",
        "SECONDS",
    ),
    Setting(
        "timeout",
        "--timeout",
        seconds,
        "fail a test that runs longer than this, dumping every thread's stack (0: no limit; "
        "a test's timeout marker overrides it)",
        "SECONDS",
    ),
    Setting(
        "deadline",
        "--deadline",
        seconds,
        "start no unit after this many seconds of the run, stop running ones soon after, "
        "and still write the results (0: none)",
        "SECONDS",
    ),
    Setting(
        "split_files",
        "--split-files",
        boolean,
        "cut a test file that alone would hold up the run into pieces (true/false)",
        "BOOL",
    ),
    Setting(
        "order",
        "--order",
        one_of(ORDERS),
        "which units start first: failures-first (the last run's failures, then new or "
        "changed test files, then longest first; with -x/--maxfail, most tests per second) "
        "or longest (the plan's order)",
        "{" + ",".join(ORDERS) + "}",
    ),
    Setting(
        "confirm_failures",
        "--confirm-failures",
        boolean,
        "run failed tests again after importing the whole suite, as pytest does, and take "
        "that verdict (true/false)",
        "BOOL",
    ),
    Setting(
        "reruns",
        "--reruns",
        rerun_count,
        "run a failed test again, up to N times, each in a fresh worker; one that then "
        "passes is reported flaky",
        "N",
    ),
    Setting(
        "allow_flaky",
        "--allow-flaky",
        boolean,
        "flaky tests (failed, then passed on a rerun) do not fail the run (exit 0)",
        switch=True,
    ),
    Setting(
        "quarantine",
        "--quarantine",
        text_list,
        "tests (node ids, files, classes or wildcards) that run and report but fail no run",
        "TESTS",
    ),
    Setting(
        "pytest_args",
        "--pytest-args",
        text_list,
        "extra pytest arguments for every run (comma-separated on the command line)",
        "ARGS",
    ),
    Setting(
        "changes.default-branch",
        "--default-branch",
        text,
        "branch a change is measured against outside CI (default: origin's HEAD, main, master)",
        "BRANCH",
    ),
    Setting(
        "gate.include",
        "--include",
        text_list,
        "gitignore-style patterns of paths whose change runs the tests (replaces the defaults)",
        "PATTERNS",
    ),
    Setting(
        "gate.extend-include",
        "--extend-include",
        text_list,
        "patterns added to the gate's include patterns",
        "PATTERNS",
    ),
    Setting(
        "gate.exclude",
        "--exclude",
        text_list,
        "patterns of paths whose change never runs the tests, even if included",
        "PATTERNS",
    ),
    Setting(
        "deps.requirements",
        "--requirements",
        text_list,
        "requirement files that make up the dependency set, as glob patterns "
        "(comma-separated on the command line; files they -r/-c include count too)",
        "PATTERNS",
    ),
    Setting(
        "deps.extras",
        "--extras",
        text_list,
        "pyproject.toml optional-dependencies in the set ('*': all of them)",
        "NAMES",
    ),
    Setting(
        "deps.groups",
        "--groups",
        text_list,
        "pyproject.toml dependency-groups in the set ('*': all of them)",
        "NAMES",
    ),
    Setting(
        "deps.wheelhouse",
        "--wheelhouse",
        text,
        "directory holding one wheelhouse per key, relative to the project root",
        "DIR",
    ),
    Setting(
        "deps.index-url",
        "--index-url",
        optional_text,
        "package index to resolve and download from (default: the installer's own)",
        "URL",
    ),
    Setting(
        "deps.installer",
        "--installer",
        one_of(INSTALLERS),
        "which tool resolves and installs: uv when available, else pip",
        "{auto,uv,pip}",
    ),
    Setting(
        "queue",
        "--queue",
        optional_text,
        "take units from a Redis queue shared by every runner of the run (docs/queue.md; "
        "default: $FASTCI_QUEUE_URL)",
        "URL",
    ),
    Setting(
        "record_deps",
        "--record-deps",
        boolean,
        "record the files each test runs and reads, for fastci affected (docs/affected.md)",
        switch=True,
    ),
    Setting(
        "always_run",
        "--always-run",
        text_list,
        "test paths (globs) and marker names that fastci affected always selects",
        "PATTERNS",
    ),
    Setting(
        "inputs",
        "--inputs",
        input_map,
        "non-Python files (globs) whose change selects every test; in pyproject.toml also a "
        "table of glob = [test paths it affects]",
        "GLOBS",
    ),
    Setting(
        "affected_env",
        "--affected-env",
        text_list,
        "environment variables whose value every test depends on (fastci affected)",
        "NAMES",
    ),
)
SETTINGS_BY_KEY = {s.key: s for s in SETTINGS}
# The settings every command that plans the suite accepts.
PLANNING_SETTINGS = (
    "granularity",
    "split_files",
    "store",
    "estimate_window",
    "group_markers",
    "shard_startup",
    "pytest_args",
)
