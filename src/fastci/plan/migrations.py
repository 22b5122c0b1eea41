"""Upgrades of an older fastci timings store to this schema, one version at a time."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from fastci.plan.schema import DEPS_SCHEMA, SCHEMA_VERSION, UNITS_SCHEMA, write_meta

FIRST_VERSION = 1


def _samples_keep_groups(db: sqlite3.Connection) -> None:
    """1 -> 2: each sample keeps its run's group.

    The first stores had no samples.group_name; some later version-1 stores already had it
    (the column came before the version was raised), and those need nothing. Old samples
    take their test's group, the one every version-1 store kept per test, so the groups a
    plan reads stay what they were.
    """
    columns = {str(row[1]) for row in db.execute("PRAGMA table_info(samples)")}
    if "group_name" in columns:
        return
    db.execute("ALTER TABLE samples ADD COLUMN group_name TEXT")
    db.execute(
        "UPDATE samples SET group_name ="
        " (SELECT tests.group_name FROM tests WHERE tests.test_id = samples.test_id)"
    )


def _reports_keep_trees(db: sqlite3.Connection) -> None:
    """2 -> 3: each run keeps the git commit and tree it ran on; older runs never said (NULL)."""
    db.execute("ALTER TABLE reports ADD COLUMN commit_sha TEXT")
    db.execute("ALTER TABLE reports ADD COLUMN tree TEXT")


def _runs_keep_parallelism_and_imports(db: sqlite3.Connection) -> None:
    """3 -> 4: each run keeps its workers and cores, each file its packages' import seconds.

    Older runs never said (NULL workers: their durations are taken as they are) and hold
    no import samples; the estimates they gave stay what they were.
    """
    db.execute("ALTER TABLE reports ADD COLUMN workers INTEGER")
    db.execute("ALTER TABLE reports ADD COLUMN cpus INTEGER")
    db.execute(
        "CREATE TABLE import_samples (report_id TEXT NOT NULL, file TEXT NOT NULL,"
        " package TEXT NOT NULL, seconds REAL NOT NULL, started REAL NOT NULL,"
        " PRIMARY KEY (file, package, report_id)) WITHOUT ROWID"
    )


def _dependency_recordings(db: sqlite3.Connection) -> None:
    """4 -> 5: the tables of fastci affected's recordings, empty: nothing was recorded yet."""
    _create(db, DEPS_SCHEMA.replace(UNITS_SCHEMA, ""))


def _recordings_keep_units(db: sqlite3.Connection) -> None:
    """5 -> 6: recorded files keep their units. Older recordings have none, and their tests
    name whole files, so any change to a file still selects every test that touched it."""
    _create(db, UNITS_SCHEMA)


def _create(db: sqlite3.Connection, schema: str) -> None:
    for statement in schema.split(";"):
        if statement.strip():
            db.execute(statement)


# MIGRATIONS[n - FIRST_VERSION] upgrades a store of version n to version n + 1.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _samples_keep_groups,
    _reports_keep_trees,
    _runs_keep_parallelism_and_imports,
    _dependency_recordings,
    _recordings_keep_units,
)


def upgrade(db: sqlite3.Connection, version: int) -> None:
    """Bring a store of ``version`` to SCHEMA_VERSION; the caller holds the transaction."""
    if not FIRST_VERSION <= version <= SCHEMA_VERSION:
        raise sqlite3.DatabaseError(f"its schema version {version} was never fastci's")
    for step in MIGRATIONS[version - FIRST_VERSION :]:
        step(db)
    write_meta(db, "schema_version", SCHEMA_VERSION)
