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
id): it must call it once per paid call, as the call gate does.
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

# KEYS: the day's hash, the record's id; ARGV: model, input, output, cached tokens,
# cost (USD), seconds the hash is kept, seconds the id is kept.
_RECORD = """
if not redis.call("set", KEYS[2], 1, "NX", "EX", ARGV[7]) then
    return 0
end
local model = ARGV[1]
redis.call("hincrby", KEYS[1], model .. "|calls", 1)
redis.call("hincrby", KEYS[1], model .. "|input_tokens", ARGV[2])
redis.call("hincrby", KEYS[1], model .. "|output_tokens", ARGV[3])
redis.call("hincrby", KEYS[1], model .. "|cached_tokens", ARGV[4])
redis.call("hincrbyfloat", KEYS[1], model .. "|cost_usd", ARGV[5])
redis.call("hincrbyfloat", KEYS[1], "total_usd", ARGV[5])
redis.call("expire", KEYS[1], ARGV[6])
return 1
"""


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
        key = self._key(tenant, utc_today())
        try:
            await self._record(
                keys=[key, f"{self.prefix.rstrip(':')}-seen:{uuid.uuid4().hex}"],
                args=[
                    model,
                    usage.input_tokens,
                    usage.output_tokens,
                    usage.cache_read_tokens + usage.cache_write_tokens,
                    repr(float(cost_usd)),
                    _KEEP_S,
                    _SEEN_S,
                ],
            )
        except RedisError as exc:
            raise LimiterUnavailable(f"redis: {exc}") from exc

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
