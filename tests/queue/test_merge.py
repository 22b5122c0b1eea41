"""``fastci merge --queue``: the verdict from a queue run's record in Redis."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fastci.plan.planner import Unit
from fastci.queue.client import RunQueue
from tests.helpers.cli import fastci
from tests.helpers.redis import RedisServer

PLAN = [Unit(f"tests/test_{n}.py", (f"tests/test_{n}.py",), 1.0) for n in range(3)]


def passed(unit: Unit) -> list[dict[str, object]]:
    return [{"id": f"{unit.id}::test_it", "file": unit.id, "outcome": "passed"}]


def merge(capsys: pytest.CaptureFixture[str], url: str, run_id: str, out: Path) -> tuple[int, str]:
    result = fastci(capsys, "merge", "--queue", url, "--run-id", run_id, "-o", out)
    return result.code, result.out + result.err


def test_a_unit_without_results_makes_the_merge_incomplete(
    capsys: pytest.CaptureFixture[str], redis_server: RedisServer, tmp_path: Path
) -> None:
    queue = RunQueue(redis_server.url(), "gap", job="a", owner="a")
    queue.publish(PLAN)
    for _ in PLAN[:2]:
        uid = queue.claim(60_000, 3)
        assert queue.complete(uid or "", passed(next(u for u in PLAN if u.id == uid)))
    queue.claim(60_000, 3)  # a runner took the last one and was never heard of again
    code, output = merge(capsys, redis_server.url(), "gap", tmp_path)
    assert code == 7
    assert "1 of 3 units have no results (tests/test_2.py): 0 still queued, 1 leased" in output


def test_a_complete_run_passes_and_writes_one_junit_with_every_test(
    capsys: pytest.CaptureFixture[str], redis_server: RedisServer, tmp_path: Path
) -> None:
    queue = RunQueue(redis_server.url(), "whole", job="a", owner="a")
    queue.publish(PLAN)
    while (uid := queue.claim(60_000, 3)) is not None:
        queue.complete(uid, passed(next(u for u in PLAN if u.id == uid)))
    code, output = merge(capsys, redis_server.url(), "whole", tmp_path)
    assert code == 0, output
    assert "3 units, 3 passed" in output
    assert (tmp_path / "junit.xml").read_text().count("<testcase") == 3


def test_a_unit_fastci_gave_up_on_fails_the_merge_with_its_reason(
    capsys: pytest.CaptureFixture[str], redis_server: RedisServer, tmp_path: Path
) -> None:
    queue = RunQueue(redis_server.url(), "gave-up", job="a", owner="a")
    queue.publish(PLAN[:1])
    assert queue.claim(1, 0) == "tests/test_0.py"
    time.sleep(0.05)  # its runner goes silent; no requeue is allowed
    assert queue.claim(1, 0) is None
    code, output = merge(capsys, redis_server.url(), "gave-up", tmp_path)
    assert code == 1, output
    assert "CRASHED tests/test_0.py::<unit tests/test_0.py>" in output


def test_a_run_never_published_is_incomplete_and_the_password_stays_hidden(
    capsys: pytest.CaptureFixture[str], redis_server: RedisServer, tmp_path: Path
) -> None:
    url = redis_server.url().replace("redis://", "redis://default:hunter2@")
    code, output = merge(capsys, url, "nobody", tmp_path)
    assert code == 7
    assert "default:***@127.0.0.1" in output
    assert "hunter2" not in output


def test_merge_without_bundles_or_a_queue_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    result = fastci(capsys, "merge", "-o", tmp_path)
    assert result.code == 4
    assert "needs the bundles' DIRs, or --queue URL --run-id ID" in result.err
