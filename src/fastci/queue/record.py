"""A queue run's record in Redis: its keys and the Lua scripts that change them atomically.

Every key of run ID lives under ``fastci:{ID}:`` and expires ``ttl`` seconds after the last
change. Each script receives every key of the run, so each can refresh their expiry:

- ``plan``: the published units (JSON), set once by the first runner to arrive;
- ``queue``: unit ids waiting, longest first; expired leases go back to its front;
- ``leases``: unit id -> lease expiry (ms, Redis's clock), ``owner``: unit id -> its runner;
- ``requeues``: unit id -> times its lease expired; past the limit it is ``failed``;
- ``done``: unit id -> the job that finished it, ``results``: unit id -> its results (JSON);
- ``jobs``: job name -> JSON list of the units it finished, for a retried job to replay;
- ``waiting``: runner -> until when it waits with nothing to run (its units are settling);
- ``failures``: failed tests of every runner; ``stop``: why no unit is handed out any more
  (``-x``, ``--maxfail``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from fastci.plan.planner import Unit

KEY_NAMES = (
    "plan", "queue", "leases", "owner", "requeues", "done", "results", "failed", "jobs", "waiting",
    "failures", "stop",
)  # fmt: skip

_PRELUDE = """
local function key(name)
  local names = {'plan', 'queue', 'leases', 'owner', 'requeues', 'done', 'results', 'failed',
    'jobs', 'waiting', 'failures', 'stop'}
  for i, n in ipairs(names) do
    if n == name then return KEYS[i] end
  end
end
local function keep(ttl)
  for _, k in ipairs(KEYS) do redis.call('EXPIRE', k, ttl) end
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

# ARGV: ttl, plan JSON, unit ids in order. 1 if this call published the plan, else 0.
PUBLISH = (
    _PRELUDE
    + """
if not redis.call('SET', key('plan'), ARGV[2], 'NX') then return 0 end
for i = 3, #ARGV do redis.call('RPUSH', key('queue'), ARGV[i]) end
keep(ARGV[1])
return 1
"""
)

# ARGV: ttl, owner, lease ms, most requeues. Requeues what expired, then leases the next unit.
CLAIM = (
    _PRELUDE
    + """
local now = now_ms()
for _, u in ipairs(redis.call('ZRANGEBYSCORE', key('leases'), '-inf', now)) do
  redis.call('ZREM', key('leases'), u)
  redis.call('HDEL', key('owner'), u)
  local n = redis.call('HINCRBY', key('requeues'), u, 1)
  if n > tonumber(ARGV[4]) then
    redis.call('HSET', key('failed'), u, 'its lease expired ' .. n ..
      ' times (the runners holding it were killed or cut off); fastci gave up on it')
  else
    redis.call('LPUSH', key('queue'), u)
  end
end
keep(ARGV[1])
if redis.call('EXISTS', key('stop')) == 1 then return false end
local u = redis.call('LPOP', key('queue'))
if not u then return false end
redis.call('ZREM', key('waiting'), ARGV[2])
redis.call('ZADD', key('leases'), now + tonumber(ARGV[3]), u)
redis.call('HSET', key('owner'), u, ARGV[2])
return u
"""
)

# ARGV: ttl, owner, lease ms, holding ('1' if this runner holds leases). Marks this runner
# waiting; 1 if nothing is queued and every lease is held by it or, while it holds some, by
# a runner waiting too (whose held units finish once it stops waiting): runners that hold
# units never wait on each other. A runner that holds none waits for every other lease,
# waiting or not, since its holder may yet die and the unit come back (see OUTSTANDING).
SETTLED = (
    _PRELUDE
    + """
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', key('waiting'), '-inf', now)
redis.call('ZADD', key('waiting'), now + tonumber(ARGV[3]), ARGV[2])
keep(ARGV[1])
if redis.call('EXISTS', key('stop')) == 1 then return 1 end
if redis.call('LLEN', key('queue')) > 0 then return 0 end
for _, owner in ipairs(redis.call('HVALS', key('owner'))) do
  if owner ~= ARGV[2] and (ARGV[4] ~= '1' or not redis.call('ZSCORE', key('waiting'), owner))
  then return 0 end
end
return 1
"""
)

# ARGV: ttl, owner. How many units may still reach this runner: those queued and those
# leased to other runners (a holder may die and its lease expire); 0 once the run stopped.
OUTSTANDING = (
    _PRELUDE
    + """
keep(ARGV[1])
if redis.call('EXISTS', key('stop')) == 1 then return 0 end
local n = redis.call('LLEN', key('queue'))
for _, owner in ipairs(redis.call('HVALS', key('owner'))) do
  if owner ~= ARGV[2] then n = n + 1 end
end
return n
"""
)

# ARGV: ttl, most failures (0: no limit), reason. Counts a failed test of any runner; the one
# that reaches the limit stops the run. Returns the count.
FAIL = (
    _PRELUDE
    + """
local n = redis.call('INCR', key('failures'))
if tonumber(ARGV[2]) > 0 and n >= tonumber(ARGV[2]) then
  redis.call('SET', key('stop'), ARGV[3] .. ' after ' .. n .. ' failure(s)', 'NX')
end
keep(ARGV[1])
return n
"""
)

# ARGV: ttl, owner, unit id. Gives up a lease at once, as if it had expired: the next claim
# puts the unit back in the queue and counts it.
RELEASE = (
    _PRELUDE
    + """
if redis.call('HGET', key('owner'), ARGV[3]) == ARGV[2] then
  redis.call('ZADD', key('leases'), 0, ARGV[3])
end
keep(ARGV[1])
return 1
"""
)

# ARGV: ttl, owner, lease ms, unit ids. Renews the leases still held; returns those lost.
RENEW = (
    _PRELUDE
    + """
local now = now_ms()
local lost = {}
for i = 4, #ARGV do
  if redis.call('HGET', key('owner'), ARGV[i]) == ARGV[2] then
    redis.call('ZADD', key('leases'), 'XX', now + tonumber(ARGV[3]), ARGV[i])
  else
    table.insert(lost, ARGV[i])
  end
end
keep(ARGV[1])
return lost
"""
)

# ARGV: ttl, owner, unit id, results JSON, job. 1 if recorded; 0 if the lease was lost.
COMPLETE = (
    _PRELUDE
    + """
local u = ARGV[3]
if redis.call('HGET', key('owner'), u) ~= ARGV[2] or redis.call('HEXISTS', key('done'), u) == 1 then
  return 0
end
redis.call('HSET', key('done'), u, ARGV[5])
redis.call('HSET', key('results'), u, ARGV[4])
redis.call('ZREM', key('leases'), u)
redis.call('HDEL', key('owner'), u)
local ran = cjson.decode(redis.call('HGET', key('jobs'), ARGV[5]) or '[]')
table.insert(ran, u)
redis.call('HSET', key('jobs'), ARGV[5], cjson.encode(ran))
keep(ARGV[1])
return 1
"""
)

# ARGV: ttl, job. A retried job: what it finished before is forgotten and queued again.
REPLAY = (
    _PRELUDE
    + """
local ran = redis.call('HGET', key('jobs'), ARGV[2])
if not ran then return 0 end
local units = cjson.decode(ran)
for i = #units, 1, -1 do
  local u = units[i]
  if redis.call('HDEL', key('done'), u) == 1 then
    redis.call('HDEL', key('results'), u)
    redis.call('LPUSH', key('queue'), u)
  end
end
redis.call('HDEL', key('jobs'), ARGV[2])
keep(ARGV[1])
return #units
"""
)


def keys(run_id: str) -> list[str]:
    """The run's keys, in ``KEY_NAMES`` order; one hash tag, so a cluster keeps them together."""
    return [f"fastci:{{{run_id}}}:{name}" for name in KEY_NAMES]


def dump_units(units: Sequence[Unit]) -> str:
    return json.dumps([[u.id, u.files, u.duration, u.tests, u.exclude, u.part] for u in units])


def load_units(text: str) -> list[Unit]:
    units = []
    for uid, files, duration, tests, exclude, *part in json.loads(text):
        units.append(
            Unit(
                str(uid),
                tuple(files),
                float(duration),
                None if tests is None else tuple(tests),
                tuple(exclude),
                tuple(part[0]) if part and part[0] else None,
            )
        )
    return units


class RunRecord(NamedTuple):
    """What Redis knows of a run once it is over: for ``fastci merge --queue``."""

    units: list[Unit]  # the published plan; empty if nothing was ever published
    done: dict[str, str]  # unit id -> the job that finished it
    results: dict[str, list[dict[str, Any]]]  # unit id -> its results
    failed: dict[str, str]  # unit id -> why fastci gave up on it
    queued: int
    leased: int
    stopped: str | None = None  # why the run stopped handing out units (-x, --maxfail)

    @property
    def unaccounted(self) -> list[str]:
        """Units with neither results nor a reason they have none."""
        return [u.id for u in self.units if u.id not in self.done and u.id not in self.failed]
