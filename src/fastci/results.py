"""The result bundle: what one shard (or one local run) leaves behind for a later merge.

A bundle is a directory named ``fastci-shard-K-of-N`` (``fastci-local`` without a shard);
no file in it starts with a dot, so CI artifact uploads keep every one:

- ``manifest.json``  the run: shard, plan vs actual, workers, a span per unit, counts,
                     exit code. Written last: a bundle without it is incomplete.
- ``results.jsonl``  one line per test: outcome, phases, failure text, worker.
- ``timings.jsonl``  the timings report (fastci.reports), for the store.
- ``junit.xml``      JUnit XML of this bundle's tests.
- ``coverage.db``    coverage.py data, when coverage was measured.
- ``logs/``          each worker's pytest output.

A bundle is built in a temporary sibling directory and renamed into place, so a killed run
never leaves a half-written bundle under the final name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import socket
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from fastci.errors import FastciError
from fastci.records import TestResult

BUNDLE_FORMAT = 1
MANIFEST = "manifest.json"
RESULTS = "results.jsonl"
TIMINGS = "timings.jsonl"
JUNIT = "junit.xml"
COVERAGE = "coverage.db"
LOGS = "logs"


def bundle_name(shard_slug: str | None) -> str:
    return f"fastci-{shard_slug}" if shard_slug else "fastci-local"


def count_outcomes(results: Iterable[TestResult]) -> dict[str, int]:
    return dict(sorted(Counter(r.outcome for r in results).items()))


@contextlib.contextmanager
def building(final: Path) -> Iterator[Path]:
    """A scratch directory that becomes ``final`` (replacing any old bundle) on success."""
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = final.with_name(f"{final.name}.partial-{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        yield scratch
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    old = final.with_name(f"{final.name}.old-{os.getpid()}")
    if final.exists():
        final.rename(old)
    scratch.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def write_results(path: Path, results: Iterable[TestResult]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for result in results:
            f.write(json.dumps(vars(result), separators=(",", ":")) + "\n")


def read_results(path: Path) -> list[TestResult]:
    fields = {f.name for f in dataclasses.fields(TestResult)}
    results = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            try:
                row = json.loads(line)
                results.append(TestResult(**{k: v for k, v in row.items() if k in fields}))
            except (ValueError, TypeError) as e:
                raise FastciError(f"{path}:{number}: not a fastci result line ({e})") from None
    return results


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    document = {
        "format": BUNDLE_FORMAT,
        "host": socket.gethostname(),
        "written": time.time(),
        **manifest,
    }
    path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")


# -- JUnit XML ------------------------------------------------------------------------------


def junit_names(nodeid: str) -> tuple[str, str]:
    """(classname, name) the way pytest's own junitxml writes them."""
    parts = nodeid.split("::")
    path = parts[0]
    if path.endswith(".py"):
        path = path[:-3]
    module = path.replace("/", ".")
    return ".".join([module, *parts[1:-1]]), parts[-1] if len(parts) > 1 else parts[0]


def junit_tree(results: Iterable[TestResult], suite_name: str) -> ET.ElementTree[ET.Element]:
    results = list(results)
    counts = Counter(r.outcome for r in results)
    failures = counts["failed"]
    errors = counts["error"] + counts["crashed"]
    skipped = counts["skipped"] + counts["xfailed"]
    total_time = sum(r.setup + r.call + r.teardown for r in results)
    root = ET.Element("testsuites", name="fastci")
    suite = ET.SubElement(
        root,
        "testsuite",
        name=suite_name,
        tests=str(len(results)),
        failures=str(failures),
        errors=str(errors),
        skipped=str(skipped),
        time=f"{total_time:.3f}",
        hostname=socket.gethostname(),
    )
    for result in results:
        classname, name = junit_names(result.id)
        case = ET.SubElement(
            suite,
            "testcase",
            classname=classname,
            name=name,
            file=result.file,
            time=f"{result.setup + result.call + result.teardown:.3f}",
        )
        text = result.longrepr or ""
        message = text.strip().splitlines()[-1][:200] if text.strip() else result.outcome
        if result.outcome == "failed":
            ET.SubElement(case, "failure", message=message).text = text
        elif result.outcome in ("error", "crashed"):
            ET.SubElement(case, "error", message=message).text = text
        elif result.outcome in ("skipped", "xfailed"):
            ET.SubElement(case, "skipped", message=message, type="pytest.skip").text = text
        if result.stdout:
            ET.SubElement(case, "system-out").text = result.stdout
        if result.stderr:
            ET.SubElement(case, "system-err").text = result.stderr
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(path: Path, results: Iterable[TestResult], suite_name: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    junit_tree(results, suite_name).write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, path)
