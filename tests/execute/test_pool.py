"""The worker pool with real pytest workers: a pluggable scheduler, unreadable workers, and
processes tests leave behind."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from fastci.execute.ledger import Silent
from fastci.execute.pool import Pool
from fastci.execute.process import PoolOptions
from fastci.plan.planner import Unit
from tests.execute.test_run import manifest, run_local
from tests.helpers.cli import started_fastci, wait_for_file
from tests.helpers.projects import Project


class ShortestFirst:
    """A scheduler of the test's own: the reverse of the plan's order."""

    def __init__(self) -> None:
        self.units: list[Unit] = []
        self.asked: list[str] = []

    def add(self, units: Iterable[Unit]) -> None:
        self.units.extend(units)

    def next_for(self, worker: str) -> Unit | None:
        self.asked.append(worker)
        return self.units.pop() if self.units else None

    def requeue(self, unit: Unit, front: bool = True) -> None:
        self.units.append(unit) if front else self.units.insert(0, unit)

    def pending(self) -> int:
        return len(self.units)

    def drain(self) -> list[Unit]:
        left, self.units = self.units, []
        return left


def test_the_pool_runs_units_in_the_order_its_scheduler_chooses(
    project: Project, tmp_path: Path
) -> None:
    names = [f"tests/test_{n}.py" for n in range(3)]
    for name in names:
        project.write(name, "def test_it(): pass\n")
    scheduler = ShortestFirst()
    pool = Pool(
        PoolOptions(
            workdir=project.root, pytest_args=(), jobs=1, group_markers=(),
            log_dir=tmp_path / "logs", run_id="scheduler-test",
        ),
        scheduler=scheduler,
    )  # fmt: skip
    result = pool.run([Unit(n, (n,), 1.0) for n in names], Silent())
    assert [span.unit for span in result.units] == names[::-1]
    assert {r.id: r.outcome for r in result.results} == {f"{n}::test_it": "passed" for n in names}
    assert scheduler.asked == ["gw0"] * 4  # three units, then None: the worker ends


def test_a_worker_that_sends_an_unreadable_line_is_named_and_the_rest_still_run(
    project: Project, tmp_path: Path
) -> None:
    project.write(
        "tests/test_a.py",
        """
        import os, sys

        def test_before(): pass

        def test_garbles():
            arg = next(a for a in sys.argv if a.startswith("--fastci-worker="))
            os.write(int(arg.split(",")[1]), b'{"kind": "test", "id": 3}\\n')

        def test_after(): pass
        """,
    )
    proc, outcomes = run_local(project, tmp_path / "results")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert outcomes == {
        "tests/test_a.py::test_before": "passed",
        "tests/test_a.py::test_garbles": "crashed",
        "tests/test_a.py::test_after": "passed",
    }
    assert "Traceback" not in proc.stderr
    assert "sent a line fastci cannot read (bad 'test' message: field 'id'" in proc.stdout


FORKS = """
import os, pathlib, signal, time

def test_forks():
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a daemon would
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(40)
        os._exit(0)
    pathlib.Path("child.pid").write_text(str(pid))
"""


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for whoever adopted it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to see the child")
def test_a_child_a_test_leaves_running_is_named_and_ended_and_does_not_hold_up_the_run(
    project: Project, tmp_path: Path
) -> None:
    project.write("tests/test_a.py", FORKS + "\ndef test_after(): pass\n")
    started = time.monotonic()
    results = tmp_path / "results"
    proc = project.fastci("run", "-j", "1", "--results", str(results), timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert time.monotonic() - started < 20
    child = int((project.root / "child.pid").read_text())
    named = f"test tests/test_a.py::test_forks on worker gw0 left process {child}"
    assert named in proc.stderr
    assert not alive(child)
    leftovers = manifest(results / "fastci-local")["leftovers"]
    assert len(leftovers) == 1
    assert leftovers[0].startswith(named)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc to see the child")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_an_interrupt_ends_a_run_whose_test_left_a_child_that_ignores_signals(
    project: Project, sig: signal.Signals
) -> None:
    project.write("tests/test_a.py", FORKS + "\ndef test_slow(): time.sleep(30)\n")
    proc = started_fastci(project.root, "run", "-j", "1")
    pid_file = project.root / "child.pid"
    wait_for_file(pid_file)
    time.sleep(0.5)
    stopped_at = time.monotonic()
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=60)  # a loaded CI machine starts slowly
    finally:
        proc.kill()
    assert proc.returncode == 2, out + err
    assert time.monotonic() - stopped_at < 10
    child = int(pid_file.read_text())
    assert f"left process {child}" in err
    assert not alive(child)
