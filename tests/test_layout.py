"""The package layout keeps its promises: pytest stays inside fastci.plugin, modules stay small."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import fastci

SOURCE = Path(fastci.__file__).parent
# fastci.plugin runs inside pytest; its launch module is the pytest-free contract with it.
PYTEST_SIDE = "fastci.plugin."
PYTEST_FREE_IN_PLUGIN = {"fastci.plugin.launch"}
MAX_TOP_LEVEL_MODULES = 8
MAX_MODULE_LINES = 400


def outside_pytest_side() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages([str(SOURCE)], prefix="fastci.")]
    return sorted(
        n
        for n in names
        if n != "fastci.__main__"  # runs the CLI when imported
        and (not n.startswith(PYTEST_SIDE) or n in PYTEST_FREE_IN_PLUGIN)
    )


def test_no_module_outside_the_plugin_package_loads_pytest() -> None:
    modules = outside_pytest_side()
    assert "fastci.merge.bundles" in modules  # the walk found the packages
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in ('pytest', '_pytest') if m in sys.modules)\n"
        "print(','.join(loaded))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_the_commands_that_need_no_tests_never_load_pytest() -> None:
    """The check issue 10 asks for, as a user's shell would run it."""
    script = (
        "import fastci.commands.merge, fastci.commands.plan, fastci.commands.deps, "
        "fastci.commands.gate, fastci.commands.workflow, sys\n"
        "assert 'pytest' not in sys.modules and '_pytest' not in sys.modules\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


def test_the_top_level_holds_few_modules_and_every_module_is_small() -> None:
    top_level = sorted(p.name for p in SOURCE.glob("*.py"))
    assert len(top_level) <= MAX_TOP_LEVEL_MODULES, top_level
    too_long = {
        str(p.relative_to(SOURCE)): n
        for p in SOURCE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}


def test_every_module_says_what_it_owns_in_its_first_line() -> None:
    missing = [
        str(p.relative_to(SOURCE))
        for p in SOURCE.rglob("*.py")
        if not p.read_text(encoding="utf-8").startswith('"""')
    ]
    assert missing == []
