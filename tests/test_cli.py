"""The ``fastci`` command line: a command imports only its own module."""

from __future__ import annotations

import json
import subprocess
import sys

from fastci.cli import COMMAND_MODULES
from tests.helpers.projects import Project

# Runs fastci's CLI in a fresh interpreter, then says which command modules it had imported.
SCRIPT = """
import json, sys
from fastci.cli import main
code = main(sys.argv[1:])
loaded = sorted(m for m in sys.modules if m.startswith("fastci.commands."))
print(json.dumps({"code": code, "commands": loaded}))
"""


def commands_imported(project: Project, *args: str) -> tuple[int, set[str]]:
    """A real ``fastci ARGS`` process's exit code and the command modules it imported."""
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        cwd=project.root,
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(proc.stdout.splitlines()[-1])
    return report["code"], set(report["commands"])


def test_fastci_run_imports_no_other_commands_module(project: Project) -> None:
    project.write("tests/test_one.py", "def test_one():\n    pass\n")
    code, commands = commands_imported(project, "run", "-j", "1")
    assert code == 0
    assert commands == {"fastci.commands.run"}


def test_an_unknown_command_still_lists_every_command(project: Project) -> None:
    code, commands = commands_imported(project, "bogus")
    assert code == 4
    assert commands == {f"fastci.commands.{name}" for name in COMMAND_MODULES}
