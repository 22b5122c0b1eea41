"""JUnit XML of test results: one <testsuite> per run or shard, named as pytest names cases."""

from __future__ import annotations

import dataclasses
import socket
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from fastci.files import replacing
from fastci.model import TestResult


def junit_names(nodeid: str) -> tuple[str, str]:
    """(classname, name) the way pytest's own junitxml writes them."""
    if "::" not in nodeid:  # a whole file's or directory's error or skip
        return "", nodeid.removesuffix(".py").replace("/", ".")
    address, bracket, params = nodeid.partition("[")  # a parameter id may hold "::" too
    parts = address.split("::")
    parts[-1] += bracket + params
    path = parts[0]
    if path.endswith(".py"):
        path = path[:-3]
    module = path.replace("/", ".")
    return ".".join([module, *parts[1:-1]]), parts[-1] if len(parts) > 1 else parts[0]


@dataclasses.dataclass(frozen=True)
class JunitSuite:
    """One <testsuite>: a run's (or a shard's) results, named, from the host that ran them."""

    name: str
    results: Sequence[TestResult]
    hostname: str = dataclasses.field(default_factory=socket.gethostname)


def junit_tree(suites: Iterable[JunitSuite]) -> ET.ElementTree[ET.Element]:
    root = ET.Element("testsuites", name="fastci")
    for suite in suites:
        _junit_suite(root, suite)
    ET.indent(root)
    return ET.ElementTree(root)


def _junit_suite(root: ET.Element, junit_suite: JunitSuite) -> None:
    results = junit_suite.results
    counts = Counter(r.outcome for r in results)
    failures = counts["failed"]
    errors = counts["error"] + counts["crashed"]
    skipped = counts["skipped"] + counts["xfailed"]
    total_time = sum(r.setup + r.call + r.teardown for r in results)
    suite = ET.SubElement(
        root,
        "testsuite",
        name=junit_suite.name,
        tests=str(len(results)),
        failures=str(failures),
        errors=str(errors),
        skipped=str(skipped),
        time=f"{total_time:.3f}",
        hostname=junit_suite.hostname,
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
        if result.attempts > 1:
            _attempts(case, result, message, text)
        if result.stdout:
            ET.SubElement(case, "system-out").text = result.stdout
        if result.stderr:
            ET.SubElement(case, "system-err").text = result.stderr


def _attempts(case: ET.Element, result: TestResult, message: str, text: str) -> None:
    """A rerun test: how many attempts it took; a flaky one keeps its failing attempt's text
    (as Maven Surefire's ``flakyFailure``, which Jenkins and others read)."""
    properties = ET.SubElement(case, "properties")
    name = "fastci_flaky" if result.outcome == "flaky" else "fastci_attempts"
    ET.SubElement(properties, "property", name=name, value=str(result.attempts))
    if result.outcome == "flaky":
        ET.SubElement(case, "flakyFailure", message=message).text = text


def write_junit(path: Path, results: Sequence[TestResult], suite_name: str) -> None:
    write_junit_suites(path, [JunitSuite(suite_name, results)])


def write_junit_suites(path: Path, suites: Iterable[JunitSuite]) -> None:
    """Write a JUnit XML document with one <testsuite> per suite, replacing ``path`` whole."""
    with replacing(path) as scratch:
        junit_tree(suites).write(scratch, encoding="utf-8", xml_declaration=True)
