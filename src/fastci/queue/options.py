"""Which queue a ``fastci run`` joins, as whom: from flags, ``[tool.fastci]`` and the CI's env."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping

from fastci.ci.providers import run_id_from_env
from fastci.errors import UsageError
from fastci.queue.scheduler import QueueSettings

LEASE_ENV = "FASTCI_QUEUE_LEASE"  # seconds; how long a silent runner keeps its units
REQUEUES_ENV = "FASTCI_QUEUE_MAX_REQUEUES"


def _job_from_env(env: Mapping[str, str]) -> str:
    """A name the CI gives this job again when it is re-run, else one for this process."""
    if env.get("FASTCI_QUEUE_JOB"):
        return env["FASTCI_QUEUE_JOB"]
    if env.get("GITHUB_JOB"):
        return "-".join(filter(None, (env["GITHUB_JOB"], env.get("FASTCI_MATRIX_INDEX"))))
    if env.get("CI_JOB_NAME"):
        return env["CI_JOB_NAME"]
    return f"{socket.gethostname()}-{os.getpid()}"


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise UsageError(f"${name} must be a positive number, got {raw!r}")
    return value


def queue_settings(
    url: str | None, run_id: str | None, job: str | None, env: Mapping[str, str]
) -> QueueSettings | None:
    """Queue mode's settings, or None when no queue is given (flag, setting or env)."""
    url = url or env.get("FASTCI_QUEUE_URL")
    if not url:
        if run_id or job:
            raise UsageError("--run-id and --queue-job need a queue: pass --queue URL")
        return None
    run_id = run_id or env.get("FASTCI_RUN_ID") or run_id_from_env(env)
    if not run_id:
        raise UsageError(
            "queue mode needs the run's id, the same on every runner: pass --run-id ID"
        )
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", job or _job_from_env(env)).strip("-") or "job"
    return QueueSettings(
        url=url,
        run_id=run_id,
        job=name,
        lease=_number(env, LEASE_ENV, 30.0),
        max_requeues=int(_number(env, REQUEUES_ENV, 3)),
    )
