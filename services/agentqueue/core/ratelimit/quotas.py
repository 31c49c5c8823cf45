"""Tenants' own quotas: tokens and requests per minute, and US dollars per day.

A provider budget is capacity we share out; a quota is a policy on one tenant, so it is
never waited for — a call over it is refused at once with :class:`QuotaExceeded` and the
time it would fit. The per-minute part is a budget named ``tenant:<id>`` in the same
store as the provider budgets, charged in the same atomic acquire (a quota charge), so a
call takes both or neither. The daily spend is the tenant's total in the usage ledger
(:mod:`agentqueue.core.llm.usage`), checked before a call and increased by each call's cost
once it is known: a tenant can overshoot by at most the calls it has in flight when it
reaches its quota.

Issue 19 adds, beside the tenant's: each API key's own quotas (``key_quotas.py``, a third
charge in the same acquire), tenants' quotas set through the admin API (a Redis hash
``aq:tenant-quotas``, tenant → JSON, over the settings' and read again every
:data:`OVERRIDES_CACHE_S` seconds), and usage recorded per key and per tag with the
tenant's, in the same script.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agentqueue.core.base.errors import KeyQuotaExceeded, QuotaExceeded
from agentqueue.core.llm.messages import Usage
from agentqueue.core.llm.usage import UsageLedger
from agentqueue.core.ratelimit.budget import BudgetLimits
from agentqueue.core.ratelimit.key_quotas import KeyQuotas
from agentqueue.core.ratelimit.leases import Charge

#: Quota budgets are named ``tenant:<id>``.
TENANT_BUDGET_PREFIX = "tenant:"
#: The ``tenant_quotas`` entry that applies to every tenant not listed.
DEFAULT_TENANT = "*"
#: Where the shared budgets keep a budget's state (``RedisBudgets``' default prefix).
BUDGET_KEY_PREFIX = "aq:rl:budget:"
#: A per-minute quota with no request limit gets this many requests per minute.
_NO_RPM = 10**9
#: Tenants' quotas set through the admin API: tenant → the quota's JSON spec.
OVERRIDES_KEY = "aq:tenant-quotas"
#: Seconds the overrides are trusted before they are read again.
OVERRIDES_CACHE_S = 5.0


@dataclass(frozen=True)
class TenantQuota:
    tpm: int | None = None
    rpm: int | None = None
    usd_per_day: Decimal | None = None
    #: Seconds in the quota's minute (shortened only by tests).
    minute_seconds: float = 60.0

    @classmethod
    def of(cls, spec: Mapping[str, float]) -> TenantQuota:
        unknown = set(spec) - {"tpm", "rpm", "usd_per_day", "minute_seconds"}
        if unknown:
            raise ValueError(f"unknown quota key(s) {sorted(unknown)}: use tpm, rpm, usd_per_day")
        usd = spec.get("usd_per_day")
        return cls(
            tpm=int(spec["tpm"]) if spec.get("tpm") else None,
            rpm=int(spec["rpm"]) if spec.get("rpm") else None,
            usd_per_day=Decimal(str(usd)) if usd is not None else None,
            minute_seconds=float(spec.get("minute_seconds", 60.0)),
        )

    def spec(self) -> dict[str, float]:
        """The quota as :meth:`of` reads it (what the admin API stores and shows)."""
        out: dict[str, float] = {}
        if self.tpm is not None:
            out["tpm"] = self.tpm
        if self.rpm is not None:
            out["rpm"] = self.rpm
        if self.usd_per_day is not None:
            out["usd_per_day"] = float(self.usd_per_day)
        if self.minute_seconds != 60.0:
            out["minute_seconds"] = self.minute_seconds
        return out

    def limits(self) -> BudgetLimits | None:
        """The per-minute part as a budget (no margin, no priority shares), if any."""
        if self.tpm is None and self.rpm is None:
            return None
        return BudgetLimits(
            rpm=self.rpm or _NO_RPM,
            tpm=self.tpm or 10**12,
            margin=0.0,
            minute_seconds=self.minute_seconds,
            reserves={},
        )


def tenant_budget(tenant: str) -> str:
    return f"{TENANT_BUDGET_PREFIX}{tenant}"


def seconds_to_midnight(now: dt.datetime | None = None) -> float:
    now = now or dt.datetime.now(dt.UTC)
    tomorrow = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()


class TenantQuotas:
    """Looks up a tenant's quota; checks and records its usage and daily spend."""

    def __init__(
        self,
        redis: aioredis.Redis,
        quotas: Mapping[str, TenantQuota],
    ) -> None:
        self.redis = redis
        self.ledger = UsageLedger(redis)
        self.quotas = dict(quotas)
        #: API keys' own quotas (``key_quotas.py``).
        self.keys = KeyQuotas(redis, self.ledger)
        #: Quotas set through the admin API, over ``quotas`` (see the module docstring).
        self.overrides: dict[str, TenantQuota] = {}
        self._overrides_read_at = -OVERRIDES_CACHE_S

    def quota(self, tenant: str) -> TenantQuota | None:
        if tenant in self.overrides:
            return self.overrides[tenant]
        return self.quotas.get(tenant, self.quotas.get(DEFAULT_TENANT))

    async def refresh_overrides(self, *, force: bool = False) -> None:
        """Read the admin API's quotas again (at most every :data:`OVERRIDES_CACHE_S`).
        An unreadable store keeps the last ones read."""
        now = time.monotonic()
        if not force and now - self._overrides_read_at < OVERRIDES_CACHE_S:
            return
        self._overrides_read_at = now
        try:
            raw = await self.redis.hgetall(OVERRIDES_KEY)
        except RedisError:
            return
        out = {}
        for tenant, spec in raw.items():
            name = tenant.decode() if isinstance(tenant, bytes) else tenant
            try:
                out[name] = TenantQuota.of(json.loads(spec))
            except (ValueError, TypeError):
                continue
        self.overrides = out

    async def set_quota(self, tenant: str, quota: TenantQuota | None) -> None:
        """Set (None: remove) the tenant's quota over the settings' (the admin API)."""
        if quota is None:
            await self.redis.hdel(OVERRIDES_KEY, tenant)
        else:
            await self.redis.hset(OVERRIDES_KEY, tenant, json.dumps(quota.spec()))
        await self.refresh_overrides(force=True)

    def charge(self, tenant: str, tokens: int, output: int) -> Charge | None:
        """The quota charge a call of ``tokens`` adds to its acquire, if the tenant has one."""
        quota = self.quota(tenant)
        if quota is None or quota.limits() is None:
            return None
        return Charge(tenant_budget(tenant), tokens, output=output, quota=True)

    async def spent_today(self, tenant: str) -> Decimal:
        return await self.ledger.spent(tenant)

    async def check_spend(self, tenant: str) -> None:
        """Raise :class:`QuotaExceeded` when the tenant has spent its day's quota."""
        await self.refresh_overrides()
        quota = self.quota(tenant)
        if quota is None or quota.usd_per_day is None:
            return
        spent = await self.spent_today(tenant)
        if spent >= quota.usd_per_day:
            raise QuotaExceeded(
                tenant,
                "usd_per_day",
                retry_after=seconds_to_midnight(),
                detail=f"spent ${spent:.4f} of ${quota.usd_per_day} today (UTC)",
            )

    async def name_refusal(self, exc: QuotaExceeded) -> QuotaExceeded:
        """The refusal of a per-minute quota, naming the limit that refused it.

        The shared acquire refuses a tenant's per-minute budget as a whole (and says
        ``tpm``): a tenant whose quota has only ``rpm`` was refused for requests, one with
        only ``tpm`` for tokens; with both, the budget's request level in Redis tells
        (fewer than one request left: ``rpm``).
        """
        if isinstance(exc, KeyQuotaExceeded):
            return exc  # named already
        if exc.tenant.startswith("key:"):  # a key's own per-minute budget
            named = await self.keys.name_refusal(exc)
            record = await self.keys.record(exc.tenant.removeprefix("key:"))
            q = record.quotas if record is not None else None
            both = q is not None and q.rpm is not None and q.tpm is not None
            if both and await requests_short(self.redis, exc.tenant):
                rpm = QuotaExceeded(exc.tenant, "rpm", exc.retry_after)
                named = await self.keys.name_refusal(rpm)
            return named
        if exc.quota not in ("tpm", "rpm"):
            return exc
        quota = self.quota(exc.tenant)
        if quota is None:
            return exc
        if quota.rpm is not None and quota.tpm is None:
            which = "rpm"
        elif quota.tpm is not None and quota.rpm is None:
            which = "tpm"
        else:
            which = "rpm" if await requests_short(self.redis, tenant_budget(exc.tenant)) else "tpm"
        if which == exc.quota:
            return exc
        named = QuotaExceeded(exc.tenant, which, exc.retry_after)
        named.__cause__ = exc.__cause__
        return named

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
        """Add a finished call to the tenant's usage (and so to its spend today), and to
        its key's and tags' when given."""
        await self.ledger.record(tenant, model, usage, cost_usd, key_id=key_id, tags=tags)


async def requests_short(redis: aioredis.Redis, budget: str) -> bool:
    """Whether a quota budget has less than one request left now."""
    try:
        raw = await redis.hmget(f"{BUDGET_KEY_PREFIX}{budget}", ["lvl_r", "rate_r", "cap_r", "ts"])
        seconds, micros = await redis.time()
    except RedisError:
        return False
    values = [float(v) for v in raw if v is not None]
    if len(values) != 4:
        return False
    level, rate, cap, ts = values
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    return min(cap, level + max(0.0, now_ms - ts) * rate) < 1.0
