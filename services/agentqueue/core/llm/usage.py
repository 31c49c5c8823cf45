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
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from decimal import Decimal

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agentqueue.core.base.errors import LimiterUnavailable
from agentqueue.core.llm.messages import Usage

_KEEP_S = 400 * 24 * 3600
_TOTAL = "total_usd"
_SEEN_S = 600

# KEYS: the day's hash, the record's id; ARGV: seconds the hash is kept, seconds the id
# is kept, then (field, increment) pairs, the float ones last after their count.
_RECORD = """
if not redis.call("set", KEYS[2], 1, "NX", "EX", ARGV[2]) then
    return 0
end
local floats = tonumber(ARGV[3])
local n = (#ARGV - 3) / 2
for i = 1, n do
    local field, amount = ARGV[2 + 2 * i], ARGV[3 + 2 * i]
    if i > n - floats then
        redis.call("hincrbyfloat", KEYS[1], field, amount)
    else
        redis.call("hincrby", KEYS[1], field, amount)
    end
end
redis.call("expire", KEYS[1], ARGV[1])
return 1
"""


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


class UsageLedger:
    def __init__(self, redis: aioredis.Redis, *, prefix: str = "aq:usage:") -> None:
        self.redis = redis
        self.prefix = prefix
        self._record = redis.register_script(_RECORD)

    def _key(self, tenant: str, day: dt.date) -> str:
        return f"{self.prefix}{tenant}:{day.isoformat()}"

    async def record(self, tenant: str, model: str, usage: Usage, cost_usd: Decimal) -> None:
        counts, amounts = _increments(model, usage, cost_usd)
        args: list[str | int] = [_KEEP_S, _SEEN_S, len(amounts)]
        for field, count in counts:
            args += [field, count]
        for field, amount in amounts:
            args += [field, amount]
        try:
            await self._record(
                keys=[
                    self._key(tenant, utc_today()),
                    f"{self.prefix.rstrip(':')}-seen:{uuid.uuid4().hex}",
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
    ) -> None:
        """Queue :meth:`record`'s increments on ``pipe``, a transaction that something
        else makes happen exactly once: a task's call record, whose call id a replayed
        write finds already there (``TaskStore.add_call``), so that the record and the
        ledger hold the same calls whatever crashes in between."""
        key = self._key(tenant, utc_today())
        counts, amounts = _increments(model, usage, cost_usd)
        for field, count in counts:
            pipe.hincrby(key, field, count)
        for field, amount in amounts:
            pipe.hincrbyfloat(key, field, float(amount))
        pipe.expire(key, _KEEP_S)

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
