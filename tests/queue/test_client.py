"""The Redis client of queue mode: the extra, URLs, passwords, a lost server, one plan."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from fastci.errors import FastciError, UsageError
from fastci.plan.planner import Unit
from fastci.queue.client import RunQueue, connect, redact
from tests.helpers.projects import Project
from tests.helpers.redis import (
    RedisServer,
    finish,
    make_certificates,
    redis_fixture,
    start_runner,
)

PASSWORD = "s3cret-pw"  # noqa: S105 - a throwaway server's, started by the test


@pytest.fixture(scope="module")
def locked_redis() -> Iterator[RedisServer]:
    """A server with a password, as a hosted Redis has."""
    yield from redis_fixture(password=PASSWORD)


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A server speaking only TLS, with a certificate from a throwaway CA, and a password."""
    certificates = make_certificates(tmp_path_factory.mktemp("tls"))
    yield from redis_fixture(password=PASSWORD, tls=certificates)


def units(prefix: str, count: int) -> list[Unit]:
    return [
        Unit(f"{prefix}{n}", (f"tests/test_{prefix}{n}.py",), float(count - n))
        for n in range(count)
    ]


def test_queue_mode_without_the_extra_is_one_line_and_exit_4(project: Project) -> None:
    project.write("tests/test_a.py", "def test_a():\n    pass\n")
    code = (
        "import sys; sys.modules['redis'] = None; from fastci.cli import main; "
        "sys.exit(main(['run', '--queue', 'redis://127.0.0.1:1/0', '--run-id', 'x']))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=project.root, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 4
    assert proc.stderr.strip() == (
        "fastci: error: queue mode needs the Redis client: pip install 'fastci[queue]'"
    )


def test_a_url_that_is_not_redis_is_a_usage_error_that_hides_the_password() -> None:
    with pytest.raises(UsageError) as caught:
        connect("http://user:hunter2@example.com")
    assert "hunter2" not in caught.value.message
    assert "user:***@" in caught.value.message


def test_redact_hides_only_the_password() -> None:
    assert redact("rediss://default:pw@host:6380/2") == "rediss://default:***@host:6380/2"
    assert redact("redis://:pw@host/0") == "redis://:***@host/0"
    assert redact("redis://host:6379/0") == "redis://host:6379/0"


def test_a_password_works_and_a_wrong_one_fails_without_showing_it(
    locked_redis: RedisServer,
) -> None:
    queue = RunQueue(locked_redis.url(), "pw", job="a", owner="a")
    assert queue.publish(units("u", 2))
    wrong = locked_redis.url().replace("s3cret-pw", "not-it")
    with pytest.raises(FastciError) as caught:
        RunQueue(wrong, "pw", job="a", owner="a").plan()
    assert caught.value.exit_code == 4
    assert "not-it" not in caught.value.message
    assert "Redis at redis://:***@127.0.0.1" in caught.value.message
    assert "refused the credentials" in caught.value.message


def test_a_server_that_wants_a_password_refuses_a_url_without_one_as_a_usage_error(
    locked_redis: RedisServer,
) -> None:
    bare = locked_redis.url().replace(f":{PASSWORD}@", "")
    with pytest.raises(FastciError) as caught:
        RunQueue(bare, "pw", job="a", owner="a").plan()
    assert caught.value.exit_code == 4
    assert "check the user and password in the queue URL" in caught.value.message


def test_a_runner_with_a_wrong_password_says_so_in_one_line_and_exits_4(
    project: Project, locked_redis: RedisServer
) -> None:
    project.write("tests/test_a.py", "def test_a():\n    pass\n")
    runner = start_runner(project.root, locked_redis.url().replace(PASSWORD, "nope"), "w", "a")
    [output] = finish([runner])
    assert runner.returncode == 4, output
    [line] = [x for x in output.splitlines() if x.startswith("fastci: error:")]
    assert "refused the credentials" in line
    assert "nope" not in output


def test_a_tls_url_with_a_password_works_and_a_plain_url_to_it_does_not(
    tls_redis: RedisServer,
) -> None:
    queue = RunQueue(tls_redis.url(), "tls", job="a", owner="a")
    assert tls_redis.url().startswith("rediss://")
    assert queue.publish(units("u", 3))
    assert [u.id for u in queue.plan()] == ["u0", "u1", "u2"]
    plain = tls_redis.url().replace("rediss://", "redis://").split("?")[0]
    with pytest.raises(FastciError) as caught:
        RunQueue(plain, "tls", job="a", owner="a").plan()
    assert caught.value.exit_code == 7
    assert PASSWORD not in caught.value.message


def test_a_tls_server_whose_certificate_is_not_trusted_is_refused(tls_redis: RedisServer) -> None:
    untrusted = tls_redis.url().split("?")[0]  # the throwaway CA is not in the system's store
    with pytest.raises(FastciError) as caught:
        RunQueue(untrusted, "tls", job="a", owner="a").plan()
    assert caught.value.exit_code == 7
    assert "certificate verify failed" in caught.value.message
    assert PASSWORD not in caught.value.message


def test_runners_over_tls_pass_and_the_password_is_in_no_output_and_no_bundle(
    project: Project, tls_redis: RedisServer
) -> None:
    for n in range(4):
        project.write(f"tests/test_{n}.py", "def test_a():\n    pass\n")
    url = tls_redis.url()
    runners = [start_runner(project.root, url, "tls-run", job) for job in "ab"]
    outputs = finish(runners)
    assert [r.returncode for r in runners] == [0, 0], outputs
    merged = project.fastci("merge", "--queue", url, "--run-id", "tls-run", "-o", "merged",
                            "results")  # fmt: skip
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert "4 passed" in merged.stdout
    written = [p for p in project.root.rglob("*") if p.is_file()]
    leaks = [p for p in written if PASSWORD.encode() in p.read_bytes()]
    assert leaks == []
    assert all(PASSWORD not in text for text in [*outputs, merged.stdout, merged.stderr])


def test_runners_racing_to_publish_leave_one_plan() -> None:
    server = RedisServer()
    try:
        barrier = threading.Barrier(8)
        won: list[str] = []

        def runner(name: str) -> None:
            queue = RunQueue(server.url(), "race", job=name, owner=name)
            barrier.wait()
            if queue.publish(units(name, 50)):
                won.append(name)

        threads = [threading.Thread(target=runner, args=(f"r{n}-",)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        queue = RunQueue(server.url(), "race", job="x", owner="x")
        assert len(won) == 1
        assert [u.id for u in queue.plan()] == [u.id for u in units(won[0], 50)]
        record = queue.read()
        assert record.queued == 50  # the queue holds one plan's units, once each
    finally:
        server.stop()


def test_a_late_runner_cannot_record_a_unit_another_took_over(redis_server: RedisServer) -> None:
    early = RunQueue(redis_server.url(), "late", job="a", owner="a")
    late = RunQueue(redis_server.url(), "late", job="b", owner="b")
    early.publish(units("u", 1))
    assert early.claim(lease_ms=50, max_requeues=3) == "u0"
    threading.Event().wait(0.2)  # the lease expires
    assert late.claim(lease_ms=10_000, max_requeues=3) == "u0"
    assert early.renew(["u0"], lease_ms=10_000) == ["u0"]  # lost
    assert not early.complete("u0", [{"id": "x::early"}])
    assert late.complete("u0", [{"id": "x::late"}])
    assert not late.complete("u0", [{"id": "x::again"}])
    assert early.read().results == {"u0": [{"id": "x::late"}]}


def test_a_unit_whose_lease_keeps_expiring_fails_with_a_reason(redis_server: RedisServer) -> None:
    queue = RunQueue(redis_server.url(), "loop", job="a", owner="a")
    queue.publish(units("u", 1))
    taken = []
    for _ in range(4):
        taken.append(queue.claim(lease_ms=1, max_requeues=2))
        threading.Event().wait(0.05)
    assert taken == ["u0", "u0", "u0", None]
    record = queue.read()
    assert "its lease expired 3 times" in record.failed["u0"]
    assert record.unaccounted == []
    assert queue.settled(lease_ms=1000, holding=False)


def test_keys_expire_after_the_run(redis_server: RedisServer) -> None:
    import redis

    queue = RunQueue(redis_server.url(), "ttl", job="a", owner="a", ttl=60)
    queue.publish(units("u", 1))
    assert queue.claim(1000, 3) == "u0"
    assert queue.complete("u0", [])
    client = redis.Redis.from_url(redis_server.url())
    ttls = [client.ttl(k) for k in queue.keys if client.exists(k)]
    assert ttls
    assert all(0 < t <= 60 for t in ttls)
    client.close()


def test_a_runner_holding_nothing_waits_for_a_waiting_runners_lease(
    redis_server: RedisServer,
) -> None:
    # The holder asks for more while its unit's last test is held back: it waits too. It may
    # still die, so only a runner that holds units of its own may stop waiting for it.
    holder = RunQueue(redis_server.url(), "held", job="a", owner="a")
    idle = RunQueue(redis_server.url(), "held", job="b", owner="b")
    holder.publish(units("u", 1))
    assert holder.claim(lease_ms=10_000, max_requeues=3) == "u0"
    assert holder.settled(lease_ms=10_000, holding=True)  # marked waiting
    assert idle.settled(lease_ms=10_000, holding=True)  # two holders never wait on each other
    assert not idle.settled(lease_ms=10_000, holding=False)
    assert (idle.outstanding(), holder.outstanding()) == (1, 0)
    assert holder.complete("u0", [])
    assert idle.settled(lease_ms=10_000, holding=False)
    assert idle.outstanding() == 0
