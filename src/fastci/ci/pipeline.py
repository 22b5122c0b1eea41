"""The CI pipeline on this machine: gate, deps, lint, shards, merge, as the workflow runs them.

Each step is a fastci (or linter) command the generated workflow runs too, as its own
process, in the environment fastci runs in (it installs nothing), so a failure in CI
reproduces here with one command. Shards run side by side as far as the cores allow, all
under one run id. A pipeline's own record goes under ``.fastci/pipeline/<id>/``: each step's
log, the shards' bundles, the merged results, the HTML report, and ``pipeline.json`` (each
step's status, exit code and time); like CI, it also updates the timings store (the merge)
and the wheelhouse (``deps build``).

A pipeline started with ``--group NAME`` cancels a still-running one of the same group
first, the way CI's concurrency groups cancel superseded runs: the old one stops its steps,
marks its results cancelled, and exits with code 2.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType

from fastci.ci.lint import LintCommand, choose_linters, lint_commands
from fastci.config import Config
from fastci.errors import ExitCode
from fastci.files import ensure_dir, write_atomically
from fastci.settings import cpu_count

KEEP_PIPELINES = 5
CANCEL_WAIT_SECONDS = 60.0
CANCEL_REQUEST = "cancel-requested"


@dataclasses.dataclass(frozen=True)
class PipelineOptions:
    shards: int
    base: str | None = None
    group: str | None = None
    force: bool = False  # run even when the gate says the change cannot affect the tests
    skip: frozenset[str] = frozenset()  # steps not to run: "deps", "lint"
    fail_under: float | None = None
    pytest_args: tuple[str, ...] = ()


@dataclasses.dataclass
class StepResult:
    name: str
    command: list[str]
    status: str = "pending"  # passed, failed, skipped, cancelled
    exit_code: int | None = None
    seconds: float = 0.0
    note: str = ""
    passing_codes: tuple[int, ...] = (0,)  # the gate's "nothing to run" (9) passes too

    @property
    def log_name(self) -> str:
        return self.name.replace("/", "-of-").replace(" ", "-") + ".log"


@dataclasses.dataclass
class PipelineResult:
    id: str
    directory: Path
    steps: list[StepResult] = dataclasses.field(default_factory=list)
    status: str = "running"
    exit_code: int = ExitCode.OK
    started: float = dataclasses.field(default_factory=time.time)
    finished: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "status": self.status,
            "exit_code": self.exit_code,
            "started": self.started,
            "finished": self.finished,
            "steps": [
                {k: v for k, v in dataclasses.asdict(s).items() if k != "passing_codes"}
                for s in self.steps
            ],
        }


class Cancelled(Exception):
    """A newer pipeline of the same group, or a signal, asked this one to stop."""


# A step's progress is told to the caller as (step, "started" | "finished").
Reporter = Callable[[StepResult, str], None]


def fastci_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "fastci", *args]


class Pipeline:
    def __init__(self, config: Config, options: PipelineOptions, report: Reporter) -> None:
        self.config = config
        self.options = options
        self.report = report
        pipeline_id = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"
        self.result = PipelineResult(
            pipeline_id, config.root / ".fastci" / "pipeline" / pipeline_id
        )
        self.running: list[subprocess.Popen[bytes]] = []

    @property
    def directory(self) -> Path:
        return self.result.directory

    def run(self) -> PipelineResult:
        ensure_dir(self.directory / "logs")
        _prune_old(self.directory.parent, keep=KEEP_PIPELINES)
        try:
            with self._group(), _cancel_on_signals():
                self._steps()
        except Cancelled:
            self._mark_cancelled()
        self.result.finished = time.time()
        self._save()
        return self.result

    # -- the steps --------------------------------------------------------------------

    def _steps(self) -> None:
        o = self.options
        gate = self._run_step(
            "gate",
            fastci_command("gate", *_base_args(o.base)),
            passing_codes=(ExitCode.OK, ExitCode.GATE_SKIP),
        )
        if gate.status == "failed":
            self._finish("failed", gate.exit_code or ExitCode.USAGE_ERROR)
            return
        if gate.exit_code == ExitCode.GATE_SKIP and not o.force:
            self._finish("skipped", ExitCode.OK)
            return
        deps = None
        if "deps" not in o.skip:
            deps = self._run_step("deps", fastci_command("deps", "build"))
        lint_failed = False
        if "lint" not in o.skip:
            for lint in installed_lint(self.config.root):
                step = self._run_step(f"lint {lint.name}", list(lint.argv))
                lint_failed |= step.status == "failed"
        merged = self._tests()
        if merged != ExitCode.OK:
            self._finish("failed", merged)
        elif lint_failed:
            self._finish("failed", ExitCode.TESTS_FAILED)
        elif deps is not None and deps.status == "failed":
            self._finish("failed", ExitCode.DEPENDENCIES_FAILED)
        else:
            self._finish("passed", ExitCode.OK)

    def _tests(self) -> int:
        """Every shard, side by side as far as the cores allow; then the merge's verdict."""
        o = self.options
        shards_dir = self.directory / "shards"
        parallel = max(1, min(o.shards, cpu_count()))
        jobs = max(1, cpu_count() // parallel)
        env = {"FASTCI_RUN_ID": f"pipeline-{self.result.id}"}
        steps = [
            StepResult(
                f"shard {k}/{o.shards}",
                fastci_command(
                    "run",
                    "--shard",
                    f"{k}/{o.shards}",
                    "-j",
                    str(jobs),
                    "--results",
                    str(shards_dir),
                    *o.pytest_args,
                ),
            )
            for k in range(1, o.shards + 1)
        ]
        self._run_side_by_side(steps, parallel, env)
        merge_args = [
            "merge", "--expect-shards", str(o.shards), str(shards_dir),
            "-o", str(self.directory / "merged"), "--html", str(self.directory / "report.html"),
        ]  # fmt: skip
        if o.fail_under is not None:
            merge_args += ["--fail-under", f"{o.fail_under:g}"]
        merge = self._run_step("merge", fastci_command(*merge_args))
        return merge.exit_code if merge.exit_code is not None else ExitCode.INTERNAL_ERROR

    # -- running processes --------------------------------------------------------------

    def _run_step(
        self, name: str, command: list[str], passing_codes: tuple[int, ...] = (0,)
    ) -> StepResult:
        step = StepResult(name, command, passing_codes=passing_codes)
        self._run_side_by_side([step], 1, {})
        return step

    def _run_side_by_side(
        self, steps: Sequence[StepResult], parallel: int, env: dict[str, str]
    ) -> None:
        waiting = list(steps)
        active: dict[subprocess.Popen[bytes], tuple[StepResult, float]] = {}
        try:
            while waiting or active:
                while waiting and len(active) < parallel:
                    step = waiting.pop(0)
                    self.result.steps.append(step)
                    self.report(step, "started")
                    active[self._start(step, env)] = (step, time.monotonic())
                for proc in [p for p in active if p.poll() is not None]:
                    step, began = active.pop(proc)
                    self.running.remove(proc)
                    step.seconds = time.monotonic() - began
                    step.exit_code = proc.returncode
                    step.status = "passed" if proc.returncode in step.passing_codes else "failed"
                    self.report(step, "finished")
                time.sleep(0.05)
        except Cancelled:
            for step, _ in active.values():
                step.status = "cancelled"
            for step in waiting:
                step.status = "cancelled"
                self.result.steps.append(step)
            self._stop_running()
            raise

    def _start(self, step: StepResult, env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.directory / "logs" / step.log_name).open("wb")
        with log:
            proc = subprocess.Popen(
                step.command, cwd=self.config.root, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env={**os.environ, **env}, start_new_session=True,
            )  # fmt: skip
        self.running.append(proc)
        return proc

    def _stop_running(self) -> None:
        """End the steps under way as CI ends a cancelled job: SIGTERM, then SIGKILL."""
        for proc in self.running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.running:
            _wait_or_kill(proc, deadline)
        self.running.clear()

    # -- the outcome --------------------------------------------------------------------

    def _finish(self, status: str, exit_code: int) -> None:
        self.result.status = status
        self.result.exit_code = exit_code

    def _mark_cancelled(self) -> None:
        request = self.directory / CANCEL_REQUEST
        by = request.read_text().strip() if request.exists() else ""
        self.result.status = "cancelled"
        self.result.exit_code = ExitCode.INTERRUPTED
        for step in self.result.steps:
            if step.status == "pending":
                step.status = "cancelled"
        if by:
            self.result.steps.append(StepResult("cancel", [], "cancelled", note=by))

    def _save(self) -> None:
        write_atomically(
            self.directory / "pipeline.json", json.dumps(self.result.to_json(), indent=1) + "\n"
        )

    # -- concurrency groups -------------------------------------------------------------

    @contextlib.contextmanager
    def _group(self) -> Iterator[None]:
        """Hold the group for this pipeline's lifetime, cancelling the one holding it now."""
        group = self.options.group
        if group is None:
            yield
            return
        lock = self.config.root / ".fastci" / "pipeline" / f"group-{_safe(group)}.json"
        _cancel_holder(lock, f"cancelled by pipeline {self.result.id} (group {group})")
        write_atomically(lock, json.dumps({"pid": os.getpid(), "dir": str(self.directory)}))
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError):
                if json.loads(lock.read_text()).get("pid") == os.getpid():
                    lock.unlink()


def installed_lint(root: Path) -> list[LintCommand]:
    """The lint commands the generated workflow runs (lint_commands decides both), of the
    linters installed here: CI installs them, here not having one is the user's choice."""
    commands = lint_commands(choose_linters("auto", root), root)
    return [command for command in commands if shutil.which(command.name) is not None]


def _wait_or_kill(proc: subprocess.Popen[bytes], deadline: float) -> None:
    """Wait for ``proc`` until ``deadline`` (a monotonic time), then kill its process group."""
    try:
        proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _cancel_holder(lock: Path, reason: str) -> None:
    """Ask the pipeline holding ``lock`` to stop, and wait until it has."""
    try:
        holder = json.loads(lock.read_text())
        pid, directory = int(holder["pid"]), Path(holder["dir"])
    except (OSError, ValueError, KeyError, TypeError):
        return
    if pid == os.getpid() or not _alive(pid):
        return
    with contextlib.suppress(OSError):
        (directory / CANCEL_REQUEST).write_text(reason + "\n")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + CANCEL_WAIT_SECONDS
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by its parent) is not running any more.
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return False
    return True


@contextlib.contextmanager
def _cancel_on_signals() -> Iterator[None]:
    def cancel(signum: int, frame: FrameType | None) -> None:
        raise Cancelled

    previous = {s: signal.signal(s, cancel) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _base_args(base: str | None) -> list[str]:
    return ["--base", base] if base else []


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _prune_old(parent: Path, keep: int) -> None:
    runs = sorted(p for p in parent.iterdir() if p.is_dir())
    for old in runs[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
