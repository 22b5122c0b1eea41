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


def make_certificates(directory: Path) -> Path:
    """A throwaway CA (``ca.crt``) and a certificate it signed for 127.0.0.1 (``server.crt``,
    ``server.key``), made by openssl in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.crt", "-days", "1", "-subj", "/CN=fastci test CA")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
            "server.csr", "-subj", "/CN=127.0.0.1")  # fmt: skip
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.crt", "-days", "1",
            "-extfile", "san.ext")  # fmt: skip
    return directory


class RedisServer:
    """``tls``: a directory from ``make_certificates``; the server then speaks TLS only."""

    def __init__(self, password: str | None = None, tls: Path | None = None) -> None:
        self.port = free_port()
        self.password = password
        self.tls = tls
        args = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        if tls is None:
            args += ["--port", str(self.port)]
        else:
            args += ["--port", "0", "--tls-port", str(self.port), "--tls-auth-clients", "no",
                     "--tls-cert-file", str(tls / "server.crt"),
                     "--tls-key-file", str(tls / "server.key"),
                     "--tls-ca-cert-file", str(tls / "ca.crt")]  # fmt: skip
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
        """How a client reaches it; over TLS, trusting the throwaway CA."""
        auth = f":{self.password}@" if self.password else ""
        if self.tls is None:
            return f"redis://{auth}127.0.0.1:{self.port}/{db}"
        return f"rediss://{auth}127.0.0.1:{self.port}/{db}?ssl_ca_certs={self.tls / 'ca.crt'}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def redis_fixture(password: str | None = None, tls: Path | None = None) -> Iterator[RedisServer]:
    server = RedisServer(password, tls)
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
