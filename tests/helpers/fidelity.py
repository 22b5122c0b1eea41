"""Differential runs: one small project run by plain pytest, `fastci run -j 2` and 3 shards
merged, each seen as (exit code, summary counts, JUnit cases) so they can be compared."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.helpers.projects import Project

SHARDS = 3
TIMEOUT = 180  # seconds for one pytest or fastci process; bench/fidelity.py raises it
# Words of pytest's final line that say nothing about outcomes.
_NOT_OUTCOMES = {"warning", "warnings"}
_VERDICT = re.compile(r"^=+ (?P<body>.*) in [\d.]+s(?: \([^)]*\))?(?:;.*)? =+$")
# A <testcase>'s children that say nothing about its outcome.
_NOT_OUTCOME_TAGS = {"system-out", "system-err", "properties"}

Case = tuple[str, str, tuple[tuple[str, str], ...]]  # classname, name, (tag, type) children


@dataclasses.dataclass(frozen=True)
class Seen:
    """What one way of running a project showed: what the differential test compares."""

    code: int
    counts: Mapping[str, int]
    junit: Counter[Case]
    output: str


def summary_counts(output: str) -> dict[str, int]:
    """The counts of pytest's (or fastci's) final line: {'failed': 1, 'subtests passed': 4};
    none when there is no such line."""
    for line in reversed(output.splitlines()):
        match = _VERDICT.match(line.strip())
        if match is None:
            continue
        counts: dict[str, int] = {}
        for part in match.group("body").split(", "):
            number, _, word = part.partition(" ")
            if number.isdigit() and word not in _NOT_OUTCOMES:
                counts[word.replace("errors", "error")] = int(number)
        return counts
    return {}  # an INTERNALERROR ends pytest without one


def junit_cases(path: Path) -> Counter[Case]:
    """Each <testcase> as (classname, name, the kinds of its outcome elements)."""
    cases: Counter[Case] = Counter()
    for case in ET.parse(path).getroot().iter("testcase"):
        kinds = tuple(
            sorted(
                (child.tag, child.get("type", ""))
                for child in case
                if child.tag not in _NOT_OUTCOME_TAGS
            )
        )
        cases[(case.get("classname", ""), case.get("name", ""), kinds)] += 1
    return cases


def _env() -> dict[str, str]:
    """This environment without what would change how pytest or fastci behave (CI variables,
    fastci's own when it runs this suite); no plugins autoloaded, as in tests/conftest.py."""
    from tests.conftest import LEAKY_VARIABLES

    env = {k: v for k, v in os.environ.items() if k not in LEAKY_VARIABLES}
    env.update(COLUMNS="120", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    return env


def _run(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv], cwd=root, env=_env(), capture_output=True, text=True,
        timeout=TIMEOUT, check=False,
    )  # fmt: skip


def _seen(proc: subprocess.CompletedProcess[str], junit: Path, summary: str) -> Seen:
    output = proc.stdout + proc.stderr
    cases = junit_cases(junit) if junit.exists() else Counter()
    return Seen(proc.returncode, summary_counts(summary or output), cases, output)


def by_pytest(root: Path, *args: str) -> Seen:
    junit = root / "out" / "pytest.xml"
    proc = _run(root, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider",
                f"--junitxml={junit}", *args)  # fmt: skip
    return _seen(proc, junit, "")


def by_fastci(root: Path, *args: str) -> Seen:
    junit = root / "out" / "fastci.xml"
    proc = _run(root, "-m", "fastci", "run", "-j", "2", "--", "-p", "no:randomly",
                f"--junitxml={junit}", *args)  # fmt: skip
    return _seen(proc, junit, "")


def by_shards(root: Path, *args: str) -> Seen:
    """Every shard of three, run one after another, then `fastci merge`."""
    results = root / "out" / "shards"
    outputs = []
    for index in range(1, SHARDS + 1):
        proc = _run(root, "-m", "fastci", "run", "-j", "1", "--shard", f"{index}/{SHARDS}",
                    "--results", str(results), "--", "-p", "no:randomly", *args)  # fmt: skip
        outputs.append(proc.stdout + proc.stderr)
    merged = root / "out" / "merged"
    proc = _run(root, "-m", "fastci", "merge", str(results), "--expect-shards", str(SHARDS),
                "-o", str(merged), "--no-store")  # fmt: skip
    seen = _seen(proc, merged / "junit.xml", "")
    return dataclasses.replace(seen, output="\n".join([*outputs, seen.output]))


@dataclasses.dataclass(frozen=True)
class Differential:
    """One project seen the three ways."""

    pytest: Seen
    fastci: Seen
    shards: Seen


def write_project(root: Path, files: Mapping[str, str]) -> Path:
    project = Project(root)
    project.write("pyproject.toml", files.get("pyproject.toml", "[tool.pytest.ini_options]\n"))
    for relative, text in files.items():
        if relative != "pyproject.toml":
            project.write(relative, text)
    return root


def differential(root: Path, files: Mapping[str, str], *args: str) -> Differential:
    """Run the project by pytest, by fastci and in merged shards, at once, each in a copy of
    its own (a run's timings store must not change another's plan)."""
    ways = (by_pytest, by_fastci, by_shards)
    with ThreadPoolExecutor(len(ways)) as pool:
        futures = [
            pool.submit(way, write_project(root / way.__name__, files), *args) for way in ways
        ]
        return Differential(*(f.result() for f in futures))
