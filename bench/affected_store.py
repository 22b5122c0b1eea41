"""The size of fastci affected's recordings in the timings store, per 1,000 tests.

Records a real suite once (``fastci run -j 1 --record-deps`` in a copy of a git checkout,
more-itertools' by default), then saves that recording under COMMITS different commit ids
into a fresh store, one save per commit as a merge on each commit would, changing a few
tests' lists and one function between consecutive commits, as real commits do. Prints the
store's bytes per 1,000 tests after 1 recording and after all of them (the store keeps the
newest storage.KEEP_RECORDINGS), and projected for 10,000 tests. Byte counts, not times:
a busy machine changes nothing but the seconds a save takes (printed too).

    python bench/affected_store.py [--repo DIR] [--work DIR] [--commits 20] [--changes 5]

``--repo`` defaults to bench/affected.py's more-itertools checkout; any git checkout whose
tests run with fastci in this Python will do (it is copied, never written to).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from fastci.affected import storage
from fastci.affected.data import DepsData
from fastci.plan.store import TimingsStore
from suite import DEFAULT_WORK

# bench/affected.py's checkout of more-itertools, at its default --work
DEFAULT_REPO = DEFAULT_WORK / "affected" / "more-itertools" / "repo"


def recorded(repo: Path, work: Path) -> DepsData:
    """The suite's recording, made once in a copy of the checkout (never in ``repo``) and
    kept as JSON, so any layout of the store can be measured with it."""
    kept = work / "recording.json"
    if not kept.exists():
        copy, store = work / "repo", work / "recorded.db"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(repo, copy, symlinks=True)
        store.unlink(missing_ok=True)
        env = {**os.environ, "PYTHONPATH": str(copy)}
        command = [sys.executable, "-m", "fastci", "run", "-q", "-j", "1", "--record-deps",
                   "--store", str(store)]  # fmt: skip
        subprocess.run(command, cwd=copy, env=env, check=False, stdout=subprocess.DEVNULL)
        with TimingsStore(store) as db:
            data = storage.load(db, storage.recorded_commits(db)[0][0])
        kept.write_text(json.dumps(data.to_json()), encoding="utf-8")
    return DepsData.from_json(json.loads(kept.read_text(encoding="utf-8")))


def next_commit(data: DepsData, index: int, changes: int, rng: random.Random) -> DepsData:
    """The recording at the next commit, as one that edits a function does: that function's
    file has a new hash and the function a new body digest, and ``changes`` tests gain or
    lose a key."""
    tests = {t: dataclasses.replace(d, files=list(d.files)) for t, d in data.tests.items()}
    hashes, units = dict(data.hashes), {p: dict(u) for p, u in data.units.items()}
    if units:
        path = rng.choice(sorted(units))
        hashes[path] = units[path][rng.choice(sorted(units[path]))] = f"{index:016x}"
    keys = sorted({k for d in tests.values() for k in d.files})
    for test in rng.sample(sorted(tests), changes):
        tests[test].files = sorted(set(tests[test].files) ^ {rng.choice(keys)})
    commit = f"{index:040x}"
    return DepsData(commit, float(index), dict(data.env), hashes, tests, data.modules, units)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", type=Path, default=DEFAULT_REPO)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK / "affected-store")
    parser.add_argument("--commits", type=int, default=storage.KEEP_RECORDINGS)
    parser.add_argument("--changes", type=int, default=5, help="tests whose list changes")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    base = recorded(args.repo.resolve(), args.work)
    tests = len(base.tests)
    keys = sum(len(d.files) for d in base.tests.values())
    print(f"recording: {tests} tests, {keys / tests:.0f} keys a test on average, "
          f"{len(base.hashes)} files, {len(base.units)} with units")  # fmt: skip
    path = args.work / "store.db"
    path.unlink(missing_ok=True)
    with TimingsStore(path) as store:
        empty = used_bytes(store)
    rng, data, seconds = random.Random(0), base, []
    with TimingsStore(path) as store:
        for index in range(1, args.commits + 1):
            data = next_commit(data, index, args.changes, rng)
            started = time.perf_counter()
            storage.save(store, [data])
            seconds.append(time.perf_counter() - started)
            if index in (1, args.commits):
                report(store, used_bytes(store) - empty, tests, index)
    print(f"a save took {min(seconds):.3f}-{max(seconds):.3f} s")


def used_bytes(store: TimingsStore) -> int:
    """The database's pages in use (free pages, which SQLite fills again, left out)."""
    pages, free, size = (
        store.db.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("page_count", "freelist_count", "page_size")
    )
    return int((pages - free) * size)


def report(store: TimingsStore, size: int, tests: int, commits: int) -> None:
    """The recordings' bytes (the store's pages in use less an empty store's), scaled."""
    kept = len(storage.recorded_commits(store))
    per_1000 = size / tests * 1000
    print(f"{commits} commits ({kept} recordings kept): {size / 1e6:.3f} MB, "
          f"{per_1000 / 1e6:.3f} MB per 1,000 tests ({per_1000 / kept / 1e6:.4f} MB per "
          f"recording), about {per_1000 * 10 / 1e6:.2f} MB for 10,000 tests")  # fmt: skip


if __name__ == "__main__":
    main()
