"""A heavy package is timed once, in the file that imports it first: a real fastci run."""

from __future__ import annotations

import sqlite3

from tests.helpers.projects import Project

HEAVY_SECONDS = 0.4


def write_shared_import_suite(project: Project, files: int = 2, light: int = 0) -> None:
    """``files`` test files importing ``heavylib`` (it sleeps at import), ``light`` that do not."""
    project.write("pyproject.toml", '[tool.pytest.ini_options]\npythonpath = ["."]\n')
    project.write("heavylib/__init__.py", f"import time\ntime.sleep({HEAVY_SECONDS})\n")
    for n in range(files):
        project.write(f"tests/test_heavy{n}.py", "import heavylib\n\ndef test_one(): pass\n")
    for n in range(light):
        project.write(f"tests/test_light{n}.py", "import time\n\ndef test_one(): time.sleep(0.3)\n")


def test_a_shared_package_is_charged_to_the_first_file_importing_it_not_to_its_own_import(
    project: Project,
) -> None:
    write_shared_import_suite(project)
    proc = project.fastci("run", "-j", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    db = sqlite3.connect(project.root / ".fastci" / "timings.db")
    samples = db.execute("SELECT file, package, seconds FROM import_samples").fetchall()
    collect = dict(db.execute("SELECT file, collect FROM files").fetchall())
    db.close()
    [(file, package, seconds)] = samples  # one worker: paid once, by one file
    assert (file in collect, package) == (True, "heavylib")
    assert HEAVY_SECONDS <= seconds < HEAVY_SECONDS + 0.5
    assert all(own < HEAVY_SECONDS / 2 for own in collect.values())  # files' own imports
