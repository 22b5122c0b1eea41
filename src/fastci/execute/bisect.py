"""Which earlier test makes a test fail: the order replayed from a bundle, then bisected.

A run's bundle says which worker ran each test and when, so the tests a worker process ran
before the failing one, in order, are known. Each step runs plain pytest (``-p no:randomly``,
no fastci) on some of them and then the test, and reads from a JUnit file whether the test
failed. Halving the candidates each step finds one polluting test in ceil(log2(n)) steps,
plus one to see that the whole order reproduces and one to confirm the pair.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from pathlib import Path

from fastci.errors import ExitCode, FastciError, UsageError
from fastci.model import TestResult
from fastci.plugin.launch import neutralizing_args
from fastci.results.bundle import MANIFEST, Bundle, read_bundle
from fastci.results.junit import junit_names

PLAIN_PYTEST = ("-p", "no:randomly", "-p", "no:cacheprovider", "-q")
FAILING = ("failed", "error")


class BisectError(FastciError):
    """pytest did not say whether the test failed (it could not run it)."""

    exit_code = ExitCode.INTERNAL_ERROR


@dataclasses.dataclass(frozen=True)
class Replay:
    """The order a test failed in: what its worker process ran before it."""

    test: str
    worker: str
    before: tuple[str, ...]
    bundle: Path


def find_replay(results_dir: Path, test: str) -> Replay:
    """The newest bundle at or under ``results_dir`` in which ``test`` failed, replayed."""
    candidates = [results_dir, *sorted(p.parent for p in results_dir.glob(f"*/{MANIFEST}"))]
    bundles = [read_bundle(p) for p in candidates if (p / MANIFEST).is_file()]
    if not bundles:
        raise UsageError(f"no fastci bundle in {results_dir}; run `fastci run --results DIR` first")
    failing = [(b, r) for b in bundles for r in b.results if r.id == test and r.outcome in FAILING]
    if not failing:
        raise UsageError(
            f"{test} did not fail in the bundles under {results_dir}; give its node id as the "
            "run reported it, or try `fastci bisect --isolated`"
        )
    bundle, result = max(failing, key=lambda pair: pair[1].start)
    return Replay(test, result.worker or "?", tuple(_ran_before(bundle, result)), bundle.path)


def _ran_before(bundle: Bundle, failed: TestResult) -> list[str]:
    """The tests the same worker process ran before ``failed``, in the order it ran them."""
    lives = [w for w in bundle.workers if w.worker == failed.worker]
    life = next((w for w in lives if w.start <= failed.start <= w.stop), None)
    since = life.start if life is not None else float("-inf")
    ran = [
        r for r in bundle.results
        if r.worker == failed.worker and r.is_test and since <= r.start < failed.start
        and not r.id.startswith("fastci::") and not r.id.endswith("::<not run>")
    ]  # fmt: skip
    return [r.id for r in sorted(ran, key=lambda r: r.start)]


class Pytest:
    """Runs plain pytest on node ids in order and says whether the last one failed."""

    def __init__(self, workdir: Path, say: Callable[[str], None]) -> None:
        self.workdir = workdir
        self.say = say
        self.steps = 0

    def command(self, ids: Sequence[str]) -> list[str]:
        return [sys.executable, "-m", "pytest", *PLAIN_PYTEST, *neutralizing_args(), *ids]

    def fails(self, before: Sequence[str], test: str, which: str = "") -> bool:
        """Whether ``test`` fails run after ``before``; ``which`` names them in the step line."""
        self.steps += 1
        with tempfile.TemporaryDirectory(prefix="fastci-bisect-") as scratch:
            junit = Path(scratch) / "junit.xml"
            subprocess.run(
                [*self.command([*before, test]), f"--junitxml={junit}"],
                cwd=self.workdir, capture_output=True, check=False,
            )  # fmt: skip
            failed = _failed_in(junit, test)
        ran = f"{which or f'{len(before)} test(s)'}, then {test}"
        self.say(f"step {self.steps}: {ran}: {'FAILS' if failed else 'passes'}")
        return failed


def _failed_in(junit: Path, test: str) -> bool:
    classname, name = junit_names(test)
    try:
        tree = ET.parse(junit)  # noqa: S314 - pytest's report, in a directory we just made
    except (OSError, ET.ParseError):
        raise BisectError(f"pytest wrote no JUnit report for {test}; run it by hand") from None
    for case in tree.iter("testcase"):
        if case.get("classname") == classname and case.get("name") == name:
            return case.find("failure") is not None or case.find("error") is not None
    raise BisectError(f"pytest did not run {test}; is the node id right for this checkout?")


def bisect(replay: Replay, pytest: Pytest) -> str | None:
    """The test that makes ``replay.test`` fail when run before it, or None: the whole order
    does not make it fail, or no single test does."""
    before, test = replay.before, replay.test
    total = len(before)
    if not pytest.fails(before, test, f"all {total} tests it ran after"):
        return None
    low, high = 0, total  # the polluter is among before[low:high]
    while high - low > 1:
        middle = (low + high) // 2
        which = f"tests #{low + 1}-#{middle} of {total}" if middle - low > 1 else f"test #{middle}"
        if pytest.fails(before[low:middle], test, which):
            high = middle
        else:
            low = middle
    if high == low or not pytest.fails(before[low:high], test, f"test #{high} alone"):
        return None
    return before[low]
