"""Talking to the Redis of a queue run: connecting, redacting the URL, every call's failure.

redis-py comes with ``pip install 'fastci[queue]'``; without it queue mode says so in one
line. Every Redis error becomes a ``FastciError`` with exit code 7 (results incomplete): a
runner that lost its queue cannot vouch for the run, so it never passes quietly; refused
credentials are a wrong URL, exit 4. ``rediss://`` is TLS: the server's certificate is
checked against the system's CAs, or ``?ssl_ca_certs=PATH`` in the URL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fastci.errors import ExitCode, FastciError, UsageError
from fastci.plan.planner import Unit
from fastci.queue import record
from fastci.queue.record import RunRecord

DEFAULT_TTL = 24 * 3600  # seconds the run's keys outlive its last change
T = TypeVar("T")


def redact(url: str) -> str:
    """The URL with its password replaced, fit for output."""
    return re.sub(r"^(\w+://)([^:@/]*):[^@/]*@", r"\1\2:***@", url)


def connect(url: str) -> Any:
    if not re.match(r"^(redis|rediss|unix)://", url):
        raise UsageError(
            f"queue URL {redact(url)!r} is not a Redis URL; use redis://HOST:PORT/DB "
            "or rediss:// for TLS"
        )
    try:
        import redis
    except ImportError:
        raise UsageError("queue mode needs the Redis client: pip install 'fastci[queue]'") from None
    try:
        return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=10)
    except ValueError as e:
        raise UsageError(f"queue URL {redact(url)!r} is not usable: {e}") from None


class RunQueue:
    """One run's queue, as one runner (owner) of one CI job sees it."""

    def __init__(self, url: str, run_id: str, job: str, owner: str, ttl: int = DEFAULT_TTL):
        self.url = url
        self.run_id = run_id
        self.job = job
        self.owner = owner  # this process's name on its leases
        self.ttl = ttl
        self.client = connect(url)
        self.keys = record.keys(run_id)
        self._scripts: dict[str, Any] = {}

    def key(self, name: str) -> str:
        return self.keys[record.KEY_NAMES.index(name)]

    def _call(self, what: str, action: Callable[[], T]) -> T:
        import redis

        try:
            return action()
        except redis.AuthenticationError as e:
            raise FastciError(
                f"Redis at {redact(self.url)} refused the credentials ({e}): check the user and "
                "password in the queue URL",
                exit_code=ExitCode.USAGE_ERROR,
            ) from None
        except redis.RedisError as e:
            raise FastciError(
                f"lost the queue {redact(self.url)} while trying to {what} ({e}); this "
                "runner's results are incomplete: fix Redis and re-run the job",
                exit_code=ExitCode.RESULTS_INCOMPLETE,
            ) from None

    def _script(self, what: str, source: str, *args: object) -> Any:
        if source not in self._scripts:
            self._scripts[source] = self.client.register_script(source)
        script = self._scripts[source]
        return self._call(what, lambda: script(keys=self.keys, args=[self.ttl, *args]))

    def publish(self, units: Sequence[Unit]) -> bool:
        """Publish the plan unless a runner did already; True if this call did."""
        ids = [u.id for u in units]
        plan = record.dump_units(units)
        return bool(self._script("publish the plan", record.PUBLISH, plan, *ids))

    def plan(self) -> list[Unit]:
        text = self._call("read the plan", lambda: self.client.get(self.key("plan")))
        return [] if text is None else record.load_units(text.decode())

    def replay(self) -> int:
        """Queue again what this job finished in an earlier attempt; how many units."""
        return int(self._script("replay this job's units", record.REPLAY, self.job))

    def claim(self, lease_ms: int, max_requeues: int) -> str | None:
        unit = self._script("take a unit", record.CLAIM, self.owner, lease_ms, max_requeues)
        return None if unit is None else unit.decode()

    def failed(self, maxfail: int) -> None:
        """A test failed here: counted for the whole run, which stops at ``maxfail``."""
        self._script("count a failure", record.FAIL, maxfail, "a runner stopped the run")

    def release(self, unit: str) -> None:
        """Give a unit this runner did not finish back to the queue (``record.RELEASE``)."""
        self._script("give back a unit", record.RELEASE, self.owner, unit)

    def renew(self, units: Sequence[str], lease_ms: int) -> list[str]:
        """Renew the leases on ``units``; returns those this runner no longer holds."""
        if not units:
            return []
        lost = self._script("renew leases", record.RENEW, self.owner, lease_ms, *units)
        return [u.decode() for u in lost]

    def complete(self, unit: str, results: list[dict[str, Any]]) -> bool:
        """Record a unit's results, once: False if its lease went to another runner."""
        payload = json.dumps(results)
        done = self._script("record results", record.COMPLETE, self.owner, unit, payload, self.job)
        return bool(done)

    def settled(self, lease_ms: int, holding: bool) -> bool:
        """Whether this runner (holding leases or not) may stop waiting for work
        (``record.SETTLED``)."""
        flag = "1" if holding else "0"
        return bool(self._script("check the run", record.SETTLED, self.owner, lease_ms, flag))

    def outstanding(self) -> int:
        """Units queued or leased to other runners (``record.OUTSTANDING``)."""
        return int(self._script("check the run", record.OUTSTANDING, self.owner))

    def read(self) -> RunRecord:
        def fetch() -> list[Any]:
            pipe = self.client.pipeline(transaction=True)
            pipe.get(self.key("plan"))
            pipe.hgetall(self.key("done"))
            pipe.hgetall(self.key("results"))
            pipe.hgetall(self.key("failed"))
            pipe.llen(self.key("queue"))
            pipe.zcard(self.key("leases"))
            pipe.get(self.key("stop"))
            return list(pipe.execute())

        plan, done, results, failed, queued, leased, stop = self._call("read the run", fetch)
        return RunRecord(
            units=[] if plan is None else record.load_units(plan.decode()),
            done={k.decode(): v.decode() for k, v in done.items()},
            results={k.decode(): json.loads(v) for k, v in results.items()},
            failed={k.decode(): v.decode() for k, v in failed.items()},
            queued=int(queued),
            leased=int(leased),
            stopped=None if stop is None else stop.decode(),
        )
