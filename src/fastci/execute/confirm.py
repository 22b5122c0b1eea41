"""Failed tests checked for what only fastci would see: a test module not imported yet.

A fastci worker imports only its units' test files; pytest imports every test module before
the first test runs. A test that leans on another test module's imports (a submodule that
module imported, a name its import defined) fails under fastci and passes under pytest.
After a run, each failed test whose error is of that kind (AttributeError, NameError,
ImportError) runs again in two pytest processes (``--fastci-confirm``, plugin.confirm):
alone, with only its own file collected, and, if it fails there too, after a collection of
the whole suite, as pytest runs it. A test that failed alone and passes after the whole
collection failed only for a missing import: it takes pytest's verdict, passed, and the run
names it. Every other failure stands with its first report (one that passes alone came from
another test's state, which pytest's order may give it too).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from fastci.execute.ledger import PoolResult
from fastci.model import TestResult, is_not_run, node_file
from fastci.plugin.launch import neutralizing_args, plugin_args, pytest_env

# More failing files than this is a broken build, not an import another file made: the
# whole collection is not worth its time.
MAX_CONFIRMED_FILES = 20
LOG_NAME = "confirm.log"
# pytest's crash line for an error a missing import causes.
IMPORT_ERRORS = ("AttributeError", "NameError", "ImportError", "ModuleNotFoundError")


def failures_to_confirm(result: PoolResult) -> list[str]:
    """The failed tests whose error a missing import could cause; none when there are too
    many, or when -x, --maxfail or Ctrl-C stopped the run (the user asked for an answer now)."""
    if result.interrupted or result.stopped_early or result.collection_stop:
        return []
    if result.internal_error:
        return []
    failed = sorted({
        r.id
        for r in result.results
        if r.is_test
        and r.outcome in ("failed", "error")
        and not is_not_run(r)
        and (r.crash or "").startswith(IMPORT_ERRORS)
    })  # fmt: skip
    files = {node_file(test) for test in failed}
    return failed if len(files) <= MAX_CONFIRMED_FILES else []


def outcomes_of(
    workdir: Path, pytest_args: Sequence[str], tests: Sequence[str], log: Path, alone: bool
) -> dict[str, str]:
    """Each of ``tests``' outcome in one pytest process: alone, or after a whole collection."""
    with tempfile.TemporaryDirectory(prefix="fastci-confirm-") as scratch:
        directory = Path(scratch)
        asked = {"tests": list(tests), "alone": alone}
        (directory / "tests.json").write_text(json.dumps(asked), encoding="utf-8")
        command = [
            sys.executable, "-m", "pytest", *plugin_args(), f"--fastci-confirm={directory}",
            "-p", "no:cacheprovider", "-q", *neutralizing_args(), *pytest_args,
        ]  # fmt: skip
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as out:
            out.write(f"== {'alone' if alone else 'after the whole collection'}\n")
            out.flush()
            subprocess.run(
                command,
                cwd=workdir,
                env=pytest_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        try:
            found = json.loads((directory / "outcomes.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # it could not even collect: every failure stands
    wanted = set(tests)
    return {t: str(o) for t, o in found.items() if t in wanted}


def as_passed(results: Sequence[TestResult], passed: frozenset[str]) -> list[TestResult]:
    """``results`` with each test in ``passed`` turned into a pass."""
    return [
        dataclasses.replace(r, outcome="passed", longrepr=None, crash=None)
        if r.id in passed and r.teardown_error is None
        else r
        for r in results
    ]


def confirm_failures(
    result: PoolResult,
    tests: Sequence[str],
    workdir: Path,
    pytest_args: Sequence[str],
    log_dir: Path,
) -> None:
    """Give ``tests`` (failures_to_confirm's) pytest's verdict (see the module's docstring)."""
    log = log_dir / LOG_NAME
    try:
        alone = outcomes_of(workdir, pytest_args, tests, log, alone=True)
        still = [t for t in tests if alone.get(t) == "failed"]
        whole = outcomes_of(workdir, pytest_args, still, log, alone=False) if still else {}
    except KeyboardInterrupt:
        result.interrupted = True
        return
    passed = frozenset(t for t in still if whole.get(t) == "passed")
    result.results = as_passed(result.results, passed)
    result.confirmed = sorted(passed)


def confirmed_note(tests: Sequence[str]) -> str:
    """The summary's line about tests that failed only for a test module not imported."""
    shown = 3
    more = f" and {len(tests) - shown} more" if len(tests) > shown else ""
    named = ", ".join(tests[:shown]) + more
    return (
        f"fastci: {len(tests)} failed test{'s' if len(tests) != 1 else ''} passed when run "
        f"again after importing the whole suite, as pytest does, and count as passed: "
        f"{named}. They rely on another test module's imports: import what they use in their "
        f"own module (the reruns' output: {LOG_NAME} in the bundle's logs)"
    )
