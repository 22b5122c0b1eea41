"""``fastci merge`` of a queue run: bundles checked against Redis, what only Redis holds."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from fastci.plan.planner import Unit
from fastci.queue.client import RunQueue
from tests.helpers.cli import fastci
from tests.helpers.redis import RedisServer, finish, free_port, start_runner
from tests.helpers.shop import write_project

PLAN = [Unit(f"tests/test_{n}.py", (f"tests/test_{n}.py",), 1.0) for n in range(3)]
SHOP_TESTS = 17  # tests in tests.helpers.shop's passing suite


def passed(unit: Unit) -> list[dict[str, object]]:
    return [{"id": f"{unit.id}::test_it", "file": unit.id, "outcome": "passed"}]


def merge(capsys: pytest.CaptureFixture[str], root: Path, *args: str | Path) -> tuple[int, str]:
    """``fastci merge`` from ``root`` with its store and output under it; (code, output)."""
    result = fastci(
        capsys, "merge", "--root", root, "--store", root / "store.db", "-o", root / "merged", *args
    )
    return result.code, result.out + result.err


@pytest.fixture(scope="module")
def shop_run(tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer) -> Path:
    """The shop suite run by two real queue runners with coverage; the checkout."""
    root = write_project(tmp_path_factory.mktemp("shop"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
        mp.delenv("FASTCI_QUEUE_URL", raising=False)
        runners = [
            start_runner(root, redis_server.url(), "shop", job, "--cov=shop") for job in "ab"
        ]
        outputs = finish(runners)
    assert [r.returncode for r in runners] == [0, 0], outputs
    return root


def copy_of(shop_run: Path, tmp_path: Path, lose: str | None = None) -> Path:
    """A checkout with the runners' bundles; ``lose``: a job whose bundle never arrived."""
    root = Path(shutil.copytree(shop_run, tmp_path / "checkout"))
    if lose is not None:
        shutil.rmtree(root / "results" / f"fastci-queue-{lose}")
    return root


def test_a_unit_without_results_makes_the_merge_incomplete(
    capsys: pytest.CaptureFixture[str], redis_server: RedisServer, tmp_path: Path
) -> None:
    queue = RunQueue(redis_server.url(), "gap", job="a", owner="a")
    queue.publish(PLAN)
    for _ in PLAN[:2]:
        uid = queue.claim(60_000, 3)
        assert queue.complete(uid or "", passed(next(u for u in PLAN if u.id == uid)))
    queue.claim(60_000, 3)  # a runner took the last one and was never heard of again
    code, output = merge(capsys, tmp_path, "--queue", redis_server.url(), "--run-id", "gap")
    assert code == 7
    assert "1 of 3 units have no results (tests/test_2.py): 0 still queued, 1 leased" in output


def test_a_complete_run_from_redis_alone_writes_the_reports_and_stores_its_timings(
    capsys: pytest.CaptureFixture[str], redis_server: RedisServer, tmp_path: Path
) -> None:
    queue = RunQueue(redis_server.url(), "whole", job="a", owner="a")
    queue.publish(PLAN)
    while (uid := queue.claim(60_000, 3)) is not None:
        queue.complete(uid, passed(next(u for u in PLAN if u.id == uid)))
    code, output = merge(capsys, tmp_path, "--queue", redis_server.url(), "--run-id", "whole")
    assert code == 0, output
    assert "3 passed" in output
    assert "timings store" in output
    assert "1 new run(s)" in output
    assert (tmp_path / "merged" / "junit.xml").read_text().count("<testcase") == 3
    assert "queue job a" in (tmp_path / "merged" / "summary.md").read_text()
    assert (tmp_path / "merged" / "report.html").is_file()


def test_a_unit_fastci_gave_up_on_fails_the_merge_with_its_reason(
    capsys: pytest.CaptureFixture[str], redis_server: RedisServer, tmp_path: Path
) -> None:
    queue = RunQueue(redis_server.url(), "gave-up", job="a", owner="a")
    queue.publish(PLAN[:1])
    assert queue.claim(1, 0) == "tests/test_0.py"
    time.sleep(0.05)  # its runner goes silent; no requeue is allowed
    assert queue.claim(1, 0) is None
    code, output = merge(capsys, tmp_path, "--queue", redis_server.url(), "--run-id", "gave-up")
    assert code == 1, output
    assert "tests/test_0.py::<unit tests/test_0.py>" in output
    assert "its lease expired 1 times" in output


def test_a_run_never_published_is_incomplete_and_the_password_stays_hidden(
    capsys: pytest.CaptureFixture[str], redis_server: RedisServer, tmp_path: Path
) -> None:
    url = redis_server.url().replace("redis://", "redis://default:hunter2@")
    code, output = merge(capsys, tmp_path, "--queue", url, "--run-id", "nobody")
    assert code == 7
    assert "default:***@127.0.0.1" in output
    assert "hunter2" not in output


def test_merge_without_bundles_or_a_queue_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, output = merge(capsys, tmp_path)
    assert code == 4
    assert "needs the bundles' DIRs, or --queue URL --run-id ID" in output


def test_the_queue_merge_combines_coverage_and_judges_the_threshold_as_a_shard_merge_does(
    capsys: pytest.CaptureFixture[str], redis_server: RedisServer, shop_run: Path, tmp_path: Path
) -> None:
    root = copy_of(shop_run, tmp_path)
    queue = ("--queue", redis_server.url(), "--run-id", "shop")
    code, output = merge(capsys, root, *queue, root / "results")
    assert code == 0, output
    assert (root / "merged" / "coverage.db").is_file()
    assert "TOTAL" in output
    assert "2 new run(s)" in output
    assert (root / "merged" / "junit.xml").read_text().count("<testcase") == SHOP_TESTS
    code, output = merge(capsys, root, *queue, root / "results", "--fail-under", "100")
    assert code == 6, output


def test_a_plain_merge_reads_queue_bundles_and_takes_a_lost_runners_results_from_redis(
    capsys: pytest.CaptureFixture[str],
    redis_server: RedisServer,
    shop_run: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = copy_of(shop_run, tmp_path, lose="b")  # a killed job uploads no artifact
    monkeypatch.setenv("FASTCI_QUEUE_URL", redis_server.url())
    code, output = merge(capsys, root, root / "results")
    assert code == 0, output
    assert "queue job b left no bundle for" in output
    assert "their results come from Redis" in output
    assert (root / "merged" / "junit.xml").read_text().count("<testcase") == SHOP_TESTS


def test_without_redis_a_lost_bundle_is_known_missing_and_the_merge_fails(
    capsys: pytest.CaptureFixture[str], shop_run: Path, tmp_path: Path
) -> None:
    root = copy_of(shop_run, tmp_path, lose="b")
    code, output = merge(capsys, root, root / "results")
    said = (
        "units of queue run shop have no results in these bundles",
        "completeness not checked against the queue (no queue URL was given",
    )
    assert code == 7, output
    assert [line for line in said if line not in output] == []


def test_whole_bundles_merge_when_redis_is_unreachable_and_say_it_was_not_checked(
    capsys: pytest.CaptureFixture[str], shop_run: Path, tmp_path: Path
) -> None:
    root = copy_of(shop_run, tmp_path)
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"  # nothing listens there
    code, output = merge(capsys, root, root / "results", "--queue", url)
    assert code == 0, output
    assert "completeness not checked against the queue (lost the queue redis://:***@" in output
    assert "hunter2" not in output


def test_a_job_whose_bundle_appears_twice_makes_the_merge_incomplete(
    capsys: pytest.CaptureFixture[str], redis_server: RedisServer, shop_run: Path, tmp_path: Path
) -> None:
    root = copy_of(shop_run, tmp_path)
    shutil.copytree(root / "results" / "fastci-queue-a", root / "attempt-1" / "fastci-queue-a")
    code, output = merge(capsys, root, root / "results", root / "attempt-1")
    assert code == 7, output
    assert "queue job a has 2 bundles: keep only its last attempt's" in output


def test_a_corrupt_queue_bundle_is_named_and_no_shard_is_said_missing(
    capsys: pytest.CaptureFixture[str], shop_run: Path, tmp_path: Path
) -> None:
    root = copy_of(shop_run, tmp_path, lose="b")
    (root / "results" / "fastci-queue-a" / "results.jsonl").write_text("{")
    code, output = merge(capsys, root, root / "results")
    assert code == 7, output
    assert "corrupt bundle" in output
    assert "fastci-local" not in output
