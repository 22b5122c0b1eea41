"""Which tests a project has: its test files (found without importing any) or its collected items.

Both come from a real pytest process with the user's own configuration (rootdir, testpaths,
python_files, norecursedirs, conftest files, -p plugins, ini options), run by fastci's plugin:
``discover_files`` records the files pytest would collect and drops them before any is
imported; ``collect_items`` is a full ``--collect-only``.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fastci.plugin.launch import PytestError, neutralizing_args, plugin_args, pytest_env

# pytest's "no tests collected": expected when discovery drops every file.
PYTEST_NO_TESTS = 5


@dataclasses.dataclass(frozen=True)
class TestFile:
    """A file pytest would collect tests from."""

    __test__ = False  # not a pytest test class, whatever its name

    path: str  # as in node ids: relative to pytest's rootdir, with forward slashes
    size: int
    collector: str = "Module"


@dataclasses.dataclass(frozen=True)
class TestItem:
    """One collected test."""

    __test__ = False  # not a pytest test class, whatever its name

    id: str
    file: str
    cls: str | None = None  # "path::OutermostClass" when the test is in a class
    markers: tuple[str, ...] = ()
    group: str | None = None


@dataclasses.dataclass(frozen=True)
class PytestSettings:
    """What the user's effective pytest configuration (addopts, ini, flags) asks for."""

    maxfail: int = 0
    continue_on_collection_errors: bool = False
    import_mode: str = "prepend"  # pytest's --import-mode
    reportchars: str = "fE"  # pytest's -r: which outcomes the short test summary lists
    verbosity: int = 0  # pytest's -v (1, 2) and -q (-1)
    durations: int | None = None  # pytest's --durations=N (0: all)
    durations_min: float | None = None  # pytest's --durations-min (None: not given)
    disable_warnings: bool = False  # pytest's --disable-warnings: no warnings summary
    fold_skipped: bool = True  # pytest's -rs folds skips by place (--no-fold-skipped: not)
    complete: bool = True  # the selection is the whole suite (no -k, -m, node ids, -x)
    junitxml: str | None = None
    cache_dir: str | None = None
    coverage: dict[str, Any] | None = None  # a fastci.plugin.coverage.CoverageRequest as JSON


@dataclasses.dataclass(frozen=True)
class Inventory:
    rootdir: str
    files: tuple[TestFile, ...]
    items: tuple[TestItem, ...] | None = None  # None: only files were discovered
    settings: PytestSettings = dataclasses.field(default_factory=PytestSettings)
    deselected: tuple[str, ...] = ()  # by -k, -m, --deselect in a full collection
    # Directories that skipped themselves (a conftest's skip): (node id, reason)
    skipped: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Inventory:
        files = tuple(TestFile(**f) for f in data["files"])
        raw_items = data.get("items")
        items = None
        if raw_items is not None:
            items = tuple(
                TestItem(
                    id=i["id"],
                    file=i["file"],
                    cls=i.get("cls"),
                    markers=tuple(i.get("markers", ())),
                    group=i.get("group"),
                )
                for i in raw_items
            )
        settings = PytestSettings(**data.get("settings", {}))
        return cls(
            rootdir=str(data["rootdir"]),
            files=files,
            items=items,
            settings=settings,
            deselected=tuple(data.get("deselected", ())),
            skipped=tuple((str(n), str(why)) for n, why in data.get("skipped", ())),
        )


def run_pytest_with_plugin(
    root: Path, mode: str, pytest_args: Sequence[str], group_markers: Sequence[str]
) -> dict[str, Any]:
    """Run ``pytest --collect-only`` with one of the plugin's output modes; return its JSON."""
    with tempfile.TemporaryDirectory(prefix="fastci-") as tmp:
        out = Path(tmp) / "out.json"
        command = [
            sys.executable,
            "-m",
            "pytest",
            *plugin_args(),
            f"--fastci-{mode}={out}",
            f"--fastci-group-markers={','.join(group_markers)}",
            "--collect-only",
            "-q",
            *neutralizing_args(),
            *pytest_args,
        ]
        proc = subprocess.run(
            command,
            cwd=root,
            env=pytest_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if proc.returncode not in (0, PYTEST_NO_TESTS) or not out.exists():
            code = proc.returncode if proc.returncode > 0 else 3
            raise PytestError(
                f"pytest could not collect the tests (exit code {code}); its output is above",
                exit_code=code,
                details=proc.stdout,
            )
        data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return data


def discover_files(
    root: Path, pytest_args: Sequence[str] = (), group_markers: Sequence[str] = ()
) -> Inventory:
    """The test files pytest would collect, found without importing a single test module."""
    return Inventory.from_json(run_pytest_with_plugin(root, "discover", pytest_args, group_markers))


def read_discovery(path: Path) -> Inventory:
    """The files a worker discovered (``--fastci-worker`` with ``--fastci-discover``)."""
    return Inventory.from_json(json.loads(path.read_text(encoding="utf-8")))


def collect_items(
    root: Path, pytest_args: Sequence[str] = (), group_markers: Sequence[str] = ()
) -> Inventory:
    """Every test pytest collects (a full collection: imports every test module)."""
    return Inventory.from_json(run_pytest_with_plugin(root, "collect", pytest_args, group_markers))
