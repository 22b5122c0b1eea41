"""Benchmark: 4 runners, static shards against one Redis queue, when the estimates are wrong.

(Not bench/queue.py: run as a script, that name would hide the standard library's queue
module, which redis-py imports.)

    python bench/queue_vs_shards.py [--repeats 1] [--tests core/tests] [--seed 1] [--work DIR]

One full recorded run gives true durations; then every test's recorded durations are
multiplied by a random factor from 0.5 to 2 (seeded), as when the timings store is old or
the runners are unlike the machine that filled it. Both modes plan from that scaled store:

- static: ``fastci run --shard K/4 -j 1``, the 4 shards started together;
- queue: ``fastci run --queue URL -j 1``, 4 runners started together on one redis-server;
- ideal: the total work the queue runners measured, divided by 4.

Each mode's makespan is its slowest runner's wall time, start to end. The per-unit queue
overhead is the time Redis takes to hand out and record one unit (claim, renew, complete),
measured apart from the runs on the same server. The runners share this machine's cores,
so on a machine with fewer than 4 free cores every figure is slower than on 4 CI runners;
the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

from suite import DEFAULT_WORK, Suite, median

RUNNERS = 4
REPO = Path(__file__).resolve().parent.parent
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
    """Seconds of test work in the queue runners' bundles."""
    total = 0.0
    for path in results.glob("fastci-queue-*/results.jsonl"):
        for line in path.read_text().splitlines():
            row = json.loads(line)
            total += row["setup"] + row["call"] + row["teardown"]
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


def main() -> None:
    from tests.helpers.redis import RedisServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--tests", default="core/tests", help="SymPy's tests to run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    args = parser.parse_args()
    suite = Suite(args.work, tests=args.tests)
    suite.install()
    subprocess.run([str(suite.python), "-m", "pip", "install", "--quiet", "redis"], check=True)
    suite.record()
    store = scaled_store(suite, args.seed)
    server = RedisServer()
    try:
        ratios: dict[str, list[float]] = {"static": [], "queue": []}
        for repeat in range(args.repeats):
            results = args.work / "results" / f"queue-{repeat}"
            run = ["--store", str(store), "-j", "1"]
            static = together(
                [suite.fastci(f"--shard={k}/{RUNNERS}", *run) for k in range(1, RUNNERS + 1)],
                suite.root,
            )
            queue = together(
                [
                    suite.fastci("--queue", server.url(), "--run-id", f"bench-{repeat}",
                                 "--queue-job", f"r{k}", "--shards", str(RUNNERS),
                                 "--results", str(results), *run)
                    for k in range(1, RUNNERS + 1)
                ],
                suite.root,
            )  # fmt: skip
            ideal = work_done(results) / RUNNERS
            ratios["static"].append(max(static) / ideal)
            ratios["queue"].append(max(queue) / ideal)
            print(
                f"repeat {repeat + 1}: ideal {ideal:.1f}s; static "
                + " ".join(f"{t:.1f}" for t in static)
                + f" makespan {max(static):.1f}s; queue "
                + " ".join(f"{t:.1f}" for t in queue)
                + f" makespan {max(queue):.1f}s",
                flush=True,
            )
        overhead = unit_overhead(server.url())
    finally:
        server.stop()
    print(
        f"makespan / ideal (median of {args.repeats}): static shards "
        f"{median(ratios['static']):.2f}, queue {median(ratios['queue']):.2f}; "
        f"queue overhead per unit {overhead * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
