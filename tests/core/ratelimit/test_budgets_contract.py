"""One contract, both backends: every :class:`~agentqueue.core.ratelimit.leases.Budgets`
must give the same outcome for the same calls.

Each test runs against ``RedisBudgets`` (the Lua script, in-process) and ``HttpBudgets``
(the limiter service, served for real on 127.0.0.1 over the same Redis). The service's
own margin is set far from anything a test sends (``SERVICE_MARGIN``), so a field that a
backend drops on the way — as the service once dropped feedback's margin — shows up as a
different outcome rather than passing by coincidence.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from agentqueue.core.base.errors import BadRequest, BudgetExhausted, QuotaExceeded, UnknownBudget
from agentqueue.core.base.priority import Priority
from agentqueue.core.ratelimit.budget import BudgetLimits
from agentqueue.core.ratelimit.http_budgets import HttpBudgets
from agentqueue.core.ratelimit.lanes import Lane
from agentqueue.core.ratelimit.leases import Budgets, Charge, Feedback, Lease
from agentqueue.core.ratelimit.redis_budgets import IN_TRANSIT, RedisBudgets
from agentqueue.limiter.app import create_app
from agentqueue.limiter.settings import LimiterSettings
from tests.servers import serving

B = "sim:model:default"
#: The limiter service's ``limiter_margin``: what it would apply to a field dropped.
SERVICE_MARGIN = 0.3


@pytest.fixture(params=["redis", "http"])
async def budgets(
    request: pytest.FixtureRequest, redis_url: str, aredis: aioredis.Redis
) -> AsyncIterator[Budgets]:
    if request.param == "redis":
        yield RedisBudgets(aredis)
        return
    settings = LimiterSettings(
        redis_url=SecretStr(redis_url), limiter_margin=SERVICE_MARGIN, headroom_interval=60
    )
    with serving(create_app(settings), name="limiter") as url:
        client = HttpBudgets(url)
        try:
            yield client
        finally:
            await client.aclose()


async def _configure(
    budgets: Budgets,
    *,
    rpm: int = 10_000,
    tpm: int = 10_000,
    minute: float = 3600,
    **kw: Any,
) -> None:
    """One budget, without margin; ``minute`` 3600 s: no refill to speak of in a test."""
    kw.setdefault("margin", 0)
    await budgets.configure(B, BudgetLimits(rpm=rpm, tpm=tpm, minute_seconds=minute, **kw))


async def _tokens(budgets: Budgets) -> float:
    return (await budgets.headroom(B)).available_tokens


# --- configure, acquire, settle ------------------------------------------------------


@pytest.mark.parametrize("margin", [0.0, 0.1])
async def test_configure_keeps_the_margin_it_is_given(budgets: Budgets, margin: float) -> None:
    await _configure(budgets, rpm=100, tpm=10_000, margin=margin)
    room = await budgets.headroom(B)
    assert room.available_tokens == pytest.approx(10_000 * (1 - margin), abs=1)
    assert room.available_requests == pytest.approx(100 * (1 - margin), abs=0.1)


async def test_settle_refunds_what_the_call_did_not_use(budgets: Budgets) -> None:
    await _configure(budgets)
    lease = await budgets.acquire([Charge(B, 4000, output=3000)])
    assert await _tokens(budgets) == pytest.approx(6000, abs=5)
    assert await budgets.settle(lease, {B: 1200})
    room = await budgets.headroom(B)
    assert room.available_tokens == pytest.approx(8800, abs=5) and room.open_leases == 0


async def test_settling_a_lease_the_store_does_not_hold_is_false(budgets: Budgets) -> None:
    await _configure(budgets)
    assert not await budgets.settle(Lease("gone", (Charge(B, 10),), 0.0), {B: 10})


async def test_output_tokens_are_counted_apart_where_the_provider_does(budgets: Budgets) -> None:
    # Plenty of total and input tokens, but only 1,000 output tokens a (long) minute.
    await _configure(budgets, tpm=100_000, itpm=80_000, otpm=1000)
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


async def test_priorities_leave_their_reserves_to_those_above(budgets: Budgets) -> None:
    await _configure(budgets)  # reserves: high 5%, standard 10%, batch 30%
    for _ in range(7):
        await budgets.acquire([Charge(B, 1000)], priority=Priority.BATCH, max_wait=0)
    with pytest.raises(BudgetExhausted) as info:  # batch may not go below 30%
        await budgets.acquire([Charge(B, 1000)], priority=Priority.BATCH, max_wait=0)
    assert info.value.budget == B and info.value.retry_after > 0
    for _ in range(2):
        await budgets.acquire([Charge(B, 1000)], priority=Priority.STANDARD, max_wait=0)
    with pytest.raises(BudgetExhausted):  # standard leaves the last 10% to high
        await budgets.acquire([Charge(B, 1000)], priority=Priority.STANDARD, max_wait=0)
    await budgets.acquire([Charge(B, 500)], priority=Priority.HIGH, max_wait=0)
    with pytest.raises(BudgetExhausted):  # high leaves the last 5% to interactive calls
        await budgets.acquire([Charge(B, 500)], priority=Priority.HIGH, max_wait=0)
    await budgets.acquire([Charge(B, 500)], priority=Lane.INTERACTIVE, max_wait=0)


async def test_unknown_budgets_and_impossible_calls_are_refused(budgets: Budgets) -> None:
    await _configure(budgets)
    with pytest.raises(UnknownBudget) as unknown:
        await budgets.acquire([Charge("nope:model:default", 1)])
    assert unknown.value.budget == "nope:model:default"
    with pytest.raises(UnknownBudget):
        await budgets.headroom("nope:model:default")
    with pytest.raises(BadRequest, match="more than budget"):
        await budgets.acquire([Charge(B, 10_001)], priority=Priority.HIGH)


async def test_a_quota_charge_is_refused_at_once_and_takes_nothing(budgets: Budgets) -> None:
    await _configure(budgets)
    await budgets.configure(
        "tenant:acme", BudgetLimits(rpm=10**9, tpm=1000, margin=0, minute_seconds=60, reserves={})
    )
    both = [Charge(B, 800), Charge("tenant:acme", 800, quota=True)]
    await budgets.acquire(both)
    provider_before = await _tokens(budgets)
    started = time.monotonic()
    with pytest.raises(QuotaExceeded) as refused:
        await budgets.acquire(both, max_wait=30)
    assert time.monotonic() - started < 0.5  # refused, not waited for
    assert refused.value.tenant == "acme" and refused.value.quota == "tpm"
    # 600 more tokens of a 1,000/minute quota: about 36 s away
    assert refused.value.retry_after == pytest.approx(36, abs=1)
    # all or nothing: the provider budget was not charged by the refused call
    assert await _tokens(budgets) == pytest.approx(provider_before, abs=5)


# --- feedback ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("feedback", "tokens"),
    [
        (Feedback(remaining_tokens=5000), 5000),
        (Feedback(remaining_tokens=5000, margin=0.1), 4500),
        (Feedback(remaining_tokens=5000, margin=0.02), 4900),
        # a provider count above ours never raises our level, whatever the margin
        (Feedback(remaining_tokens=50_000, margin=0.1), 10_000),
    ],
    ids=["as-it-stands", "margin-0.1", "margin-0.02", "above-ours"],
)
async def test_header_feedback_lowers_by_the_margin_it_carries(
    budgets: Budgets, feedback: Feedback, tokens: float
) -> None:
    await _configure(budgets)
    assert await budgets.feedback(B, feedback) == (tokens < 10_000)
    assert await _tokens(budgets) == pytest.approx(tokens, abs=5)


async def test_feedback_counts_each_dimension_it_names(budgets: Budgets) -> None:
    await _configure(budgets, rpm=1000, tpm=100_000, itpm=80_000, otpm=20_000)
    lowered = await budgets.feedback(
        B,
        Feedback(
            remaining_requests=100,
            remaining_input_tokens=8000,
            remaining_output_tokens=4000,
            margin=0.25,
        ),
    )
    assert lowered
    room = await budgets.headroom(B)
    assert room.available_requests == pytest.approx(75, abs=0.5)
    assert room.available_input_tokens == pytest.approx(6000, abs=5)
    assert room.available_output_tokens == pytest.approx(3000, abs=5)
    assert room.available_tokens == pytest.approx(100_000, abs=5)  # not named: untouched


async def test_success_headers_lower_the_level_aged_by_the_refill(budgets: Budgets) -> None:
    await _configure(budgets, tpm=60_000, minute=60)  # refill 1,000 tokens/s
    # The provider saw 20,000 tokens left two seconds ago: 22,000 by now, less 10%.
    assert await budgets.feedback(B, Feedback(remaining_tokens=20_000, age=2.0, margin=0.1))
    assert await _tokens(budgets) == pytest.approx(19_800, abs=100)


async def test_header_feedback_keeps_calls_the_provider_has_not_seen_yet(
    budgets: Budgets,
) -> None:
    """Our open lease may not have reached the provider when it counted: not forgotten."""
    await _configure(budgets, tpm=60_000)
    lease = await budgets.acquire([Charge(B, 10_000)])
    assert await _tokens(budgets) == pytest.approx(50_000, abs=20)
    # The provider counts 45,000 left without our call: 35,000 once it arrives.
    assert await budgets.feedback(B, Feedback(remaining_tokens=45_000))
    assert await _tokens(budgets) == pytest.approx(35_000, abs=20)
    assert await budgets.settle(lease, {B: 10_000})
    assert await _tokens(budgets) == pytest.approx(35_000, abs=20)
    # settled: nothing is pending any more, the provider's count is taken as it stands
    assert await budgets.feedback(B, Feedback(remaining_tokens=30_000))
    assert await _tokens(budgets) == pytest.approx(30_000, abs=20)


async def test_header_feedback_does_not_count_twice_a_call_the_provider_has_seen(
    budgets: Budgets,
) -> None:
    """A call in flight since before the provider counted is in its count already: the
    level is not lowered by it a second time (it once was, by every open lease)."""
    await _configure(budgets, tpm=60_000)
    long_running = await budgets.acquire([Charge(B, 10_000)])
    await asyncio.sleep(IN_TRANSIT + 0.2)  # it has reached the provider
    fresh = await budgets.acquire([Charge(B, 5_000)])  # this one may not have
    assert await _tokens(budgets) == pytest.approx(45_000, abs=50)
    # The provider's count holds the long call, not (we must assume) the fresh one.
    await budgets.feedback(B, Feedback(remaining_tokens=50_000))
    assert await _tokens(budgets) == pytest.approx(45_000, abs=50)  # not 35,000
    # another client on the key spent 3,000: the provider's count says so
    assert await budgets.feedback(B, Feedback(remaining_tokens=47_000))
    assert await _tokens(budgets) == pytest.approx(42_000, abs=50)
    for lease in (long_running, fresh):
        assert await budgets.settle(lease, {B: lease.charges[0].tokens})


async def test_a_provider_429_holds_every_call_for_its_retry_after(budgets: Budgets) -> None:
    await _configure(budgets, tpm=1000, minute=1.0)  # 1 token per ms
    assert await budgets.feedback(B, Feedback(retry_after=0.5, margin=0.1))
    with pytest.raises(BudgetExhausted) as held:
        await budgets.acquire([Charge(B, 1)], priority=Priority.HIGH, max_wait=0)
    assert held.value.retry_after == pytest.approx(0.5, abs=0.1)
    started = time.monotonic()
    await budgets.acquire([Charge(B, 100)], priority=Priority.HIGH, max_wait=5)
    assert time.monotonic() - started >= 0.35  # nothing is sent before the provider's wait


async def test_feedback_on_an_unknown_budget_lowers_nothing(budgets: Budgets) -> None:
    assert not await budgets.feedback("nope:model:default", Feedback(remaining_tokens=0))


async def test_the_same_feedback_gives_the_same_level_through_either_backend(
    redis_url: str, aredis: aioredis.Redis
) -> None:
    """Side by side, on two budgets of one Redis: the levels agree to the token."""
    settings = LimiterSettings(
        redis_url=SecretStr(redis_url), limiter_margin=SERVICE_MARGIN, headroom_interval=60
    )
    direct = RedisBudgets(aredis)
    feedback = Feedback(remaining_requests=40, remaining_tokens=3000, margin=0.15, age=0.0)
    limits = BudgetLimits(rpm=100, tpm=10_000, margin=0.02, minute_seconds=3600)
    with serving(create_app(settings), name="limiter") as url:
        service = HttpBudgets(url)
        try:
            backends: list[Budgets] = [direct, service]
            names = ["a:model:default", "b:model:default"]
            for backend, name in zip(backends, names, strict=True):
                await backend.configure(name, limits)
            lowered = await asyncio.gather(
                *(b.feedback(n, feedback) for b, n in zip(backends, names, strict=True))
            )
            rooms = [await direct.headroom(n) for n in names]
        finally:
            await service.aclose()
    assert lowered == [True, True]
    assert rooms[0].available_tokens == pytest.approx(rooms[1].available_tokens, abs=1)
    assert rooms[0].available_tokens == pytest.approx(3000 * 0.85, abs=5)
    assert rooms[0].available_requests == pytest.approx(rooms[1].available_requests, abs=0.01)


# --- the value itself ----------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"margin": 0.5},
        {"margin": -0.1},
        {"remaining_tokens": -1},
        {"remaining_output_tokens": -1},
        {"retry_after": -1.0},
        {"age": -0.1},
        {"retry_after": float("nan")},
    ],
)
def test_feedback_refuses_values_no_backend_would_take(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Feedback(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("priority", [Priority.HIGH, Priority.STANDARD, Priority.BATCH])
async def test_a_one_request_budget_serves_its_request_at_every_priority(
    budgets: Budgets, priority: Priority
) -> None:
    """A reserve of less than one request is none: with 1 RPM (a free tier), a fractional
    floor would make the only request of the minute impossible below the top lane."""
    one = "sim:tiny:default"
    await budgets.configure(one, BudgetLimits(rpm=1, tpm=10_000, margin=0, minute_seconds=60))
    await budgets.acquire([Charge(one, 100)], priority=priority, max_wait=0)
    with pytest.raises(BudgetExhausted):  # and the minute's one request is spent
        await budgets.acquire([Charge(one, 100)], priority=priority, max_wait=0)
