"""Headroom per budget as Prometheus gauges: what dashboards and alerts read.

Each provider budget (``provider:model:deployment``) is labelled by its three parts
(``agentqueue_budget_*``, ``core.telemetry.metrics``): one packed ``budget`` label could
not be summed by provider or model. Tenants' per-minute quotas have families of their own,
by ``tenant`` (``agentqueue_tenant_quota_*``).

The calls' own counters (acquires, waits, denials, settles, refunds, 429s, estimate
error) live in ``core.ratelimit.metrics`` and ``core.telemetry.metrics`` and are
exported by the processes that make the calls; the levels are the limiter's to publish.
They are refreshed on a timer rather than per scrape because a collector cannot await
Redis; each refresh reads every budget first, then replaces all the gauges at once, so
a budget configured away leaves no stale series and a scrape never sees half of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping

from prometheus_client import Gauge

from agentqueue.core.base.errors import AgentQueueError
from agentqueue.core.ratelimit.leases import Budgets, Headroom
from agentqueue.core.ratelimit.quotas import DEFAULT_TENANT, TenantQuota
from agentqueue.core.telemetry.metrics import (
    BUDGET_AVAILABLE_REQUESTS,
    BUDGET_AVAILABLE_TOKENS,
    BUDGET_CAPACITY_REQUESTS,
    BUDGET_CAPACITY_TOKENS,
    TENANT_QUOTA_AVAILABLE_REQUESTS,
    TENANT_QUOTA_AVAILABLE_TOKENS,
    TENANT_QUOTA_USD_PER_DAY,
    quota_tenant,
    split_budget,
)

log = logging.getLogger(__name__)

OPEN_LEASES = Gauge(
    "agentqueue_limiter_open_leases",
    "Reservations not yet settled",
    multiprocess_mode="livemostrecent",
)

_BUDGET_GAUGES = (
    BUDGET_AVAILABLE_TOKENS,
    BUDGET_AVAILABLE_REQUESTS,
    BUDGET_CAPACITY_TOKENS,
    BUDGET_CAPACITY_REQUESTS,
)
_QUOTA_GAUGES = (TENANT_QUOTA_AVAILABLE_TOKENS, TENANT_QUOTA_AVAILABLE_REQUESTS)


async def refresh_headroom(budgets: Budgets, names: Iterable[str]) -> None:
    rooms: list[tuple[str, Headroom]] = []
    for name in sorted(names):
        rooms.append((name, await budgets.headroom(name)))
    for gauge in (*_BUDGET_GAUGES, *_QUOTA_GAUGES):
        gauge.clear()
    for name, room in rooms:
        parts = split_budget(name)
        if parts is not None:
            BUDGET_AVAILABLE_TOKENS.labels(*parts).set(room.available_tokens)
            BUDGET_AVAILABLE_REQUESTS.labels(*parts).set(room.available_requests)
            BUDGET_CAPACITY_TOKENS.labels(*parts).set(room.sustainable_tpm)
            BUDGET_CAPACITY_REQUESTS.labels(*parts).set(room.sustainable_rpm)
        else:
            tenant = quota_tenant(name) or ""
            TENANT_QUOTA_AVAILABLE_TOKENS.labels(tenant).set(room.available_tokens)
            TENANT_QUOTA_AVAILABLE_REQUESTS.labels(tenant).set(room.available_requests)
        OPEN_LEASES.set(room.open_leases)


def publish_quotas(quotas: Mapping[str, TenantQuota]) -> None:
    """The named tenants' daily spend quotas (``*``, the default, names no tenant)."""
    TENANT_QUOTA_USD_PER_DAY.clear()
    for tenant, quota in quotas.items():
        if tenant != DEFAULT_TENANT and quota.usd_per_day is not None:
            TENANT_QUOTA_USD_PER_DAY.labels(tenant).set(float(quota.usd_per_day))


async def keep_headroom_fresh(
    budgets: Budgets, names: Callable[[], Iterable[str]], interval: float
) -> None:
    """Refresh the gauges every ``interval`` seconds until cancelled."""
    while True:
        try:
            await refresh_headroom(budgets, names())
        except AgentQueueError as exc:
            log.warning("could not refresh headroom gauges: %s", exc)
        await asyncio.sleep(interval)
