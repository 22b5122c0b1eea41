"""``fastci run --random-order[=SEED]``: one seed, one order, in every process."""

from __future__ import annotations

import json

from tests.helpers.projects import Project

LOGGING_TEST = """
from pathlib import Path

def test_{name}():
    with open(Path(__file__).parent.parent / "order.txt", "a") as log:
        log.write("{name}\\n")
"""


def write_logging_suite(project: Project) -> None:
    for f in range(3):
        project.write(
            f"tests/test_{f}.py",
            "".join(LOGGING_TEST.format(name=f"{f}_{t}") for t in range(8)),
        )


def order_of(project: Project, *args: str) -> list[str]:
    log = project.root / "order.txt"
    log.unlink(missing_ok=True)
    proc = project.fastci("run", "-j", "1", *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return log.read_text().split()


def test_the_same_seed_gives_the_same_order_in_two_processes(project: Project) -> None:
    write_logging_suite(project)
    first = order_of(project, "--random-order=42")
    assert order_of(project, "--random-order=42") == first
    assert first != order_of(project)  # shuffled, within files too
    assert first != order_of(project, "--random-order=43")
    assert sorted(first) == sorted(order_of(project))


def test_a_new_seed_is_printed_and_kept_in_the_bundle_manifest(project: Project) -> None:
    write_logging_suite(project)
    results = project.root / "results"
    proc = project.fastci("run", "-j", "1", "--results", str(results), "--random-order")
    line = next(x for x in proc.stderr.splitlines() if x.startswith("fastci: random order"))
    seed = int(line.split("seed ")[1].split()[0])
    manifest = json.loads((results / "fastci-local" / "manifest.json").read_text())
    assert manifest["random_seed"] == seed


def test_a_bad_seed_is_a_usage_error(project: Project) -> None:
    write_logging_suite(project)
    proc = project.fastci("run", "--random-order=soon")
    assert proc.returncode == 4
    assert "must be a whole number from 0 to 4294967295" in proc.stderr
