"""One worker process: a pytest started in its own session, two pipes, and its exit.

A worker leads its own process group (``start_new_session``), so whatever its tests start
stays in that group unless it makes a session of its own: signals go to the whole group,
and what is left in it when the worker ends is found there (``fastci.execute.leftovers``).
The worker is not reaped until its group is clean, so its group id cannot be reused by an
unrelated process meanwhile.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from fastci.execute.channel import write_all
from fastci.execute.timeouts import stacks_path
from fastci.plugin.launch import (
    STACKS_VARIABLE,
    TIMEOUT_VARIABLE,
    neutralizing_args,
    plugin_args,
    pytest_env,
)


@dataclasses.dataclass(frozen=True)
class Launch:
    """How every worker of a run starts."""

    workdir: Path  # where the workers' pytest runs, as the user's own pytest would
    pytest_args: Sequence[str]
    group_markers: Sequence[str]
    env: dict[str, str]  # on top of fastci's own; each worker adds its slot's name
    log_dir: Path


@dataclasses.dataclass(frozen=True)
class PoolOptions:
    """What a run asks of its pool of workers."""

    workdir: Path  # where the workers' pytest runs, as the user's own pytest would
    pytest_args: Sequence[str]
    jobs: int
    group_markers: Sequence[str]
    log_dir: Path
    run_id: str
    extra_env: dict[str, str] = dataclasses.field(default_factory=dict)
    timeout: float = 0.0  # seconds a test may run (its marker overrides it); 0: no limit
    deadline: float = 0.0  # seconds from the start after which no unit starts; 0: none
    reruns: int = 0  # times a failed test runs again, each time in a fresh worker

    def launch(self) -> Launch:
        """How each of the pool's workers starts."""
        return Launch(
            workdir=self.workdir,
            pytest_args=self.pytest_args,
            group_markers=self.group_markers,
            env={
                **self.extra_env,
                "PYTEST_XDIST_WORKER_COUNT": str(self.jobs),
                "PYTEST_XDIST_TESTRUNUID": self.run_id,
                TIMEOUT_VARIABLE: repr(self.timeout),
            },
            log_dir=self.log_dir,
        )


@dataclasses.dataclass
class WorkerProcess:
    slot: str
    proc: subprocess.Popen[bytes]
    to_worker: int
    from_worker: int  # non-blocking: a stray child may hold the pipe open after the worker ends
    log_path: Path
    started: float

    @property
    def stacks_path(self) -> Path:
        return stacks_path(self.log_path)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @classmethod
    def spawn(cls, slot: str, launch: Launch, discover_to: Path | None = None) -> WorkerProcess:
        """Start a worker; with ``discover_to``, one that first writes the suite's files there."""
        to_read, to_write = os.pipe()
        from_read, from_write = os.pipe()
        command = [
            sys.executable, "-m", "pytest", *plugin_args(),
            f"--fastci-worker={to_read},{from_write}",
            *([f"--fastci-discover={discover_to}"] if discover_to else []),
            f"--fastci-group-markers={','.join(launch.group_markers)}",
            "-q", *launch.pytest_args,
            *neutralizing_args(),  # last, so the user's own -n or --cov cannot fan out a worker
        ]  # fmt: skip
        log_path = launch.log_dir / f"{slot}.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                command, cwd=launch.workdir,
                env=pytest_env({
                    **launch.env, "FASTCI_WORKER_ID": slot, "PYTEST_XDIST_WORKER": slot,
                    STACKS_VARIABLE: str(stacks_path(log_path)),
                }),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                pass_fds=(to_read, from_write),
                start_new_session=True,  # Ctrl-C reaches the coordinator, which stops workers once
            )  # fmt: skip
        os.close(to_read)
        os.close(from_write)
        os.set_blocking(from_read, False)
        return cls(slot, proc, to_write, from_read, log_path, started=time.time())

    def send(self, data: bytes) -> None:
        with contextlib.suppress(OSError):  # gone: its end is noticed by the pool's loop
            write_all(self.to_worker, data)

    def read(self) -> bytes | None:
        """What has arrived; b"" at end of file, None if nothing is there yet."""
        try:
            return os.read(self.from_worker, 1 << 16)
        except BlockingIOError:
            return None
        except OSError:
            return b""

    def read_rest(self) -> bytes:
        """Everything still in the pipe, for an ended worker (a stray may hold it open)."""
        chunks = []
        while data := self.read():
            chunks.append(data)
        return b"".join(chunks)

    def signal_group(self, sig: signal.Signals) -> None:
        """Signal the worker and everything it started that stayed in its process group."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def exit_status(self, block: bool = False) -> int | None:
        """Its exit code (-N: killed by signal N) once it has ended, else None.

        The process is left unreaped (``WNOWAIT``): ``reap`` does that, once its group is clean.
        """
        flags = os.WEXITED | os.WNOWAIT | (0 if block else os.WNOHANG)
        try:
            info = os.waitid(os.P_PID, self.pid, flags)
        except ChildProcessError:
            return self.proc.returncode  # already reaped
        if info is None:
            return None
        return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status

    def close_pipes(self) -> None:
        for fd in (self.from_worker, self.to_worker):
            with contextlib.suppress(OSError):
                os.close(fd)

    def reap(self) -> int:
        return self.proc.wait()

    def tail(self, lines: int) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        if not text:
            return ""
        return "--- last lines of the worker's output ---\n" + "\n".join(text[-lines:])


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"was killed by {name}{hint}"
    return f"exited with code {returncode}"
