"""Building bundle directories: rivals writing the same name at once both succeed, cleanly."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastci.results.building import building, remove_leftovers
from fastci.results.bundle import read_bundle
from tests.helpers.shop import write_project

RIVALS = 6


def _build(final: Path, writer: str, ready: Any) -> None:
    """Build ``final`` holding ``writer``; swap it in once every rival is ready to as well."""
    with building(final) as scratch:
        (scratch / "writer.txt").write_text(writer)
        (scratch / "logs").mkdir()
        ready.wait(timeout=60)  # every rival swaps at the same moment


def _build_in_a_process(args: tuple[str, str, Any]) -> None:
    final, writer, ready = args
    _build(Path(final), writer, ready)


def test_threads_building_one_directory_at_once_all_succeed_and_leave_one(
    tmp_path: Path,
) -> None:
    final = tmp_path / "results" / "fastci-local"
    for round_ in range(5):
        ready = threading.Barrier(RIVALS)
        with ThreadPoolExecutor(RIVALS) as pool:
            done = [pool.submit(_build, final, f"{round_}-{n}", ready) for n in range(RIVALS)]
            for future in done:
                future.result()  # raises what the thread raised
        assert (final / "writer.txt").read_text().startswith(f"{round_}-")
        assert sorted(p.name for p in final.parent.iterdir()) == ["fastci-local"]


def test_processes_building_one_directory_at_once_all_succeed_and_leave_one(
    tmp_path: Path,
) -> None:
    final = tmp_path / "results" / "fastci-shard-1-of-2"
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        ready = manager.Barrier(4)
        with context.Pool(4) as pool:
            pool.map(_build_in_a_process, [(str(final), f"p{n}", ready) for n in range(4)])
    assert (final / "writer.txt").read_text() in {f"p{n}" for n in range(4)}
    assert sorted(p.name for p in final.parent.iterdir()) == [final.name]


def test_two_fastci_runs_writing_the_same_bundle_at_once_both_succeed(tmp_path: Path) -> None:
    root = write_project(tmp_path / "shop")
    results = tmp_path / "results"
    command = [sys.executable, "-m", "fastci", "run", "-j", "1", "--results", str(results)]
    runs = [
        subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120)[0].decode() for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outputs
    assert "Traceback" not in "".join(outputs)
    assert sorted(p.name for p in results.iterdir()) == ["fastci-local"]
    assert len(read_bundle(results / "fastci-local").results) == 17


def test_leftovers_of_dead_processes_are_removed_and_a_live_ones_kept(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(gone.stdout)
    results = tmp_path / "results"
    results.mkdir()
    final = results / "fastci-local"
    leftovers = [
        results / f"fastci-local.partial-{dead}",
        results / f"fastci-local.partial-{dead}-0a1b2c3d",
        results / f".fastci-local.old-{dead}-0a1b2c3d",
    ]
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as alive:
        live = results / f"fastci-local.partial-{alive.pid}-0a1b2c3d"
        others = [live, results / f"fastci-shard-1-of-2.partial-{dead}"]
        for path in [*leftovers, *others]:
            path.mkdir()

        with building(final) as scratch:
            (scratch / "manifest.json").write_text("{}")

        alive.kill()
    assert sorted(p.name for p in results.iterdir()) == sorted(
        ["fastci-local", *(p.name for p in others)]
    )
    assert remove_leftovers(final) == [live]  # its process is gone now
