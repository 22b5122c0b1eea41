"""Does `fastci run` agree with pytest on real suites? Each PyPI sdist's own tests run by plain
pytest, `fastci run -j 2` and three shards merged; a table of every mismatch is printed.

    python bench/fidelity.py [--work DIR] [NAME==VERSION ...]

The sdists are fetched with pip (`pip download --no-binary :all: --no-deps`) and their tests
run with this interpreter against the installed packages, so each package and what its tests
import must be installed already; the defaults need, beyond fastci's `[dev]` extra:

    pip install markupsafe==3.0.3 jinja2==3.1.6 six==1.17.0 idna==3.20 click==8.5.1 \\
        packaging==26.4 trio pretend tomli_w

A missing one is named in one line before anything runs. The script exits 1 when any run
disagrees with plain pytest.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.helpers import fidelity  # noqa: E402
from tests.helpers.fidelity import Seen, by_fastci, by_pytest, by_shards  # noqa: E402

WAYS = {"fastci -j 2": by_fastci, "3 shards + merge": by_shards}


@dataclasses.dataclass(frozen=True)
class Suite:
    """One sdist whose own tests are compared, and what in pytest they exercise."""

    spec: str
    exercises: str
    args: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # modules the tests import, the package itself included


DEFAULT_SUITES = (
    Suite("pluggy==1.7.0", "filterwarnings = error", needs=("pluggy",)),
    Suite("iniconfig==2.3.1", "doctests (--doctest-modules)", ("--doctest-modules",),
          needs=("iniconfig",)),
    Suite("attrs==26.1.0", "session and module fixtures, --import-mode=importlib, hypothesis",
          needs=("attrs", "hypothesis")),
    Suite("click==8.5.1", "filterwarnings = error, addopts -m deselecting 31,000 tests",
          needs=("click",)),
    Suite("idna==3.20", "unittest.TestCase classes, unicode data", needs=("idna",)),
    Suite("jinja2==3.1.6", "filterwarnings = error, async tests on trio",
          needs=("jinja2", "markupsafe", "trio")),
    Suite("markupsafe==3.0.3", "a parametrized session fixture, filterwarnings = error",
          needs=("markupsafe",)),
    Suite("six==1.17.0", "one test module at the root, pytest.skip inside tests",
          needs=("six",)),
    Suite("packaging==26.4", "64,000 parametrized tests, ids with brackets and quotes, "
          "--strict-config, -p no:logging", needs=("packaging", "pretend", "tomli_w")),
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Mismatch:
    """How one way of running a suite differed from plain pytest (all zero: it agreed)."""

    exit: int
    counts: int
    junit: int  # JUnit cases present in one run and not the other, either way

    def text(self, pytest: Seen, other: Seen) -> str:
        parts = []
        if self.exit:
            parts.append(f"exit {other.code} (pytest {pytest.code})")
        if self.counts:
            parts.append(f"counts {dict(other.counts)}")
        if self.junit:
            extra, missing = other.junit - pytest.junit, pytest.junit - other.junit
            parts.append(f"JUnit {sum(extra.values())} extra, {sum(missing.values())} missing")
        return "; ".join(parts) or "agrees"


def mismatch(pytest: Seen, other: Seen) -> Mismatch:
    extra, missing = other.junit - pytest.junit, pytest.junit - other.junit
    return Mismatch(
        exit=int(other.code != pytest.code),
        counts=int(dict(other.counts) != dict(pytest.counts)),
        junit=sum(extra.values()) + sum(missing.values()),
    )


def missing_modules(suites: Sequence[Suite]) -> list[str]:
    needed = dict.fromkeys(name for suite in suites for name in suite.needs)
    return [name for name in needed if importlib.util.find_spec(name) is None]


def fetch(spec: str, work: Path) -> Path:
    """The unpacked sdist of ``spec`` under ``work``."""
    downloads = work / "downloads"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:",
         "--no-deps", "--dest", str(downloads), spec],
        check=True,
    )  # fmt: skip
    name = spec.split("==", maxsplit=1)[0].lower().replace("-", "_")
    archive = next(p for p in downloads.glob("*.tar.gz") if p.name.lower().startswith(name))
    with tarfile.open(archive) as tar:
        tar.extractall(work / "src", filter="data")
    return work / "src" / archive.name.removesuffix(".tar.gz")


def compare(suite: Suite, work: Path) -> tuple[Seen, dict[str, Seen]]:
    """Plain pytest's run of the suite, and each other way's, each in a copy of its own."""
    source = fetch(suite.spec, work)
    seen = {}
    for name, way in {"pytest": by_pytest, **WAYS}.items():
        copy = work / name.split()[0] / source.name
        shutil.copytree(source, copy)
        seen[name] = way(copy, *suite.args)
    return seen.pop("pytest"), seen


def _counts(seen: Seen) -> str:
    return ", ".join(f"{n} {word}" for word, n in seen.counts.items())


def table(results: Sequence[tuple[Suite, Seen, dict[str, Seen]]]) -> tuple[list[str], int]:
    """The table's lines, and how many mismatches it shows."""
    head = ("sdist", "pytest", *WAYS)
    rows, total = [], 0
    for suite, pytest, others in results:
        found = {name: mismatch(pytest, seen) for name, seen in others.items()}
        total += sum(m.exit + m.counts + m.junit for m in found.values())
        texts = [found[name].text(pytest, others[name]) for name in WAYS]
        rows.append((suite.spec, f"exit {pytest.code}: {_counts(pytest)}", *texts))
    widths = [max(len(row[i]) for row in (head, *rows)) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in (head, *rows)]  # fmt: skip
    return [line.rstrip() for line in lines], total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="where sdists are unpacked (default: a temp dir)")
    parser.add_argument(
        "--timeout", type=float, default=900, help="seconds for one process (default: 900)"
    )
    parser.add_argument("sdists", nargs="*", help="NAME==VERSION (default: the nine above)")
    options = parser.parse_args()
    fidelity.TIMEOUT = options.timeout
    known = {suite.spec: suite for suite in DEFAULT_SUITES}  # their arguments, if named
    suites = [known.get(spec, Suite(spec, "")) for spec in options.sdists] or list(DEFAULT_SUITES)
    missing = missing_modules(suites)
    if missing:
        raise SystemExit(f"fidelity: the suites' tests need {', '.join(missing)}: "
                         f"pip install {' '.join(missing)}")  # fmt: skip
    results = []
    with tempfile.TemporaryDirectory(prefix="fastci-fidelity-") as scratch:
        work = options.work or Path(scratch)
        for index, suite in enumerate(suites):
            pytest, others = compare(suite, work / str(index))
            results.append((suite, pytest, others))
            print(
                f"{suite.spec}: "
                + "; ".join(
                    f"{name}: {mismatch(pytest, seen).text(pytest, seen)}"
                    for name, seen in others.items()
                )
                + f" (pytest: exit {pytest.code}, {_counts(pytest)})",
                file=sys.stderr,
                flush=True,
            )
    lines, total = table(results)
    print("\n".join(lines))
    print(f"\n{total} mismatches (exit codes, summary counts, JUnit cases) in {len(suites)} suites")
    sys.exit(1 if total else 0)


if __name__ == "__main__":
    main()
