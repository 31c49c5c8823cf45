"""The shared budget's script against a real Redis: what only the in-process backend shows.

Refill without windows, arrival order, reserving ahead, expired leases. What every
backend must do alike (refunds, priorities, quotas, feedback) is in
``test_budgets_contract.py``, run against this backend and the limiter service.
"""

import asyncio
import time

import pytest
import redis.asyncio as aioredis

from agentqueue.core.base.priority import Priority
from agentqueue.core.ratelimit.budget import BudgetLimits
from agentqueue.core.ratelimit.lanes import Lane
from agentqueue.core.ratelimit.leases import Charge
from agentqueue.core.ratelimit.redis_budgets import RedisBudgets

B = "sim:model:default"


async def _budgets(
    aredis: aioredis.Redis,
    *,
    rpm: int = 10_000,
    tpm: int = 10_000,
    minute: float = 1.0,
    lease_ttl: float = 300.0,
    **kw,
) -> RedisBudgets:
    budgets = RedisBudgets(aredis, lease_ttl=lease_ttl)
    await budgets.configure(
        B, BudgetLimits(rpm=rpm, tpm=tpm, margin=0, minute_seconds=minute, **kw)
    )
    return budgets


@pytest.mark.slow
async def test_no_window_admits_more_than_capacity_plus_refill(aredis) -> None:
    # 10,000 tokens a 1-second "minute": capacity 10k, refill 10 tokens/ms.
    budgets = await _budgets(aredis)
    grants: list[tuple[float, int]] = []
    stop = time.monotonic() + 1.5

    async def hammer(size: int) -> None:
        while time.monotonic() < stop:
            await budgets.acquire([Charge(B, size)], priority=Priority.HIGH, max_wait=2)
            grants.append((time.monotonic(), size))

    await asyncio.gather(*(hammer(s) for s in (300, 500, 700, 900) * 3))
    grants.sort()
    capacity, per_s = 10_000, 10_000
    slack = per_s * 0.02  # client-side timestamps lag the server's decision a little
    for i, (start, _) in enumerate(grants):
        total = 0
        for end, size in grants[i:]:
            total += size
            assert total <= capacity + per_s * (end - start) + slack
    assert sum(s for _, s in grants) > capacity + per_s * 1.2  # and it was really used


async def test_expired_lease_gives_back_its_output_reservation(aredis) -> None:
    budgets = await _budgets(aredis, minute=3600, lease_ttl=0.1)
    await budgets.acquire([Charge(B, 4000, output=3000)])  # its worker "dies"
    await asyncio.sleep(0.15)
    await budgets.acquire([Charge(B, 1)])  # any acquire sweeps expired leases
    room = await budgets.headroom(B)
    assert room.available_tokens == pytest.approx(10_000 - 1000 - 1, abs=5)
    assert room.open_leases == 1


async def test_no_lease_stays_in_the_sent_index_once_settled_or_swept(aredis) -> None:
    """Feedback reads the open leases by the time they went out: each leaves that index
    when it is settled or swept, or the index (and every feedback's work) would grow."""
    budgets = await _budgets(aredis, minute=3600, lease_ttl=0.1)
    sent = "aq:rl:sent:" + B
    settled = await budgets.acquire([Charge(B, 100)])
    await budgets.acquire([Charge(B, 100)])  # its worker "dies"
    assert await aredis.zcard(sent) == 2
    assert await budgets.settle(settled, {B: 50})
    assert await aredis.zcard(sent) == 1
    await asyncio.sleep(0.15)
    last = await budgets.acquire([Charge(B, 1)])  # sweeps the expired lease
    assert await aredis.zrange(sent, 0, -1) == [last.id.encode()]


@pytest.mark.slow
async def test_waiters_of_one_priority_are_served_in_arrival_order(aredis) -> None:
    budgets = await _budgets(aredis, tpm=1000, minute=1.0)  # 1 token/ms
    await budgets.acquire([Charge(B, 1000)], priority=Lane.INTERACTIVE)  # empty the bucket
    order: list[int] = []

    async def waiter(i: int) -> None:
        await asyncio.sleep(i * 0.01)  # arrive in order 0, 1, 2, ...
        lease = await budgets.acquire([Charge(B, 200)], max_wait=5)
        order.append(i)
        assert lease.waited > 0

    await asyncio.gather(*(waiter(i) for i in range(5)))
    assert order == [0, 1, 2, 3, 4]


async def test_a_returning_waiter_reserves_ahead_instead_of_starving(aredis) -> None:
    budgets = await _budgets(aredis, tpm=1000, minute=1.0)  # 1 token per ms
    key = budgets.key(B)

    async def raw(lease: str, tokens: int, ticket: int) -> tuple[str, int]:
        verdict, detail, _ = await budgets._run(
            "acquire", "interactive", 5000, lease, 300_000, ticket, 1, key, 1, tokens, 0
        )
        return verdict.decode(), int(detail)

    assert (await raw("empty", 1000, 0))[0] == "granted"
    verdict, wait = await raw("A", 500, 0)  # A queues for ~500 ms
    assert verdict == "wait" and 450 <= wait <= 510
    await asyncio.sleep(wait / 1000)
    assert (await raw("B", 400, 0)) == ("granted", 0)  # a newcomer that fits goes now...
    verdict, ahead = await raw("A", 500, 1)  # ...so A, back for its turn, reserves ahead
    assert verdict == "granted" and 300 <= ahead <= 450
    assert (await raw("C", 100, 0))[0] == "wait"  # and later newcomers queue behind it
