"""One real project for bench/affected.py: its git clone, its virtualenv, and the runs on it.

The clone comes from a local mirror of its GitHub history (or GitHub itself); the
virtualenv under the work directory holds pytest, pytest-testmon, fastci from this
checkout and the project installed editable, and is kept between runs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
TOOLS = ("pytest", "pytest-testmon")
MIRRORS = Path("/work/.mirror")
RUN_TIMEOUT = 600  # seconds: far above any full run of these suites


@dataclasses.dataclass(frozen=True)
class Spec:
    """Where a project's history lives and how its suite runs."""

    name: str
    github: str  # owner/name
    source: str  # the package directory the mutations go into
    tests: tuple[str, ...]  # what pytest is given
    needs: tuple[str, ...] = ()  # what its tests import beyond pytest
    # Left out of every tool's runs alike: tests that take seconds each (one takes two
    # minutes under pytest-testmon's tracing) would make every run too slow to replay.
    deselect: tuple[str, ...] = ()

    def pytest_args(self) -> list[str]:
        return [*(f"--deselect={d}" for d in self.deselect), *self.tests]


# Not pluggy, iniconfig or packaging: pytest itself imports them, so the project's own
# checkout (installed editable) would run the test runner, and a mutant would break pytest.
SPECS = {
    "tomli": Spec("tomli", "hukkin/tomli", "src/tomli", ("tests",)),
    "more-itertools": Spec(
        "more-itertools",
        "more-itertools/more-itertools",
        "more_itertools",
        ("tests",),
        deselect=(
            "tests/test_recipes.py::PrimeFunctionTests::test_primes",
            "tests/test_more.py::DiscreteFourierTransformTests::test_roundtrip",
            "tests/test_more.py::TestConcurrentTee::test_concurrent_consumers",
            "tests/test_more.py::TestSerialize::test_concurrent_calls",
            "tests/test_more.py::ExtractTests::test_all_orderings",
            "tests/test_more.py::IsliceExtendedTests::test_all",
        ),
    ),
}


@dataclasses.dataclass(frozen=True)
class Outcomes:
    """One pytest run: {nodeid: (outcome, seconds)} of the tests that ran, collection errors."""

    tests: dict[str, tuple[str, float]]
    errors: tuple[str, ...]

    @property
    def failing(self) -> set[str]:
        """Failed tests and the paths that failed to collect."""
        return {t for t, (outcome, _) in self.tests.items() if outcome == "failed"} | set(
            self.errors
        )

    def seconds(self, selection: Selection | None = None) -> float:
        """The seconds of every test, or of the tests ``selection`` holds."""
        return sum(s for t, (_, s) in self.tests.items() if selection is None or selection.holds(t))


@dataclasses.dataclass(frozen=True)
class Selection:
    """What a selector chose: the test ids, or everything (with why)."""

    tests: frozenset[str]
    everything: str | None = None
    deselected: frozenset[str] = frozenset()  # tests of a selected file proven unaffected

    def holds(self, test: str) -> bool:
        """Whether the test runs: selected by its id, or by its file (or a directory, or a
        class) that runs whole."""
        if self.everything is not None or test in self.tests:
            return True
        if test in self.deselected:
            return False
        path = test.split("::", 1)[0]
        parents = {test.rsplit("::", n)[0] for n in range(1, test.count("::") + 1)}
        parents |= {path.rsplit("/", n)[0] for n in range(1, path.count("/") + 1)}
        return not parents.isdisjoint(self.tests)

    def covers(self, failing: str) -> bool:
        """Whether a failing test, or a path that failed to collect, was selected."""
        if self.holds(failing):
            return True
        prefix = "" if failing == "." else failing
        return "::" not in failing and any(t.startswith(prefix) for t in self.tests)


class Project:
    """A project's clone and virtualenv under ``work/<name>``."""

    def __init__(self, spec: Spec, work: Path) -> None:
        self.spec = spec
        self.home = work / spec.name
        self.repo = self.home / "repo"
        self.venv = self.home / "venv"
        self.store = self.home / "fastci.db"
        self.testmon_data = self.home / "testmondata"
        self.outcomes_file = self.home / "outcomes.json"

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    def prepare(self) -> None:
        """Clone (once), build the virtualenv (once), reinstall fastci from this checkout."""
        self.home.mkdir(parents=True, exist_ok=True)
        if not self.repo.exists():
            mirror = MIRRORS / self.spec.github.replace("/", "+") / "repo"
            origin = str(mirror) if mirror.exists() else f"https://github.com/{self.spec.github}"
            self._check(["git", "clone", "--quiet", origin, str(self.repo)], self.home)
        pip = [self.python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        if not self.venv.exists():
            self._check([sys.executable, "-m", "venv", str(self.venv)], self.home)
            self._check([*pip, *TOOLS, *self.spec.needs, str(REPO)], self.home)
            self._check([*pip, "--no-deps", "-e", str(self.repo)], self.home)
        self._check([*pip, "--no-deps", "--force-reinstall", str(REPO)], self.home)

    def commits(self, count: int) -> list[str]:
        """The last ``count`` first-parent commits of the default branch (as cloned) and the
        parent of the oldest, oldest first."""
        argv = ["git", "rev-list", "--first-parent", f"--max-count={count + 1}", "origin/HEAD"]
        listed = self._check(argv, self.repo)
        return list(reversed(listed.split()))

    def checkout(self, commit: str) -> None:
        self._check(["git", "checkout", "--quiet", "--force", "--detach", commit], self.repo)
        self._check(["git", "clean", "-fdq"], self.repo)

    def changed_files(self, base: str, commit: str) -> list[str]:
        return self._check(["git", "diff", "--name-only", base, commit], self.repo).split()

    def pytest(self, *args: str, testmon: Path | None = None) -> Outcomes:
        """One run of the suite by plain pytest (``testmon``: with pytest-testmon on that
        data file), every outcome recorded by bench/affected_report.py."""
        self.outcomes_file.unlink(missing_ok=True)
        env = {
            "PYTHONPATH": str(BENCH),
            "FASTCI_BENCH_OUTCOMES": str(self.outcomes_file),
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        }
        plugins = ["-p", "affected_report"]
        if testmon is not None:
            env["TESTMON_DATAFILE"] = str(testmon)
            plugins += ["-p", "testmon.pytest_testmon", "--testmon"]
        self._run(
            [self.python, "-m", "pytest", "-q", *plugins, *args,
             *self.spec.pytest_args()],
            env,
        )  # fmt: skip
        if not self.outcomes_file.exists():  # pytest stopped before the session ran:
            return Outcomes({}, (".",))  # a broken conftest or plugin, so all of it failed
        seen = json.loads(self.outcomes_file.read_text())
        tests = {t: (outcome, seconds) for t, (outcome, seconds) in seen["tests"].items()}
        return Outcomes(tests, tuple(seen["errors"]))

    def testmon(self, data: Path) -> Selection:
        """The tests pytest-testmon runs with ``data`` (which it then updates)."""
        ran = self.pytest(testmon=data)
        return Selection(frozenset(ran.tests) | frozenset(ran.errors))

    def record(self) -> None:
        """A full `fastci run --record-deps` at the checked-out commit, into the store."""
        fastci = str(self.venv / "bin" / "fastci")
        argv = [fastci, "run", "--record-deps", "--store", str(self.store), "-j", "1"]
        proc = self._run([*argv, *self.spec.pytest_args()], {})
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{self.spec.name}: fastci run --record-deps: {_tail(proc)}")

    def affected(self, base: str) -> Selection | str:
        """`fastci affected --base BASE --json`'s selection, or its error line."""
        fastci = str(self.venv / "bin" / "fastci")
        argv = [fastci, "affected", "--base", base, "--json", "--store", str(self.store)]
        argv += self.spec.pytest_args()
        proc = self._run(argv, {})
        if proc.returncode != 0:
            return f"fastci affected exited {proc.returncode}: {_tail(proc)}"
        answer = json.loads(proc.stdout)
        return Selection(
            frozenset(answer["selected"]),
            answer.get("everything"),
            frozenset(answer.get("deselected", ())),
        )

    def copy_testmon(self, to: Path) -> Path:
        shutil.copyfile(self.testmon_data, to)
        return to

    def _run(self, argv: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        """The command's result; one that runs past RUN_TIMEOUT (a mutant that loops for
        ever) is killed, and a pytest run killed so leaves no outcomes: all of it failed."""
        try:
            return subprocess.run(
                argv,
                cwd=self.repo,
                env={**os.environ, "COLUMNS": "120", **env},
                capture_output=True,
                text=True,
                check=False,
                timeout=RUN_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(argv, -9, "", f"killed after {RUN_TIMEOUT} s")

    def _check(self, argv: Sequence[str], cwd: Path) -> str:
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {_tail(proc)}")
        return proc.stdout


def _tail(proc: subprocess.CompletedProcess[str]) -> str:
    return " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
