"""An internal error (a bug in fastci) is one line pointing at a crash log, never a traceback."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

from fastci import __version__
from fastci.errors import ExitCode
from tests.helpers.projects import Project

# Loaded by the fastci child process at start-up: a command that raises what no code expects.
BREAK_INVENTORY = """
import fastci.commands.inventory as inventory

def broken(args):
    raise RuntimeError("the inventory broke\\nover two lines")

inventory.run = broken
"""
LINE = re.compile(
    r"fastci: internal error \(RuntimeError: the inventory broke over two lines\); "
    r"details in (?P<log>\S+) — please report it"
)


def _crash(project: Project, tmp_path: Path) -> tuple[int, list[str]]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BREAK_INVENTORY)
    temp = tmp_path / "temp"
    temp.mkdir(exist_ok=True)
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    proc = project.fastci("inventory", "--root", ".", env={**env, "TMPDIR": str(temp)})
    assert proc.stdout == ""
    return proc.returncode, proc.stderr.splitlines()


def test_an_internal_error_is_one_line_and_a_crash_log_in_the_project(
    project: Project, tmp_path: Path
) -> None:
    code, lines = _crash(project, tmp_path)

    assert code == ExitCode.INTERNAL_ERROR
    assert len(lines) == 1, lines
    said = LINE.fullmatch(lines[0])
    assert said is not None, lines[0]
    log = Path(said["log"])
    assert log.parent == (project.root / ".fastci").resolve()
    assert re.fullmatch(r"crash-\d{8}-\d{6}-\d+\.log", log.name)
    text = log.read_text()
    assert f"fastci {__version__} internal error" in text
    assert f"python: {platform.python_version()}" in text
    assert f"platform: {platform.platform()}" in text
    assert "command: fastci inventory --root ." in text
    assert "Traceback (most recent call last)" in text
    assert 'raise RuntimeError("the inventory broke\\nover two lines")' in text
    assert text.rstrip().endswith("over two lines")


def test_the_crash_log_goes_to_the_temp_dir_when_the_project_cannot_hold_it(
    project: Project, tmp_path: Path
) -> None:
    (project.root / ".fastci").write_text("a file where fastci's directory would go")

    code, lines = _crash(project, tmp_path)

    assert code == ExitCode.INTERNAL_ERROR
    said = LINE.fullmatch(lines[0])
    assert said is not None, lines
    assert Path(said["log"]).parent == (tmp_path / "temp").resolve()
    assert "RuntimeError: the inventory broke" in Path(said["log"]).read_text()
