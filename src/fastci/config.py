"""Settings: ``[tool.fastci]`` of pyproject.toml, overridden by CLI flags, as a frozen Config."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from fastci.errors import UsageError
from fastci.settings import SETTINGS, SETTINGS_BY_KEY, cpu_count

T = TypeVar("T")


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
    timeout: float = 0.0  # seconds a test may run; 0: no limit
    deadline: float = 0.0  # seconds the whole run may take before it stops; 0: none
    pytest_args: tuple[str, ...] = ()
    order: str = "failures-first"  # fastci.execute.priority
    confirm_failures: bool = True  # fastci.execute.confirm
    reruns: int = 0
    allow_flaky: bool = False
    quarantine: tuple[str, ...] = ()
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
    queue: str | None = None  # a Redis URL: queue mode (fastci.queue)
    record_deps: bool = False  # fastci affected's recording (docs/affected.md)
    always_run: tuple[str, ...] = ()
    inputs: tuple[tuple[str, tuple[str, ...]], ...] = ()  # glob -> test paths; () = all
    affected_env: tuple[str, ...] = ()

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
        return read_toml(path)
    except ValueError as e:  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
        raise UsageError(f"{path} is not valid TOML ({e}); fix the file and try again") from None


def read_toml(path: Path) -> dict[str, Any]:
    """``path`` parsed as TOML; raises OSError when unreadable, ValueError when not TOML."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    with path.open("rb") as f:
        document: dict[str, Any] = tomllib.load(f)
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
        default = argparse.SUPPRESS if nested else None
        help = f"{setting.help} [tool.fastci] {setting.key}"
        if setting.switch:  # a bare flag: nothing after it is taken for its value
            parser.add_argument(
                *flags, dest=setting.field, action="store_const", const=True, default=default,
                help=help,
            )  # fmt: skip
            continue
        parser.add_argument(
            *flags,
            dest=setting.field,
            type=argparse_type(setting.parse),
            default=default,
            metavar=setting.metavar,
            help=help,
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
