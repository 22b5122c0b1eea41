"""The ``fastci`` command line: a command imports only its own module."""

from __future__ import annotations

import json
import subprocess
import sys

from fastci.cli import COMMAND_MODULES
from tests.helpers.projects import Project

# Runs fastci's CLI in a fresh interpreter, then says which modules it had imported (listed
# before json is imported to print them). --help ends in SystemExit, caught for its code.
SCRIPT = """
import sys
from fastci.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as e:
    code = e.code
loaded = sorted(sys.modules)
import json
print(json.dumps({"code": code, "modules": loaded}))
"""


def modules_imported(project: Project, *args: str) -> tuple[int, set[str]]:
    """A real ``fastci ARGS`` process's exit code and every module it imported."""
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        cwd=project.root,
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(proc.stdout.splitlines()[-1])
    return report["code"], set(report["modules"])


def commands_imported(project: Project, *args: str) -> tuple[int, set[str]]:
    """A real ``fastci ARGS`` process's exit code and the command modules it imported."""
    code, modules = modules_imported(project, *args)
    return code, {m for m in modules if m.startswith("fastci.commands.")}


def test_fastci_run_imports_no_other_commands_module(project: Project) -> None:
    project.write("tests/test_one.py", "def test_one():\n    pass\n")
    code, commands = commands_imported(project, "run", "-j", "1")
    assert code == 0
    assert commands == {"fastci.commands.run"}


def test_fastci_run_help_loads_neither_the_affected_selection_nor_json(project: Project) -> None:
    code, modules = modules_imported(project, "run", "--help")
    assert code == 0
    assert {m for m in modules if m.startswith("fastci.affected")} == {
        "fastci.affected",
        "fastci.affected.options",  # only --base, which `fastci affected` shares
    }
    if not any(m.startswith("coverage") for m in modules):  # coverage.py imports json itself
        assert "json" not in modules


def test_an_unknown_command_still_lists_every_command(project: Project) -> None:
    code, commands = commands_imported(project, "bogus")
    assert code == 4
    assert commands == {f"fastci.commands.{name}" for name in COMMAND_MODULES}
