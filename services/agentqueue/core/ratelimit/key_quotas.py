"""API keys' own quotas: requests and tokens per minute, US dollars per day and month.

A tenant's quota bounds the tenant; a key's bounds one of its keys, so one runaway
integration cannot starve the tenant's others. Enforced exactly like a tenant quota
(``quotas.py``): the per-minute part is a budget named ``key:<key_id>`` charged in the same
atomic acquire as the provider and tenant budgets (all or none), refused at once with
:class:`KeyQuotaExceeded` and the time it would fit; the spend is the key's total in the
usage ledger (``aq:usage-key:<key_id>:<date|month>``), checked before a call.

The limits live in the key's record (``core/apikeys.py``), read here by key id and kept
:data:`RECORD_CACHE_S` seconds per process; the admin API reconfigures the budget at once
when it changes them, and the gate configures it on first use (``UnknownBudget``).
"""

from __future__ import annotations

import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agentqueue.core.apikeys import ApiKeyRecord, ApiKeys
from agentqueue.core.base.errors import KeyQuotaExceeded, LimiterUnavailable, QuotaExceeded
from agentqueue.core.llm.usage import UsageLedger, seconds_to_month_end
from agentqueue.core.ratelimit.budget import BudgetLimits
from agentqueue.core.ratelimit.leases import Charge

#: Key quota budgets are named ``key:<key_id>``.
KEY_BUDGET_PREFIX = "key:"
#: Seconds a key's record (its limits) is trusted before it is read again.
RECORD_CACHE_S = 5.0
#: A per-minute quota with no request (token) limit gets this many.
_NO_RPM = 10**9
_NO_TPM = 10**12


def key_budget(key_id: str) -> str:
    return f"{KEY_BUDGET_PREFIX}{key_id}"


def key_limits(record: ApiKeyRecord, minute_seconds: float = 60.0) -> BudgetLimits | None:
    """The per-minute part of a key's quota as a budget (no margin, no shares), if any."""
    q = record.quotas
    if q.rpm is None and q.tpm is None:
        return None
    return BudgetLimits(
        rpm=q.rpm or _NO_RPM,
        tpm=q.tpm or _NO_TPM,
        margin=0.0,
        minute_seconds=minute_seconds,
        reserves={},
    )


class KeyQuotas:
    """Looks up a key's limits; checks its spend; names a refusal of its budget."""

    def __init__(
        self, redis: aioredis.Redis, ledger: UsageLedger, *, minute_seconds: float = 60.0
    ) -> None:
        self.keys = ApiKeys(redis)
        self.ledger = ledger
        #: Seconds in a quota's minute (shortened only by tests).
        self.minute_seconds = minute_seconds
        self._records: dict[str, tuple[ApiKeyRecord | None, float]] = {}

    async def record(self, key_id: str) -> ApiKeyRecord | None:
        hit = self._records.get(key_id)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        try:
            record = await self.keys.get(key_id)
        except RedisError as exc:
            raise LimiterUnavailable(f"redis: {exc}") from exc
        if len(self._records) > 10_000:
            self._records.clear()
        self._records[key_id] = (record, now + RECORD_CACHE_S)
        return record

    def forget(self, key_id: str) -> None:
        """Read the key's limits again on next use (they were just changed here)."""
        self._records.pop(key_id, None)

    async def limits(self, budget: str) -> BudgetLimits | None:
        """The limits of a ``key:<id>`` budget, from the key's record."""
        if not budget.startswith(KEY_BUDGET_PREFIX):
            return None
        record = await self.record(budget.removeprefix(KEY_BUDGET_PREFIX))
        return key_limits(record, self.minute_seconds) if record is not None else None

    async def charge(self, key_id: str, tokens: int, output: int) -> Charge | None:
        """The quota charge a call adds to its acquire, if the key has per-minute limits.
        A key over its daily or monthly spend is refused here first."""
        record = await self.record(key_id)
        if record is None or record.quotas.is_empty():
            return None
        await self.check_spend(record)
        if key_limits(record) is None:
            return None
        return Charge(key_budget(key_id), tokens, output=output, quota=True)

    async def check_spend(self, record: ApiKeyRecord) -> None:
        from agentqueue.core.ratelimit.quotas import seconds_to_midnight

        q = record.quotas
        if q.usd_per_day is not None:
            spent = await self.ledger.key_spent(record.key_id)
            if spent >= q.usd_per_day:
                raise KeyQuotaExceeded(
                    record.key_id,
                    record.tenant,
                    "usd_per_day",
                    retry_after=seconds_to_midnight(),
                    detail=f"spent ${spent:.4f} of ${q.usd_per_day} today (UTC)",
                )
        if q.usd_per_month is not None:
            spent = await self.ledger.key_spent(record.key_id, month=True)
            if spent >= q.usd_per_month:
                raise KeyQuotaExceeded(
                    record.key_id,
                    record.tenant,
                    "usd_per_month",
                    retry_after=seconds_to_month_end(),
                    detail=f"spent ${spent:.4f} of ${q.usd_per_month} this month (UTC)",
                )

    async def name_refusal(self, exc: QuotaExceeded) -> QuotaExceeded:
        """The shared acquire's refusal of a ``key:<id>`` budget as the key's own: which
        limit (rpm or tpm, by what the key has) and which key. Any other refusal as is."""
        if not exc.tenant.startswith(KEY_BUDGET_PREFIX) or isinstance(exc, KeyQuotaExceeded):
            return exc
        key_id = exc.tenant.removeprefix(KEY_BUDGET_PREFIX)
        record = await self.record(key_id)
        tenant = record.tenant if record is not None else ""
        q = record.quotas if record is not None else None
        which = "rpm" if q is not None and q.rpm is not None and q.tpm is None else exc.quota
        named = KeyQuotaExceeded(key_id, tenant, which, exc.retry_after)
        named.__cause__ = exc
        return named
