"""The shared budget against a real Redis: limits, refunds, leases, priorities, feedback."""

import asyncio
import time

import pytest
import redis.asyncio as aioredis

from agentqueue.core.base.errors import BudgetExhausted, UnknownBudget
from agentqueue.core.base.priority import Priority
from agentqueue.core.ratelimit.budget import BudgetLimits
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


async def test_settle_refunds_what_the_call_did_not_use(aredis) -> None:
    budgets = await _budgets(aredis, minute=3600)  # negligible refill during the test
    lease = await budgets.acquire([Charge(B, 4000, output=3000)])
    assert (await budgets.headroom(B)).available_tokens == pytest.approx(6000, abs=5)
    assert await budgets.settle(lease, {B: 1200})
    room = await budgets.headroom(B)
    assert room.available_tokens == pytest.approx(8800, abs=5) and room.open_leases == 0


async def test_expired_lease_gives_back_its_output_reservation(aredis) -> None:
    budgets = await _budgets(aredis, minute=3600, lease_ttl=0.1)
    await budgets.acquire([Charge(B, 4000, output=3000)])  # its worker "dies"
    await asyncio.sleep(0.15)
    await budgets.acquire([Charge(B, 1)])  # any acquire sweeps expired leases
    room = await budgets.headroom(B)
    assert room.available_tokens == pytest.approx(10_000 - 1000 - 1, abs=5)
    assert room.open_leases == 1


async def test_priorities_leave_their_reserves_to_those_above(aredis) -> None:
    budgets = await _budgets(aredis, minute=3600)  # reserves: standard 10%, batch 30%
    for _ in range(7):
        await budgets.acquire([Charge(B, 1000)], priority=Priority.BATCH, max_wait=0)
    with pytest.raises(BudgetExhausted) as info:  # batch may not go below 30%
        await budgets.acquire([Charge(B, 1000)], priority=Priority.BATCH, max_wait=0)
    assert info.value.retry_after > 0
    for _ in range(2):
        await budgets.acquire([Charge(B, 1000)], priority=Priority.STANDARD, max_wait=0)
    with pytest.raises(BudgetExhausted):  # standard leaves the last 10% to high
        await budgets.acquire([Charge(B, 1000)], priority=Priority.STANDARD, max_wait=0)
    await budgets.acquire([Charge(B, 1000)], priority=Priority.HIGH, max_wait=0)


async def test_waiters_of_one_priority_are_served_in_arrival_order(aredis) -> None:
    budgets = await _budgets(aredis, tpm=1000, minute=1.0)  # 1 token/ms
    await budgets.acquire([Charge(B, 1000)], priority=Priority.HIGH)  # empty the bucket
    order: list[int] = []

    async def waiter(i: int) -> None:
        await asyncio.sleep(i * 0.01)  # arrive in order 0, 1, 2, ...
        lease = await budgets.acquire([Charge(B, 200)], max_wait=5)
        order.append(i)
        assert lease.waited > 0

    await asyncio.gather(*(waiter(i) for i in range(5)))
    assert order == [0, 1, 2, 3, 4]


async def test_provider_headers_and_429s_pull_the_budget_down(aredis) -> None:
    budgets = await _budgets(aredis, minute=3600)
    await budgets.feedback(B, remaining_tokens=500, margin=0.02)
    assert (await budgets.headroom(B)).available_tokens == pytest.approx(490, abs=5)

    budgets = await _budgets(aredis, tpm=1000, minute=1.0)
    await budgets.feedback(B, retry_after=0.5)
    started = time.monotonic()
    await budgets.acquire([Charge(B, 100)], priority=Priority.HIGH, max_wait=5)
    assert time.monotonic() - started >= 0.5  # nothing is sent before the provider's wait


async def test_unknown_budget_and_impossible_calls_are_refused(aredis) -> None:
    budgets = await _budgets(aredis)
    with pytest.raises(UnknownBudget):
        await budgets.acquire([Charge("nope", 1)])
    with pytest.raises(Exception, match="more than budget"):
        await budgets.acquire([Charge(B, 10_001)], priority=Priority.HIGH)


async def test_a_returning_waiter_reserves_ahead_instead_of_starving(aredis) -> None:
    budgets = await _budgets(aredis, tpm=1000, minute=1.0)  # 1 token per ms
    key = budgets.key(B)

    async def raw(lease: str, tokens: int, ticket: int) -> tuple[str, int]:
        verdict, detail, _ = await budgets._run(
            "acquire", "high", 5000, lease, 300_000, ticket, 1, key, 1, tokens, 0
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


async def test_output_tokens_are_counted_apart_where_the_provider_does(aredis) -> None:
    # Plenty of total and input tokens, but only 1,000 output tokens a (long) minute.
    budgets = await _budgets(aredis, tpm=100_000, itpm=80_000, otpm=1000, minute=3600)
    lease = await budgets.acquire([Charge(B, 1100, output=800)])
    room = await budgets.headroom(B)
    assert room.available_output_tokens == pytest.approx(200, abs=1)
    assert room.available_input_tokens == pytest.approx(80_000 - 300, abs=1)
    with pytest.raises(BudgetExhausted):  # the output dimension binds, not the total
        await budgets.acquire([Charge(B, 600, output=500)], max_wait=0)
    # The call wrote only 100 of its 800 output tokens: 700 come back to the output side.
    assert await budgets.settle(lease, {B: 400}, {B: 100})
    room = await budgets.headroom(B)
    assert room.available_output_tokens == pytest.approx(900, abs=1)
    assert room.available_input_tokens == pytest.approx(80_000 - 300, abs=1)
    await budgets.acquire([Charge(B, 600, output=500)], max_wait=0)


async def test_a_quota_charge_is_refused_at_once_and_takes_nothing(aredis) -> None:
    from agentqueue.core.base.errors import QuotaExceeded

    budgets = await _budgets(aredis, minute=3600)
    await budgets.configure(
        "tenant:acme", BudgetLimits(rpm=10**9, tpm=1000, margin=0, minute_seconds=60, reserves={})
    )
    both = [Charge(B, 800), Charge("tenant:acme", 800, quota=True)]
    await budgets.acquire(both)
    provider_before = (await budgets.headroom(B)).available_tokens
    started = time.monotonic()
    with pytest.raises(QuotaExceeded) as refused:
        await budgets.acquire(both, max_wait=30)
    assert time.monotonic() - started < 0.5  # refused, not waited for
    assert refused.value.tenant == "acme" and refused.value.quota == "tpm"
    # 600 more tokens of a 1,000/minute quota: about 36 s away
    assert refused.value.retry_after == pytest.approx(36, abs=1)
    assert "acme" in str(refused.value) and "tokens per minute" in str(refused.value)
    # all or nothing: the provider budget was not charged by the refused call
    assert (await budgets.headroom(B)).available_tokens == pytest.approx(provider_before, abs=5)


async def test_success_headers_lower_the_level_aged_by_the_refill(aredis) -> None:
    budgets = await _budgets(aredis, tpm=60_000, minute=60)  # refill 1,000 tokens/s
    # The provider saw 20,000 tokens left two seconds ago: 22,000 by now.
    assert await budgets.feedback(B, remaining_tokens=20_000, age=2.0, margin=0)
    assert (await budgets.headroom(B)).available_tokens == pytest.approx(22_000, abs=50)
    # A provider count above ours never raises our level.
    assert not await budgets.feedback(B, remaining_tokens=59_000, margin=0)
    assert (await budgets.headroom(B)).available_tokens == pytest.approx(22_000, abs=50)


async def test_header_feedback_keeps_calls_the_provider_has_not_seen_yet(aredis) -> None:
    """Our open lease may not have reached the provider when it counted: not forgotten."""
    budgets = await _budgets(aredis, tpm=60_000, minute=3600)  # negligible refill
    lease = await budgets.acquire([Charge(B, 10_000)])
    assert (await budgets.headroom(B)).available_tokens == pytest.approx(50_000, abs=20)
    # The provider counts 45,000 left without our call: 35,000 once it arrives.
    assert await budgets.feedback(B, remaining_tokens=45_000, margin=0)
    assert (await budgets.headroom(B)).available_tokens == pytest.approx(35_000, abs=20)
    assert await budgets.settle(lease, {B: 10_000})
    assert (await budgets.headroom(B)).available_tokens == pytest.approx(35_000, abs=20)
    # settled: nothing is pending any more, the provider's count is taken as it stands
    assert await budgets.feedback(B, remaining_tokens=30_000, margin=0)
    assert (await budgets.headroom(B)).available_tokens == pytest.approx(30_000, abs=20)
