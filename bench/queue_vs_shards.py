"""Benchmark: static shards against one Redis queue when the stored timings are stale.

(Not bench/queue.py: run as a script, that name would hide the standard library's queue
module, which redis-py imports.)

    python bench/queue_vs_shards.py [--repeats 3] [--runners N] [--tests physics]
                                    [--deselect ID ...] [--all] [--seed 1] [--work DIR]

One full recorded run gives true durations; then every test's recorded durations are
multiplied by a random factor from 0.5 to 2 (seeded), as when the timings store is old or
the runners are unlike the machine that filled it. Both modes plan from that scaled store,
with as many runners as the machine has cores (``--runners``, default: the cores) and one
worker each, so no runner waits for a core another holds and the makespan measures the
balance, not the machine's oversubscription:

- static: ``fastci run --shard K/N -j 1``, the N shards started together;
- queue: ``fastci run --queue URL --shards N -j 1``, N runners started together on one
  local redis-server;
- ideal: the test work the static shards measured (each test once), divided by N; and the
  ideal with imports: that work plus the seconds the static shards spent collecting the
  test files (each file imported by one runner), divided by N.

Which tests: the makespan cannot come near the ideal when one test is a large part of it
(whichever runner takes it ends no sooner), so the suite must have no such tail. Most SymPy
test directories have one (pytest's durations on a busy 2-core machine: core/tests 11 s of
38 s, matrices/tests 42 s of 130 s, functions/elementary/tests 21 s of 63 s, polys/tests
96 s of 292 s). The default is SymPy's physics tests (1,515, 252 s) without their seven
longest (``DEFAULT_DESELECT``, test_bicycle's 95 s down to 5.7 s; pytest's --deselect
matches by prefix, so test_max_shear_force_Beam3D, 0.005 s, goes too): 1,507 tests and
115 s are left, the longest 3.8 s, 6.5% of a 2-runner ideal. ``--tests`` picks another
directory (then nothing is deselected but what ``--deselect`` names); ``--all`` keeps every
physics test.

Each mode's makespan is its slowest runner's wall time, start to end; both include every
runner's fixed cost (interpreter, pytest, conftest), which neither ideal does, and the
imports of the test files, which only the second ideal does. The per-unit queue
overhead is what Redis adds to one unit (claim, one lease renewal, results recorded),
measured apart on the same server; the queue runs' extra work (a file imported by each
runner that takes one of its units) is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from suite import DEFAULT_WORK, Suite, median

REPO = Path(__file__).resolve().parent.parent
DEFAULT_TESTS = "physics"
DEFAULT_DESELECT = (  # each over 5% of the rest of physics' test work, longest first
    "physics/mechanics/tests/test_kane3.py::test_bicycle",
    "physics/tests/test_clebsch_gordan.py::test_gaunt",
    "physics/tests/test_secondquant.py::test_sho",
    "physics/control/tests/test_lti.py::test_StateSpace_dsolve",
    "physics/mechanics/tests/test_kane.py::test_issue_24887",
    "physics/mechanics/tests/test_linearize.py::test_linearize_rolling_disc_kane",
    "physics/continuum_mechanics/tests/test_beam.py::test_max_shear_force",
)
sys.path.insert(0, str(REPO))  # tests.helpers.redis starts the server
sys.path.insert(0, str(REPO / "src"))


def scaled_store(suite: Suite, seed: int) -> Path:
    """The recorded store with every test's durations scaled by a factor from 0.5 to 2."""
    fastci = str(suite.venv / "bin" / "fastci")
    export = subprocess.run(
        [fastci, "timings", "export", "--store", str(suite.store)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    rng = random.Random(seed)
    lines = []
    for line in export.stdout.splitlines():
        row = json.loads(line)
        if row["type"] == "test":
            factor = rng.uniform(0.5, 2.0)
            for phase in ("setup", "call", "teardown"):
                row[phase] *= factor
        lines.append(json.dumps(row))
    report = suite.work / "scaled.jsonl"
    report.write_text("\n".join(lines) + "\n")
    store = suite.work / "scaled.db"
    store.unlink(missing_ok=True)
    subprocess.run([fastci, "timings", "import", "--store", str(store), str(report)], check=True)
    return store


def together(commands: list[list[str]], cwd: Path) -> list[float]:
    """Start every command at once; each one's wall seconds."""
    started = time.perf_counter()
    procs = [
        subprocess.Popen(c, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    ended: dict[int, float] = {}
    while len(ended) < len(procs):
        for n, proc in enumerate(procs):
            if n not in ended and proc.poll() is not None:
                ended[n] = time.perf_counter() - started
        time.sleep(0.05)
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode not in (0, 1):
            raise SystemExit(f"a runner failed ({proc.returncode}): {err[-2000:]}")
    return [ended[n] for n in range(len(procs))]


def work_done(results: Path) -> float:
    """Seconds of test work in the bundles under ``results``."""
    total = 0.0
    for path in results.glob("fastci-*/results.jsonl"):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            total += row["setup"] + row["call"] + row["teardown"]
    return total


def import_work(results: Path) -> float:
    """Seconds the bundles under ``results`` spent collecting test files (their imports)."""
    total = 0.0
    for path in results.glob("fastci-*/timings.jsonl"):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if row.get("type") == "file":
                total += row.get("collect") or 0.0
    return total


def unit_overhead(url: str, units: int = 500) -> float:
    """Seconds Redis takes per unit: claim, one renewal, complete."""
    from fastci.plan.planner import Unit
    from fastci.queue.client import RunQueue

    queue = RunQueue(url, f"overhead-{time.time()}", job="bench", owner="bench")
    queue.publish([Unit(f"u{n}", (f"t{n}.py",), 1.0) for n in range(units)])
    started = time.perf_counter()
    while (uid := queue.claim(30_000, 3)) is not None:
        queue.renew([uid], 30_000)
        queue.complete(uid, [{"id": f"{uid}::t", "file": uid, "outcome": "passed"}])
    return (time.perf_counter() - started) / units


def one_repeat(suite: Suite, store: Path, url: str, runners: int, repeat: int) -> dict[str, float]:
    """Static shards and queue runners (alternating which goes first), from the same stale
    store; the figures of this repeat."""
    results = suite.work / "results" / f"repeat-{repeat}"
    run = ["--store", str(store), "-j", "1"]
    run_id = f"bench-{time.time()}-{repeat}"  # one id for every runner: one queue
    commands = {
        "static": [
            suite.fastci(f"--shard={k}/{runners}", "--results", str(results / "static"), *run)
            for k in range(1, runners + 1)
        ],
        "queue": [
            suite.fastci("--queue", url, "--run-id", run_id,
                         "--queue-job", f"r{k}", "--shards", str(runners),
                         "--results", str(results / "queue"), *run)
            for k in range(1, runners + 1)
        ],
    }  # fmt: skip
    order = ["static", "queue"] if repeat % 2 == 0 else ["queue", "static"]  # warm caches alike
    walls = {mode: together(commands[mode], suite.root) for mode in order}
    static, queue = walls["static"], walls["queue"]
    figures = {
        "ideal": work_done(results / "static") / runners,
        "ideal with imports": (work_done(results / "static") + import_work(results / "static"))
        / runners,
        "static": max(static),
        "queue": max(queue),
        "queue work": work_done(results / "queue"),
        "static work": work_done(results / "static"),
    }
    print(
        f"repeat {repeat + 1}: ideal {figures['ideal']:.1f}s "
        f"({figures['ideal with imports']:.1f}s with the test files' imports); static "
        + " ".join(f"{t:.1f}" for t in static)
        + f" makespan {max(static):.1f}s; queue "
        + " ".join(f"{t:.1f}" for t in queue)
        + f" makespan {max(queue):.1f}s; test work static {figures['static work']:.1f}s, "
        f"queue {figures['queue work']:.1f}s",
        flush=True,
    )
    return figures


def main() -> None:
    from tests.helpers.redis import RedisServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--runners", type=int, default=os.cpu_count() or 2, help="default: this machine's cores"
    )
    parser.add_argument(
        "--tests", default=DEFAULT_TESTS, help="SymPy's tests to run (default: %(default)s)"
    )
    parser.add_argument(
        "--deselect", action="append", metavar="ID",
        help="a test to leave out, as pytest's --deselect (default: physics' longest seven, "
        "with the default --tests only)",
    )  # fmt: skip
    parser.add_argument(
        "--all", action="store_true", help="deselect nothing, not even physics' longest seven"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    args = parser.parse_args()
    default = DEFAULT_DESELECT if args.tests == DEFAULT_TESTS and not args.all else ()
    deselect = args.deselect or default
    suite = Suite(args.work, tests=args.tests, extra_args=[f"--deselect={i}" for i in deselect])
    suite.install()
    subprocess.run([str(suite.python), "-m", "pip", "install", "--quiet", "redis"], check=True)
    suite.record()
    store = scaled_store(suite, args.seed)
    load = os.getloadavg()[0]
    server = RedisServer()
    try:
        repeats = [
            one_repeat(suite, store, server.url(), args.runners, n) for n in range(args.repeats)
        ]
        overhead = unit_overhead(server.url())
    finally:
        server.stop()

    def ratio(mode: str, ideal: str = "ideal") -> float:
        return median([r[mode] / r[ideal] for r in repeats])

    extra = median([r["queue work"] / r["static work"] - 1 for r in repeats])
    print(
        f"{args.runners} runners, -j 1 each, timings scaled by 0.5-2 (seed {args.seed}); "
        f"load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end\n"
        f"makespan / ideal (median of {args.repeats}): static shards {ratio('static'):.2f}, "
        f"queue {ratio('queue'):.2f}; queue / static {ratio('queue') / ratio('static'):.2f}\n"
        f"over the ideal with the test files' imports: static shards "
        f"{ratio('static', 'ideal with imports'):.2f}, "
        f"queue {ratio('queue', 'ideal with imports'):.2f}\n"
        f"queue overhead per unit {overhead * 1000:.2f} ms (Redis, measured apart); "
        f"the queue runners' test work {extra:+.1%} against the static shards'"
    )


if __name__ == "__main__":
    main()
