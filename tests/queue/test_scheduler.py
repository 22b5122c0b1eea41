"""Queue mode end to end: real ``fastci run --queue`` processes on a real redis-server."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from fastci.execute.deadline import GRACE_SECONDS
from fastci.queue.client import RunQueue
from tests.helpers.projects import Project
from tests.helpers.redis import (
    LEASE,
    RedisServer,
    finish,
    kill_session,
    start_runner,
    wait_for,
)

FILES = 6


def write_suite(project: Project, slow_seconds: float = 0, quick_tests: str = "ab") -> set[str]:
    """Six quick files (a test per letter of ``quick_tests``), and one whose first attempt
    marks itself and sleeps; its test ids."""
    project.write("pyproject.toml", "[project]\nname = 'queued'\n")
    for n in range(FILES):
        project.write(
            f"tests/test_f{n}.py", "".join(f"def test_{x}():\n    pass\n\n" for x in quick_tests)
        )
    ids = {f"tests/test_f{n}.py::test_{x}" for n in range(FILES) for x in quick_tests}
    if slow_seconds:
        project.write(
            "tests/test_slow.py",
            f"""
            import os, pathlib, time

            MARK = pathlib.Path(__file__).parent.parent / "first-attempt"

            def test_slow():
                if not MARK.exists():  # the first runner to run it stalls here
                    tmp = MARK.with_suffix(".tmp")
                    tmp.write_text(f"{{os.getppid()}} {{os.getpid()}}")
                    tmp.rename(MARK)
                    time.sleep({slow_seconds})
            """,
        )
        ids.add("tests/test_slow.py::test_slow")
    return ids


def recorded_ids(url: str, run_id: str) -> Counter[str]:
    record = RunQueue(url, run_id, job="check", owner="check").read()
    return Counter(row["id"] for rows in record.results.values() for row in rows)


def bundle_ids(root: Path) -> Counter[str]:
    ids: Counter[str] = Counter()
    for results in (root / "results").glob("fastci-queue-*/results.jsonl"):
        ids.update(json.loads(line)["id"] for line in results.read_text().splitlines())
    return ids


def stall_one_of_three(
    project: Project, url: str, run_id: str, lease: str = LEASE
) -> tuple[subprocess.Popen[str], list[subprocess.Popen[str]], str]:
    """Three runners until one is stalled in the slow test: it, the others, its worker's pid."""
    runners = [start_runner(project.root, url, run_id, job, lease=lease) for job in "abc"]
    coordinator, worker = wait_for(project.root / "first-attempt").split()
    stalled = next(r for r in runners if str(r.pid) == coordinator)
    return stalled, [r for r in runners if r is not stalled], worker


def merge(project: Project, url: str, run_id: str) -> subprocess.CompletedProcess[str]:
    return project.fastci("merge", "--queue", url, "--run-id", run_id, "-o", "merged")


def test_three_runners_run_every_test_exactly_once(
    project: Project,
    redis_server: RedisServer,
) -> None:
    ids = write_suite(project)
    url = redis_server.url()
    runners = [start_runner(project.root, url, "three", job) for job in "abc"]
    outputs = finish(runners)
    assert [r.returncode for r in runners] == [0, 0, 0], outputs
    assert recorded_ids(url, "three") == Counter(ids)
    assert bundle_ids(project.root) == Counter(ids)  # each runner's bundle: only its own
    merged = merge(project, url, "three")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert f"{FILES} units published, {FILES} recorded, 0 given up" in merged.stdout
    assert f" {len(ids)} passed in " in merged.stdout


@pytest.mark.parametrize(
    ("quick_tests", "slow_at"),
    [("ab", 0), ("abcdefgh", -1)],  # a first run's plan guesses from test counts
    ids=["slow-unit-first", "slow-unit-last"],
)
def test_a_killed_runners_unit_finishes_on_another_and_the_merge_is_complete(
    project: Project, redis_server: RedisServer, quick_tests: str, slow_at: int
) -> None:
    # Last, the victim holds the slow unit while the other runners ask for more with their
    # own last tests held back: they once ended then, and the unit was never run.
    ids = write_suite(project, slow_seconds=600, quick_tests=quick_tests)
    url, run_id = redis_server.url(), f"killed-{slow_at}"
    victim, others, worker = stall_one_of_three(project, url, run_id)
    plan = RunQueue(url, run_id, job="check", owner="check").plan()
    assert plan[slow_at].id == "tests/test_slow.py", [(u.id, u.duration) for u in plan]
    kill_session(victim)  # the coordinator; its worker has a process group of its own
    subprocess.run(["kill", "-9", worker], check=True)
    victim.communicate(timeout=10)
    outputs = finish(others)
    assert [r.returncode for r in others] == [0, 0], outputs
    assert recorded_ids(url, run_id) == Counter(ids)
    merged = merge(project, url, run_id)
    assert merged.returncode == 0, merged.stdout + merged.stderr


def test_a_runner_paused_past_its_lease_records_nothing_twice(
    project: Project,
    redis_server: RedisServer,
) -> None:
    ids = write_suite(project, slow_seconds=4)
    url = redis_server.url()
    paused, others, _ = stall_one_of_three(project, url, "paused")
    paused.send_signal(signal.SIGSTOP)  # its worker runs on; it cannot renew its lease
    outputs = finish(others)  # one of them ran the slow unit again, quickly
    paused.send_signal(signal.SIGCONT)
    outputs += finish([paused])
    assert [r.returncode for r in [*others, paused]] == [0, 0, 0], outputs
    assert "its results here are dropped" in outputs[-1]
    assert recorded_ids(url, "paused") == Counter(ids)
    assert bundle_ids(project.root) == Counter(ids)
    assert merge(project, url, "paused").returncode == 0


def test_an_interrupted_runner_gives_its_unit_back_at_once(
    project: Project,
    redis_server: RedisServer,
) -> None:
    ids = write_suite(project, slow_seconds=600)
    url = redis_server.url()
    # A lease far longer than the wait below: only giving the unit back lets the others end.
    stopped, others, _ = stall_one_of_three(project, url, "interrupted", lease="600")
    stopped.send_signal(signal.SIGTERM)  # a cancelled CI job
    outputs = finish([stopped], timeout=60) + finish(others, timeout=60)
    assert stopped.returncode == 2, outputs
    assert [r.returncode for r in others] == [0, 0], outputs
    assert recorded_ids(url, "interrupted") == Counter(ids)
    assert bundle_ids(project.root) == Counter(ids)  # its bundle leaves out the unit it gave back


def test_redis_stopping_mid_run_fails_the_runner_with_exit_7_and_one_line(
    project: Project,
) -> None:
    write_suite(project, slow_seconds=60)
    server = RedisServer()  # its own: this test stops it
    runner = start_runner(project.root, server.url(), "stopped", "a")
    try:
        worker = wait_for(project.root / "first-attempt").split()[1]
        server.stop()
        out, err = runner.communicate(timeout=60)
        subprocess.run(["kill", "-9", worker], check=False)  # the stalled test's worker
    finally:
        server.stop()
        if runner.poll() is None:
            kill_session(runner)
            runner.communicate()
    assert runner.returncode == 7, out + err
    assert "lost the queue redis://127.0.0.1:" in err
    assert "results are incomplete" in err
    assert "Traceback" not in out + err


def test_a_retried_job_replays_the_units_it_ran(
    project: Project,
    redis_server: RedisServer,
) -> None:
    ids = write_suite(project)
    url = redis_server.url()
    first = finish([start_runner(project.root, url, "retried", "a")])
    assert "12 passed" in first[0]
    retry = start_runner(project.root, url, "retried", "a")
    again = finish([retry])
    assert retry.returncode == 0, again
    assert "12 passed" in again[0]  # every unit it ran, run again
    late = start_runner(project.root, url, "retried", "b")
    other = finish([late])
    assert late.returncode == 0, other  # nothing was left for it, which is no failure
    assert "0 units" in other[0], other
    assert recorded_ids(url, "retried") == Counter(ids)


def test_x_on_one_runner_stops_every_runner_taking_units(
    project: Project,
    redis_server: RedisServer,
) -> None:
    project.write("pyproject.toml", "[project]\nname = 'queued'\n")
    padding = "# the largest file, so the plan puts it first\n" * 200
    project.write("tests/test_bad.py", f"{padding}def test_bad():\n    assert False\n")
    for n in range(12):
        project.write(f"tests/test_f{n}.py", "import time\n\ndef test_a():\n    time.sleep(0.5)\n")
    url = redis_server.url()
    runners = [start_runner(project.root, url, "stop", job, "-x") for job in "abc"]
    outputs = finish(runners)
    assert sorted(r.returncode for r in runners)[-1] == 1, outputs
    record = RunQueue(url, "stop", job="check", owner="check").read()
    assert record.stopped == "a runner stopped the run after 1 failure(s)"
    assert len(record.done) < len(record.units)  # the others took no unit after it
    merged = merge(project, url, "stop")
    assert merged.returncode == 1, merged.stdout
    assert "a runner stopped the run after 1 failure(s);" in merged.stdout


def test_reruns_and_the_quarantine_work_for_queue_runners(
    project: Project, redis_server: RedisServer
) -> None:
    """A flaky test is rerun in a fresh worker and a quarantined failure fails nothing, as
    on one machine."""
    project.write(
        "tests/test_flaky.py",
        """
        import pathlib

        def test_fails_every_other_run():
            state = pathlib.Path(__file__).with_name("state")
            runs = int(state.read_text()) if state.exists() else 0
            state.write_text(str(runs + 1))
            assert runs % 2 == 1
        """,
    )
    project.write("tests/test_known.py", "def test_known_broken():\n    assert 0\n")
    project.write(
        "pyproject.toml",
        '[tool.fastci]\nquarantine = ["tests/test_known.py::test_known_broken"]\n',
    )
    proc = project.fastci(
        "run", "--queue", redis_server.url(), "--run-id", "flaky", "--reruns", "1", "-j", "2"
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr  # flaky fails unless allowed
    assert "1 failed, 1 flaky" in proc.stdout
    assert "1 quarantined, 1 of them not passed" in proc.stdout
    allowed = project.fastci(
        "run", "--queue", redis_server.url(), "--run-id", "allowed", "--reruns", "1",
        "--allow-flaky", "-j", "2",
    )  # fmt: skip
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


def test_a_runner_waiting_for_units_others_hold_stops_waiting_at_the_deadline(
    project: Project,
    redis_server: RedisServer,
) -> None:
    write_suite(project, slow_seconds=600)
    url = redis_server.url()
    began = time.monotonic()
    runners = [
        start_runner(project.root, url, "deadline", job, "--deadline", "3", lease="600")
        for job in "ab"
    ]
    coordinator, _ = wait_for(project.root / "first-attempt").split()
    stalled = next(r for r in runners if str(r.pid) == coordinator)
    waiting = next(r for r in runners if r is not stalled)
    output = finish([waiting], timeout=60)[0]
    # Not until the stalled unit's grace ends (3 + 10 s): at the deadline.
    assert time.monotonic() - began < 3 + GRACE_SECONDS - 3, output
    assert waiting.returncode == 0, output
    assert "the run's deadline passed while this runner waited for units" in output
    finish([stalled], timeout=60)
    assert stalled.returncode == 7
