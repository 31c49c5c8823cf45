"""Headroom per budget as Prometheus gauges: what dashboards and alerts read.

The calls' own counters (acquires, waits, denials, settles, refunds, 429s, estimate
error) live in ``core.ratelimit.metrics`` and are exported by the processes that make
the calls; the levels are the limiter's to publish. They are refreshed on a timer
rather than per scrape because a collector cannot await Redis.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from prometheus_client import Gauge

from agentqueue.core.base.errors import AgentQueueError
from agentqueue.core.ratelimit.leases import Budgets

log = logging.getLogger(__name__)

AVAILABLE_TOKENS = Gauge(
    "agentqueue_limiter_available_tokens", "Tokens a call could take now", ["budget"]
)
AVAILABLE_REQUESTS = Gauge(
    "agentqueue_limiter_available_requests", "Requests a call could take now", ["budget"]
)
SUSTAINABLE_TPM = Gauge(
    "agentqueue_limiter_sustainable_tpm", "Tokens per minute the budget refills", ["budget"]
)
SUSTAINABLE_RPM = Gauge(
    "agentqueue_limiter_sustainable_rpm", "Requests per minute the budget refills", ["budget"]
)
OPEN_LEASES = Gauge("agentqueue_limiter_open_leases", "Reservations not yet settled")


async def refresh_headroom(budgets: Budgets, names: Iterable[str]) -> None:
    for name in sorted(names):
        room = await budgets.headroom(name)
        AVAILABLE_TOKENS.labels(name).set(room.available_tokens)
        AVAILABLE_REQUESTS.labels(name).set(room.available_requests)
        SUSTAINABLE_TPM.labels(name).set(room.sustainable_tpm)
        SUSTAINABLE_RPM.labels(name).set(room.sustainable_rpm)
        OPEN_LEASES.set(room.open_leases)


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
