"""Which queue ``fastci run`` joins: flags, ``[tool.fastci] queue``, the environment."""

from __future__ import annotations

import pytest

from fastci.errors import UsageError
from fastci.queue.options import queue_settings
from tests.helpers.cli import fastci
from tests.helpers.projects import Project
from tests.helpers.redis import RedisServer


def test_no_queue_anywhere_is_no_queue_mode() -> None:
    assert queue_settings(None, None, None, {}) is None


def test_the_environment_gives_the_url_the_run_id_and_the_job() -> None:
    env = {
        "FASTCI_QUEUE_URL": "redis://h:1/0",
        "GITHUB_RUN_ID": "77",
        "GITHUB_JOB": "tests",
        "FASTCI_MATRIX_INDEX": "3",
        "FASTCI_QUEUE_LEASE": "5",
    }
    settings = queue_settings(None, None, None, env)
    assert settings is not None
    assert (settings.url, settings.run_id, settings.job) == (
        "redis://h:1/0",
        "github-77-1",
        "tests-3",
    )
    assert settings.lease == 5.0


def test_a_queue_without_a_run_id_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="pass --run-id ID"):
        queue_settings("redis://h:1/0", None, None, {})


def test_a_bad_lease_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"\$FASTCI_QUEUE_LEASE must be a positive number"):
        queue_settings("redis://h:1/0", "r", "j", {"FASTCI_QUEUE_LEASE": "soon"})


def test_queue_and_shards_together_are_refused(
    capsys: pytest.CaptureFixture[str], project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("pyproject.toml", "[tool.fastci]\nqueue = 'redis://127.0.0.1:1/0'\n")
    monkeypatch.chdir(project.root)
    result = fastci(capsys, "run", "--run-id", "r", "--shard", "2/4")
    assert result.code == 4
    assert "--queue replaces --shard" in result.err


def test_a_parallel_jobs_variables_do_not_make_a_queue_runner_a_shard(
    project: Project, redis_server: RedisServer
) -> None:
    project.write("pyproject.toml", "[project]\nname = 'p'\n")
    project.write("tests/test_a.py", "def test_a():\n    pass\n")
    env = {"CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "4", "FASTCI_QUEUE_URL": redis_server.url()}
    proc = project.fastci("run", "-j", "1", "--run-id", "gitlab-1", "--queue-job", "t-2", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "queue job t-2: " in proc.stdout


def test_shards_without_a_queue_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("pyproject.toml", "[project]\nname = 'p'\n")
    monkeypatch.chdir(project.root)
    result = fastci(capsys, "run", "--shards", "4")
    assert result.code == 4
    assert "takes --shards with --queue only" in result.err
