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
    internal_error: str | None = None  # pytest's INTERNALERROR text, if the run ended in one


def junit_tree(suites: Iterable[JunitSuite]) -> ET.ElementTree[ET.Element]:
    root = ET.Element("testsuites", name="fastci")
    for suite in suites:
        _junit_suite(root, suite)
    ET.indent(root)
    return ET.ElementTree(root)


def _junit_suite(root: ET.Element, junit_suite: JunitSuite) -> None:
    results = junit_suite.results
    counts = Counter(v for r in results for v in r.verdicts)
    failures = counts["failed"]
    errors = counts["error"] + counts["crashed"]
    skipped = counts["skipped"] + counts["xfailed"]
    total_time = sum(r.setup + r.call + r.teardown for r in results)
    suite = ET.SubElement(
        root,
        "testsuite",
        name=junit_suite.name,
        tests="0",  # set once the <testcase> elements are written
        failures=str(failures),
        errors=str(errors),
        skipped=str(skipped),
        time=f"{total_time:.3f}",
        hostname=junit_suite.hostname,
    )
    collected: dict[str, ET.Element] = {}  # a file's collection reports share one <testcase>
    for result in results:
        if not result.is_test:
            if result.id not in collected:
                collected[result.id] = _testcase(suite, result)
            _collection_element(collected[result.id], result)
            continue
        case = _testcase(suite, result)
        for _, text in result.subtests():  # before the test's own outcome, as pytest writes
            ET.SubElement(case, "failure", message=_last_line(text, "failed")).text = text
        _outcome_element(case, result)
        if result.attempts > 1:
            text = result.longrepr or ""
            _attempts(case, result, _last_line(text, result.outcome), text)
        if result.teardown_error is not None:
            if result.outcome == "failed":  # pytest's second <testcase>, to follow the schema
                case = _testcase(suite, result)
            message = f'failed on teardown with "{_last_line(result.teardown_error, "error")}"'
            ET.SubElement(case, "error", message=message).text = result.teardown_error
        if result.stdout:
            ET.SubElement(case, "system-out").text = result.stdout
        if result.stderr:
            ET.SubElement(case, "system-err").text = result.stderr
    _internal_case(suite, junit_suite.internal_error)
    suite.set("tests", str(len(suite.findall("testcase"))))


def _internal_case(suite: ET.Element, text: str | None) -> None:
    """The case pytest's junitxml adds when its run ends in an INTERNALERROR, if it did."""
    if text is None:
        return
    case = ET.SubElement(suite, "testcase", classname="pytest", name="internal")
    ET.SubElement(case, "error", message="internal error").text = text
    suite.set("errors", str(int(suite.get("errors", "0")) + 1))


def _testcase(suite: ET.Element, result: TestResult) -> ET.Element:
    classname, name = junit_names(result.id)
    return ET.SubElement(
        suite,
        "testcase",
        classname=classname,
        name=name,
        file=result.file,
        time=f"{result.setup + result.call + result.teardown:.3f}",
    )


def _last_line(text: str, default: str) -> str:
    return text.strip().splitlines()[-1][:200] if text.strip() else default


def _collection_element(case: ET.Element, result: TestResult) -> None:
    """What pytest's junitxml writes for a file that failed or skipped itself at import."""
    text = result.longrepr or ""
    if result.outcome == "skipped":
        ET.SubElement(case, "skipped", message="collection skipped").text = text
    else:
        ET.SubElement(case, "error", message="collection failure").text = text


def _outcome_element(case: ET.Element, result: TestResult) -> None:
    """The element pytest's junitxml writes for a test's setup and call outcome."""
    text = result.longrepr or ""
    message = _last_line(text, result.outcome)
    if result.outcome == "failed":
        ET.SubElement(case, "failure", message=message).text = text
    elif result.outcome in ("error", "crashed"):
        ET.SubElement(case, "error", message=message).text = text
    elif result.outcome == "xfailed":
        reason = text.removeprefix("xfail: ").removeprefix("reason: ")
        ET.SubElement(case, "skipped", type="pytest.xfail", message=reason)
    elif result.outcome == "skipped":
        ET.SubElement(case, "skipped", message=message, type="pytest.skip").text = text


def _attempts(case: ET.Element, result: TestResult, message: str, text: str) -> None:
    """A rerun test: how many attempts it took; a flaky one keeps its failing attempt's text
    (as Maven Surefire's ``flakyFailure``, which Jenkins and others read)."""
    properties = ET.SubElement(case, "properties")
    name = "fastci_flaky" if result.outcome == "flaky" else "fastci_attempts"
    ET.SubElement(properties, "property", name=name, value=str(result.attempts))
    if result.outcome == "flaky":
        ET.SubElement(case, "flakyFailure", message=message).text = text


def write_junit(
    path: Path, results: Sequence[TestResult], suite_name: str, internal_error: str | None = None
) -> None:
    suite = JunitSuite(suite_name, results, internal_error=internal_error)
    write_junit_suites(path, [suite])


def write_junit_suites(path: Path, suites: Iterable[JunitSuite]) -> None:
    """Write a JUnit XML document with one <testsuite> per suite, replacing ``path`` whole."""
    with replacing(path) as scratch:
        junit_tree(suites).write(scratch, encoding="utf-8", xml_declaration=True)
