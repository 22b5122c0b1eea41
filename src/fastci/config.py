"""Settings: ``[tool.fastci]`` of pyproject.toml, overridden by CLI flags, as a frozen Config."""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from fastci.ci.providers import MAX_SHARDS
from fastci.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

GRANULARITIES = ("file", "class", "test")
T = TypeVar("T")
INSTALLERS = ("auto", "uv", "pip")
# A test keeps 20 samples, so a longer window only widens the median of shard startups.
MAX_ESTIMATE_WINDOW = 1000


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
        raise ValueError("a whole number >= 1, or 'auto'") from None


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
        "split_files",
        "--split-files",
        boolean,
        "cut a test file that alone would hold up the run into pieces (true/false)",
        "BOOL",
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


@dataclasses.dataclass(frozen=True)
class Config:
    """Every setting, resolved: defaults < pyproject.toml < command line."""

    root: Path  # the project: where pyproject.toml is, and what the store is relative to
    workdir: Path = dataclasses.field(default_factory=Path.cwd)  # where pytest runs, as typed
    store: str = ".fastci/timings.db"
    granularity: str = "file"
    shards: int = 1
    jobs: int = dataclasses.field(default_factory=cpu_count)
    group_markers: tuple[str, ...] = ("fastci_group", "xdist_group")
    estimate_window: int = 5
    shard_startup: float | None = None
    split_files: bool = True
    pytest_args: tuple[str, ...] = ()
    changes_default_branch: str | None = None
    gate_include: tuple[str, ...] | None = None  # None: the gate's defaults (fastci.changes.gate)
    gate_extend_include: tuple[str, ...] = ()
    gate_exclude: tuple[str, ...] = ()
    deps_requirements: tuple[str, ...] = (
        "requirements*.txt",
        "*-requirements.txt",
        "requirements/*.txt",
    )
    deps_extras: tuple[str, ...] = ("*",)
    deps_groups: tuple[str, ...] = ("*",)
    deps_wheelhouse: str = ".cache/wheels"
    deps_index_url: str | None = None
    deps_installer: str = "auto"

    @property
    def store_path(self) -> Path:
        return self.root / self.store

    @property
    def wheelhouse_root(self) -> Path:
        return self.root / self.deps_wheelhouse


# Files that mark the top of a Python project, as pytest's own rootdir search knows them.
PROJECT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", "pytest.ini", "tox.ini", ".git")


def find_project_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` holding a project marker, else start."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if any((directory / marker).exists() for marker in PROJECT_MARKERS):
            return directory
    return start


def read_pyproject(root: Path) -> dict[str, Any]:
    """``root/pyproject.toml`` parsed ({} when there is none); a broken one is a UsageError."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as f:
            document: dict[str, Any] = tomllib.load(f)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UsageError(f"{path} is not valid TOML ({e}); fix the file and try again") from None
    return document


def read_pyproject_settings(root: Path) -> dict[str, object]:
    """The [tool.fastci] table of ``root/pyproject.toml`` flattened to dotted keys."""
    tool = read_pyproject(root).get("tool", {})
    table = tool.get("fastci", {}) if isinstance(tool, dict) else None
    if not isinstance(table, dict):
        raise UsageError(f"{root / 'pyproject.toml'}: [tool.fastci] must be a table")
    return dict(_flatten(table))


def _flatten(table: dict[str, object], prefix: str = "") -> Iterable[tuple[str, object]]:
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted not in SETTINGS_BY_KEY:
            yield from _flatten(value, prefix=f"{dotted}.")
        else:
            yield dotted, value


def add_root_argument(parser: argparse.ArgumentParser, nested: bool = False) -> None:
    """``--root DIR``: every command has it; ``nested`` for the parser of a sub-action."""
    parser.add_argument(
        "--root",
        metavar="DIR",
        default=argparse.SUPPRESS if nested else None,
        help="run as if started in DIR (the project is the nearest directory at or above it "
        "with a pyproject.toml, setup.cfg, setup.py, pytest.ini, tox.ini or .git)",
    )


def add_setting_arguments(
    parser: argparse.ArgumentParser, *keys: str, nested: bool = False
) -> None:
    """Add the CLI flags of the named settings; an unset flag stays None so files can fill it.

    ``nested`` is for the parser of a sub-action (``fastci timings export --store X``): its
    unset flags must not overwrite what the command's own parser already read.
    """
    for key in keys:
        setting = SETTINGS_BY_KEY[key]
        flags = (setting.short, setting.flag) if setting.short else (setting.flag,)
        parser.add_argument(
            *flags,
            dest=setting.field,
            type=argparse_type(setting.parse),
            default=argparse.SUPPRESS if nested else None,
            metavar=setting.metavar,
            help=f"{setting.help} [tool.fastci] {setting.key}",
        )


def argparse_type(parse: Callable[[str], T]) -> Callable[[str], T]:
    """``parse`` as an argparse type: its ValueError ("must be …") becomes a usage error."""

    def convert(value: str) -> T:
        try:
            return parse(value)
        except ValueError as e:
            raise argparse.ArgumentTypeError(f"must be {e}, got {value!r}") from None

    return convert


def load_config(args: argparse.Namespace | None = None, root: Path | None = None) -> Config:
    """Resolve every setting for the project at ``root`` (found from the cwd when None)."""
    if root is None:
        root = find_project_root(Path.cwd())
    if not root.is_dir():
        raise UsageError(f"project root {root} is not a directory")
    values: dict[str, Any] = {}
    for key, raw in read_pyproject_settings(root).items():
        setting = SETTINGS_BY_KEY.get(key)
        if setting is None:
            known = ", ".join(sorted(SETTINGS_BY_KEY))
            raise UsageError(
                f"{root / 'pyproject.toml'}: unknown setting {key!r} in [tool.fastci]; "
                f"known settings: {known}"
            )
        try:
            values[setting.field] = setting.parse(raw)
        except ValueError as e:
            raise UsageError(
                f"{root / 'pyproject.toml'}: [tool.fastci] {key} must be {e}, got {raw!r}"
            ) from None
    if args is not None:
        for setting in SETTINGS:
            given = getattr(args, setting.field, None)
            if given is not None:
                values[setting.field] = given
    return Config(root=root, **values)
