"""Usage and cost per tenant, by model and by UTC day: what ``GET /v1/usage`` reports
and what the daily spend quota is checked against.

One Redis hash per tenant and day (``aq:usage:<tenant>:<date>``), fields
``<model>|calls``, ``<model>|input_tokens``, ``<model>|output_tokens``,
``<model>|cached_tokens``, ``<model>|cost_usd`` and the day's ``total_usd``; one script
per call. Kept 400 days.

Recording is exactly once under retries: the Redis client retries a command whose
connection failed (``core/base/redisconn.py``), and when only the reply was lost the
first try was applied — replayed ``HINCRBY``s would count the call twice. Each
:meth:`UsageLedger.record` therefore carries an id of its own, claimed (``SET NX``, kept
ten minutes) in the same script as the increments: a replay finds it claimed and adds
nothing. A caller that calls ``record`` again after an error makes a new record (a new
id): it must call it once per paid call, as the call gate does. A task's calls are
recorded with the task's call record instead (:meth:`UsageLedger.record_in`), in one
transaction that the call's id makes exactly-once: no id key of its own.

The same call is also counted per API key and per metadata tag (issue 19), by the same
script or transaction, so the figures never disagree:

- ``aq:usage-key:<key_id>:<date>``: the key's day, the same fields as the tenant's;
- ``aq:usage-key:<key_id>:<YYYY-MM>``: the key's month, ``total_usd`` only (its monthly
  spend quota reads one field);
- ``aq:usage-tag:<tenant>:<date>``: the tenant's tags, fields ``<k>=<v>|<model>|<counter>``
  and ``<k>=<v>|total_usd``;
- ``aq:usage-tenants:<date>`` and ``aq:usage-keys:<date>`` (``<tenant>|<key_id>``): who had
  usage that day, so the admin API groups without ``SCAN``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agentqueue.core.base.errors import LimiterUnavailable
from agentqueue.core.llm.messages import Usage

_KEEP_S = 400 * 24 * 3600
_TOTAL = "total_usd"
_SEEN_S = 600

# KEYS: the record's id, then the hashes, then the sets.
# ARGV: seconds kept, seconds the id is kept, number of hashes, number of sets, then per
# hash its field prefix ("=" for a hash that takes the USD total alone), then per set
# its member, then the number of float increments, then (field, increment) pairs, the
# float ones last.
_RECORD = """
if not redis.call("set", KEYS[1], 1, "NX", "EX", ARGV[2]) then
    return 0
end
local nh, ns = tonumber(ARGV[3]), tonumber(ARGV[4])
local base = 4 + nh + ns
local floats = tonumber(ARGV[base + 1])
local n = (#ARGV - base - 1) / 2
for h = 1, nh do
    local key, prefix = KEYS[1 + h], ARGV[4 + h]
    for i = 1, n do
        local field, amount = ARGV[base + 2 * i], ARGV[base + 1 + 2 * i]
        if prefix == "=" then
            if field == "total_usd" then
                redis.call("hincrbyfloat", key, field, amount)
            end
        elseif i > n - floats then
            redis.call("hincrbyfloat", key, prefix .. field, amount)
        else
            redis.call("hincrby", key, prefix .. field, amount)
        end
    end
    redis.call("expire", key, ARGV[1])
end
for j = 1, ns do
    local key = KEYS[1 + nh + j]
    redis.call("sadd", key, ARGV[4 + nh + j])
    redis.call("expire", key, ARGV[1])
end
return 1
"""

#: The field prefix of a hash that takes the call's USD total alone (a key's month).
_TOTAL_ONLY = "="


def _increments(
    model: str, usage: Usage, cost_usd: Decimal
) -> tuple[list[tuple[str, int]], list[tuple[str, str]]]:
    """What one call adds to its day's hash: integer counters, then the USD amounts."""
    counts = [
        (f"{model}|calls", 1),
        (f"{model}|input_tokens", usage.input_tokens),
        (f"{model}|output_tokens", usage.output_tokens),
        (f"{model}|cached_tokens", usage.cache_read_tokens + usage.cache_write_tokens),
    ]
    cost = repr(float(cost_usd))
    return counts, [(f"{model}|cost_usd", cost), (_TOTAL, cost)]


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def seconds_to_month_end(now: dt.datetime | None = None) -> float:
    """Seconds until the next UTC month begins (a monthly spend quota resets then)."""
    now = now or dt.datetime.now(dt.UTC)
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    nxt = (first + dt.timedelta(days=32)).replace(day=1)
    return (nxt - now).total_seconds()


class UsageLedger:
    def __init__(self, redis: aioredis.Redis, *, prefix: str = "aq:usage:") -> None:
        self.redis = redis
        self.prefix = prefix
        self._record = redis.register_script(_RECORD)

    def _key(self, tenant: str, day: dt.date) -> str:
        return f"{self.prefix}{tenant}:{day.isoformat()}"

    def tenant_key(self, tenant: str, day: dt.date) -> str:
        return self._key(tenant, day)

    def key_day_key(self, key_id: str, day: dt.date) -> str:
        return f"{self.prefix.rstrip(':')}-key:{key_id}:{day.isoformat()}"

    def key_month_key(self, key_id: str, day: dt.date) -> str:
        return f"{self.prefix.rstrip(':')}-key:{key_id}:{day.strftime('%Y-%m')}"

    def tag_key(self, tenant: str, day: dt.date) -> str:
        return f"{self.prefix.rstrip(':')}-tag:{tenant}:{day.isoformat()}"

    def tenants_key(self, day: dt.date) -> str:
        return f"{self.prefix.rstrip(':')}-tenants:{day.isoformat()}"

    def keys_key(self, day: dt.date) -> str:
        return f"{self.prefix.rstrip(':')}-keys:{day.isoformat()}"

    def _targets(
        self, tenant: str, key_id: str | None, tags: Mapping[str, str] | None
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """Where one call is counted: (hash, field prefix) pairs and (set, member) pairs."""
        day = utc_today()
        hashes = [(self._key(tenant, day), "")]
        sets = [(self.tenants_key(day), tenant)]
        if key_id:
            hashes.append((self.key_day_key(key_id, day), ""))
            hashes.append((self.key_month_key(key_id, day), _TOTAL_ONLY))
            sets.append((self.keys_key(day), f"{tenant}|{key_id}"))
        for name, value in sorted((tags or {}).items()):
            hashes.append((self.tag_key(tenant, day), f"{name}={value}|"))
        return hashes, sets

    async def record(
        self,
        tenant: str,
        model: str,
        usage: Usage,
        cost_usd: Decimal,
        *,
        key_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        counts, amounts = _increments(model, usage, cost_usd)
        hashes, sets = self._targets(tenant, key_id, tags)
        args: list[str | int] = [_KEEP_S, _SEEN_S, len(hashes), len(sets)]
        args += [prefix for _, prefix in hashes]
        args += [member for _, member in sets]
        args.append(len(amounts))
        for field, count in counts:
            args += [field, count]
        for field, amount in amounts:
            args += [field, amount]
        try:
            await self._record(
                keys=[
                    f"{self.prefix.rstrip(':')}-seen:{uuid.uuid4().hex}",
                    *(key for key, _ in hashes),
                    *(key for key, _ in sets),
                ],
                args=args,
            )
        except RedisError as exc:
            raise LimiterUnavailable(f"redis: {exc}") from exc

    def record_in(
        self,
        pipe: aioredis.client.Pipeline,
        tenant: str,
        model: str,
        usage: Usage,
        cost_usd: Decimal,
        *,
        key_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """Queue :meth:`record`'s increments on ``pipe``, a transaction that something
        else makes happen exactly once: a task's call record, whose call id a replayed
        write finds already there (``TaskStore.add_call``), so that the record and the
        ledger hold the same calls whatever crashes in between."""
        counts, amounts = _increments(model, usage, cost_usd)
        hashes, sets = self._targets(tenant, key_id, tags)
        for key, prefix in hashes:
            if prefix != _TOTAL_ONLY:
                for field, count in counts:
                    pipe.hincrby(key, prefix + field, count)
            for field, amount in amounts:
                if prefix == _TOTAL_ONLY and field != _TOTAL:
                    continue
                pipe.hincrbyfloat(
                    key, (prefix if prefix != _TOTAL_ONLY else "") + field, float(amount)
                )
            pipe.expire(key, _KEEP_S)
        for key, member in sets:
            pipe.sadd(key, member)
            pipe.expire(key, _KEEP_S)

    async def key_spent(self, key_id: str, *, month: bool = False) -> Decimal:
        """What the key spent today (UTC), or this month with ``month``."""
        today = utc_today()
        key = self.key_month_key(key_id, today) if month else self.key_day_key(key_id, today)
        try:
            raw = await self.redis.hget(key, _TOTAL)
        except RedisError as exc:
            raise LimiterUnavailable(f"redis: {exc}") from exc
        if not raw:
            return Decimal(0)
        return Decimal(raw.decode() if isinstance(raw, bytes) else raw)

    async def spent(self, tenant: str, day: dt.date | None = None) -> Decimal:
        try:
            raw = await self.redis.hget(self._key(tenant, day or utc_today()), _TOTAL)
        except RedisError as exc:
            raise LimiterUnavailable(f"redis: {exc}") from exc
        if not raw:
            return Decimal(0)
        return Decimal(raw.decode() if isinstance(raw, bytes) else raw)

    async def by_day(
        self, tenant: str, days: int = 7
    ) -> list[tuple[dt.date, dict[str, dict[str, Decimal]]]]:
        """The last ``days`` UTC days, newest first: per model its counters."""
        today = utc_today()
        wanted = [today - dt.timedelta(days=i) for i in range(days)]
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for day in wanted:
                    pipe.hgetall(self._key(tenant, day))
                raws = await pipe.execute()
        except RedisError as exc:
            raise LimiterUnavailable(f"redis: {exc}") from exc
        out = []
        for day, raw in zip(wanted, raws, strict=True):
            models: dict[str, dict[str, Decimal]] = defaultdict(dict)
            for field, value in raw.items():
                name = field.decode() if isinstance(field, bytes) else field
                if name == _TOTAL:
                    continue
                model, _, counter = name.rpartition("|")
                text = value.decode() if isinstance(value, bytes) else value
                models[model][counter] = Decimal(text)
            out.append((day, dict(models)))
        return out
