"""Usage and cost per tenant, by model and by UTC day: what ``GET /v1/usage`` reports
and what the daily spend quota is checked against.

One Redis hash per tenant and day (``aq:usage:<tenant>:<date>``), fields
``<model>|calls``, ``<model>|input_tokens``, ``<model>|output_tokens``,
``<model>|cached_tokens``, ``<model>|cost_usd`` and the day's ``total_usd``; one pipelined
round trip per call. Kept 400 days.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agentqueue.core.base.errors import LimiterUnavailable
from agentqueue.core.llm.messages import Usage

_KEEP_S = 400 * 24 * 3600
_TOTAL = "total_usd"


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


class UsageLedger:
    def __init__(self, redis: aioredis.Redis, *, prefix: str = "aq:usage:") -> None:
        self.redis = redis
        self.prefix = prefix

    def _key(self, tenant: str, day: dt.date) -> str:
        return f"{self.prefix}{tenant}:{day.isoformat()}"

    async def record(self, tenant: str, model: str, usage: Usage, cost_usd: Decimal) -> None:
        key = self._key(tenant, utc_today())
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hincrby(key, f"{model}|calls", 1)
                pipe.hincrby(key, f"{model}|input_tokens", usage.input_tokens)
                pipe.hincrby(key, f"{model}|output_tokens", usage.output_tokens)
                pipe.hincrby(
                    key,
                    f"{model}|cached_tokens",
                    usage.cache_read_tokens + usage.cache_write_tokens,
                )
                pipe.hincrbyfloat(key, f"{model}|cost_usd", float(cost_usd))
                pipe.hincrbyfloat(key, _TOTAL, float(cost_usd))
                pipe.expire(key, _KEEP_S)
                await pipe.execute()
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
