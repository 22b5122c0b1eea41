"""Recording overhead of ``fastci run --record-deps`` beside pytest-testmon, on SymPy's tests.

fastci affected needs each test's dependencies recorded during a normal run; this measures
what that costs beside what a user would pick instead, pytest-testmon (whose recording run
is ``pytest --testmon`` with no data yet). Four commands run in turn each repeat, all on one
process so the cost is not hidden by parallelism: plain ``pytest``, ``pytest --testmon``,
``fastci run -j 1`` and ``fastci run -j 1 --record-deps``. The installed SymPy is made a git
repository first (recordings are keyed by commit). Prints medians, the ratios to plain
pytest, and the store's size per test.

    python bench/affected_overhead.py [--repeats 3] [--tests core/tests] [--work DIR]
    python bench/affected_overhead.py --project more-itertools [--repeats 3] [--work DIR]

``--project`` measures on one of bench/affected.py's projects instead: its git checkout at
the default branch's head, in the virtualenv that benchmark keeps (the code under test is
the checkout, not an installed package, as in a project's own CI).
"""

from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

from affected_project import SPECS, Project
from suite import DEFAULT_WORK, Suite, in_turn


def make_repository(root: Path) -> None:
    """The installed package as a git repository with one commit, once."""
    if (root / ".git").exists():
        return
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@fastci.invalid"]
    for args in (["init", "--quiet"], ["add", "--all"], ["commit", "--quiet", "-m", "sympy"]):
        subprocess.run([*git, *args], cwd=root, check=True)


def with_cache(command: list[str]) -> list[str]:
    """The command with pytest's cache plugin left on: pytest-testmon needs it."""
    at = command.index("no:cacheprovider")
    return command[: at - 1] + command[at + 1 :]


def store_size(store: Path, python: str) -> tuple[int, int]:
    """(bytes of the store, tests recorded in its newest recording), read by fastci in the
    benchmark's own virtualenv (``python``)."""
    count = (
        "import sys; from pathlib import Path; from fastci.affected import storage; "
        "from fastci.plan.store import TimingsStore\n"
        "with TimingsStore(Path(sys.argv[1])) as s:\n"
        "    c = storage.recorded_commits(s)\n"
        "    print(len(storage.load(s, c[0][0]).tests) if c else 0)"
    )
    out = subprocess.run(
        [python, "-c", count, str(store)], capture_output=True, text=True, check=False
    )
    tests = int(out.stdout.strip() or 0) if out.returncode == 0 else 0
    return store.stat().st_size, tests


def on_project(name: str, work: Path, repeats: int) -> None:
    """The four commands on a project's checkout (bench/affected_project.py)."""
    project = Project(SPECS[name], work)
    project.prepare()
    root, bin_dir = project.repo, project.venv / "bin"
    args = project.spec.pytest_args()
    store = project.home / "overhead.db"
    fastci = [str(bin_dir / "fastci"), "run", "-q", "-j", "1", "--store", str(store), *args]
    commands = {
        "pytest": [project.python, "-m", "pytest", "-q", *args],
        "pytest --testmon": [project.python, "-m", "pytest", "-q", "--testmon", *args],
        "fastci -j 1": fastci,
        "fastci -j 1 --record-deps": [*fastci[:2], "--record-deps", *fastci[2:]],
    }

    testmon_data = project.home / "overhead.testmondata"
    os.environ["TESTMON_DATAFILE"] = str(testmon_data)  # the commands inherit it

    def forget() -> None:  # every repeat records from nothing, for both tools
        store.unlink(missing_ok=True)
        for data in project.home.glob(f"{testmon_data.name}*"):
            data.unlink()

    report(in_turn(commands, root, repeats, forget), store, project.python)


def report(medians: dict[str, float], store: Path, python: str) -> None:
    recording = medians["fastci -j 1 --record-deps"]
    print(f"ratio recording / plain pytest = {recording / medians['pytest']:.2f} (target <= 1.3)")
    testmon = medians["pytest --testmon"]
    print(f"ratio pytest-testmon / plain pytest = {testmon / medians['pytest']:.2f}")
    print(f"ratio recording / fastci without = {recording / medians['fastci -j 1']:.2f}")
    size, tests = store_size(store, python)
    print(f"store: {size / 1024:.0f} KiB for {tests} tests ({size / max(tests, 1):.0f} bytes/test)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tests", default="core/tests", help="SymPy test path to run")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--project", choices=sorted(SPECS), help="a project's checkout instead")
    args = parser.parse_args()
    if args.project:
        on_project(args.project, args.work, args.repeats)
        return
    suite = Suite(args.work, tests=args.tests)
    suite.install()
    pip = [str(suite.python), "-m", "pip", "install", "--quiet", "pytest-testmon"]
    subprocess.run(pip, check=True)
    make_repository(suite.root)
    recorded_store = args.work / "recorded.db"
    commands = {
        "pytest": suite.pytest(),
        "pytest --testmon": with_cache(suite.pytest("--testmon")),
        "fastci -j 1": suite.fastci("-j", "1"),
        "fastci -j 1 --record-deps": [
            *suite.fastci("-j", "1", "--record-deps")[:3],
            str(recorded_store),  # its own store, so its size is the recording's
            *suite.fastci("-j", "1", "--record-deps")[4:],
        ],
    }

    def forget() -> None:  # every repeat records from nothing, for both tools
        recorded_store.unlink(missing_ok=True)
        (suite.root / ".testmondata").unlink(missing_ok=True)

    report(in_turn(commands, suite.root, args.repeats, forget), recorded_store, str(suite.python))


if __name__ == "__main__":
    main()
