"""A real redis-server for queue-mode tests, on 127.0.0.1 and a free port, nothing on disk."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

REDIS_SERVER = "/usr/bin/redis-server"
LEASE = "2"  # seconds: a killed runner's units come back quickly


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    def __init__(self, password: str | None = None) -> None:
        self.port = free_port()
        self.password = password
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        if password:
            args += ["--requirepass", password]
        self.process = subprocess.Popen(
            [REDIS_SERVER, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.time() + 10
        while not self._answers():
            if time.time() > deadline:
                self.stop()
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
        except OSError:
            return False
        return True

    def url(self, db: int = 0) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def redis_fixture(password: str | None = None) -> Iterator[RedisServer]:
    server = RedisServer(password)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """One server per test module; each test uses its own run id."""
    yield from redis_fixture()


def start_runner(
    root: Path, url: str, run_id: str, job: str, *args: str, lease: str = LEASE
) -> subprocess.Popen[str]:
    """A real ``fastci run --queue`` process, in its own session so it can be killed whole."""
    return subprocess.Popen(
        [sys.executable, "-m", "fastci", "run", "-j", "1", "--queue", url, "--run-id", run_id,
         "--queue-job", job, "--results", "results", *args],
        cwd=root,
        env={**os.environ, "FASTCI_QUEUE_LEASE": lease},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )  # fmt: skip


def finish(runners: Sequence[subprocess.Popen[str]], timeout: float = 120) -> list[str]:
    """Wait for every runner; each one's output (stdout then stderr)."""
    outputs = []
    for runner in runners:
        out, err = runner.communicate(timeout=timeout)
        outputs.append(f"{out}\n{err}")
    return outputs


def kill_session(runner: subprocess.Popen[str], sig: signal.Signals = signal.SIGKILL) -> None:
    """What a cancelled CI job does to a runner: every process of it at once."""
    os.killpg(runner.pid, sig)


def wait_for(path: Path, timeout: float = 60) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")
