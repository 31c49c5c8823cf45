"""The chain with the limiter in front: held back before the provider, never its 429."""

from collections.abc import AsyncIterator

import pytest

from agentqueue.core.base.priority import Priority
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.calls.registry import build_providers
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.ratelimit.budget import BudgetLimits
from agentqueue.core.ratelimit.gate import BudgetGate, estimate_input_tokens
from agentqueue.core.ratelimit.redis_budgets import RedisBudgets
from agentqueue.core.settings import CoreSettings

BUDGET = "anthropic:claude-sonnet-4-6:default"
REQUEST = CompletionRequest(messages=[ChatMessage(role="user", content="Say hi")], max_tokens=200)


@pytest.fixture
async def gated(simulator, aredis) -> AsyncIterator[tuple[FallbackChain, RedisBudgets]]:
    budgets = RedisBudgets(aredis)
    # One and a half reservations per (long) minute: after a call or two settle their
    # real usage, the next reservation no longer fits.
    per_call = estimate_input_tokens(REQUEST) + REQUEST.max_tokens
    await budgets.configure(
        BUDGET, BudgetLimits(rpm=1000, tpm=int(1.5 * per_call), margin=0, minute_seconds=3600)
    )
    settings = CoreSettings(simulator_url=simulator.url)
    chain = FallbackChain(
        build_providers(settings), load_catalog(), gate=BudgetGate(budgets, max_wait=0.0)
    )
    yield chain, budgets
    await chain.aclose()


async def test_settle_charges_the_real_usage(gated) -> None:
    chain, budgets = gated
    before = (await budgets.headroom(BUDGET)).available_tokens
    result = await chain.complete(REQUEST, Priority.HIGH)
    after = (await budgets.headroom(BUDGET)).available_tokens
    assert before - after == pytest.approx(result.completion.usage.total_tokens, abs=2)


async def test_exhausted_budget_falls_back_without_calling_the_provider(gated, simulator) -> None:
    chain, _ = gated
    providers = []
    for _ in range(5):
        result = await chain.complete(REQUEST, Priority.HIGH)
        providers.append(result.completion.provider)
    anthropic = simulator.stats()["providers"]["anthropic"]
    assert anthropic["rate_limited"] == 0  # we never provoked its 429
    assert "openai" in providers  # the held-back calls went to the next provider
    held = [a for a in result.attempts if not a.ok]
    assert held and held[0].error_type == "RateLimited" and "our limiter" in held[0].error


@pytest.mark.slow
async def test_redis_down_keeps_to_the_local_share_and_never_fails_open() -> None:
    import time

    import redis.asyncio as aioredis

    from agentqueue.core.base.errors import RateLimited
    from agentqueue.core.base.ports import free_port

    dead = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2)
    limits = BudgetLimits(rpm=10_000, tpm=6000, margin=0, minute_seconds=1.0)
    gate = BudgetGate(RedisBudgets(dead), local_limits={BUDGET: limits}, replicas=2, max_wait=5)
    small = REQUEST.model_copy(update={"max_tokens": 994})  # 1000 tokens reserved
    started = time.monotonic()
    for _ in range(3):  # a share of 3000 tokens/s, starting empty: 3000 tokens take 1 s
        lease = await gate.admit("anthropic", "claude-sonnet-4-6", small, Priority.HIGH)
        assert lease is not None and lease.id.startswith("local:")
    assert time.monotonic() - started >= 0.95

    unknown = BudgetGate(RedisBudgets(dead), max_wait=5)  # no limits known: refuse
    with pytest.raises(RateLimited, match="our limiter"):
        await unknown.admit("anthropic", "claude-sonnet-4-6", small, Priority.HIGH)
    await dead.aclose()


async def test_reservations_learn_how_the_provider_counts_each_kind_of_content(
    simulator, aredis
) -> None:
    """The simulated Anthropic counts with cl100k_base, which prices Japanese far above
    our o200k_base stand-in: after a few answers the gate reserves what it will count."""
    budgets = RedisBudgets(aredis)
    await budgets.configure(BUDGET, BudgetLimits(rpm=1000, tpm=10_000_000, margin=0))
    gate = BudgetGate(budgets, max_wait=1.0)
    settings = CoreSettings(simulator_url=simulator.url)
    chain = FallbackChain(build_providers(settings), load_catalog(), gate=gate)
    text = "来週の会議の議事録を要約して、重要な決定事項を箇条書きにしてください。" * 18
    japanese = CompletionRequest(messages=[ChatMessage(role="user", content=text)], max_tokens=50)
    try:
        first = await chain.complete(japanese, Priority.HIGH)
        raw = estimate_input_tokens(japanese, "anthropic", "claude-sonnet-4-6")
        assert first.completion.usage.input_tokens > 1.2 * raw  # the gap to learn
        for _ in range(6):
            await chain.complete(japanese, Priority.HIGH)
        lease = await gate.admit("anthropic", "claude-sonnet-4-6", japanese, Priority.HIGH)
        assert lease is not None
        reserved = lease.charges[0].tokens - japanese.max_tokens
        await gate.release(lease, first.completion.usage)
        assert reserved == pytest.approx(first.completion.usage.input_tokens, rel=0.05)
    finally:
        await chain.aclose()
