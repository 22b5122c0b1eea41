"""A heavy package is timed once, in the file that imports it first: a real fastci run."""

from __future__ import annotations

import sqlite3

from tests.helpers.projects import HEAVY_SECONDS, Project, write_shared_import_suite


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
