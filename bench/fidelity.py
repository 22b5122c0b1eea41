"""Does `fastci run` agree with pytest on real suites? Each PyPI sdist's own tests run by plain
pytest, `fastci run -j 2` and three shards merged; a table of every mismatch is printed.

    python bench/fidelity.py [--work DIR] [NAME==VERSION ...]

The sdists are fetched with pip (`pip download --no-binary :all: --no-deps`) and their tests
run with this interpreter, so the package's own dependencies must be installed already; the
defaults need nothing beyond fastci's `[dev]` extra: pluggy (its pytest config has
`filterwarnings = error`), iniconfig (run with `--doctest-modules`) and attrs (session and
module fixtures, `--import-mode=importlib`, hypothesis).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.helpers.fidelity import Seen, by_fastci, by_pytest, by_shards  # noqa: E402

# sdist -> extra pytest arguments
DEFAULT_SDISTS = {
    "pluggy==1.7.0": (),
    "iniconfig==2.3.1": ("--doctest-modules",),
    "attrs==26.1.0": (),  # a session fixture (tests/test_funcs.py); needs hypothesis
}


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


def mismatches(pytest: Seen, other: Seen) -> list[str]:
    """What ``other`` saw differently from plain pytest, one phrase each."""
    found = []
    if other.code != pytest.code:
        found.append(f"exit {other.code} (pytest {pytest.code})")
    if dict(other.counts) != dict(pytest.counts):
        found.append(f"counts {dict(other.counts)} (pytest {dict(pytest.counts)})")
    extra, missing = other.junit - pytest.junit, pytest.junit - other.junit
    if extra or missing:
        found.append(f"JUnit: {sum(extra.values())} cases extra, {sum(missing.values())} missing")
    return found


def compare(spec: str, args: Sequence[str], work: Path) -> list[tuple[str, str, str]]:
    source = fetch(spec, work)
    rows = []
    seen = {}
    for way in (by_pytest, by_fastci, by_shards):
        copy = work / way.__name__ / source.name
        shutil.copytree(source, copy)
        seen[way.__name__] = way(copy, *args)
    pytest = seen["by_pytest"]
    rows.append((spec, "pytest", f"exit {pytest.code}, {dict(pytest.counts)}"))
    for name in ("by_fastci", "by_shards"):
        found = mismatches(pytest, seen[name]) or ["agrees"]
        rows += [(spec, name.removeprefix("by_"), text) for text in found]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="where sdists are unpacked (default: a temp dir)")
    parser.add_argument(
        "sdists", nargs="*", help="NAME==VERSION (default: pluggy, iniconfig, attrs)"
    )
    options = parser.parse_args()
    sdists = dict.fromkeys(options.sdists, ()) or DEFAULT_SDISTS
    rows = []
    with tempfile.TemporaryDirectory(prefix="fastci-fidelity-") as scratch:
        work = options.work or Path(scratch)
        for index, (spec, args) in enumerate(sdists.items()):
            rows += compare(spec, args, work / str(index))
    width = max(len(spec) for spec, _, _ in rows)
    print(f"{'sdist':<{width}}  {'run':<7}  result")
    for spec, way, text in rows:
        print(f"{spec:<{width}}  {way:<7}  {text}")


if __name__ == "__main__":
    main()
