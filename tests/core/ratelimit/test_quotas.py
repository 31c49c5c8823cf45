"""Tenants' quotas and provider feedback, through the gate in front of the real chain."""

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from agentqueue.core.base.errors import QuotaExceeded
from agentqueue.core.base.priority import Priority
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.calls.registry import build_providers
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.ratelimit.budget import BudgetLimits
from agentqueue.core.ratelimit.gate import BudgetGate
from agentqueue.core.ratelimit.quotas import TenantQuota, TenantQuotas, seconds_to_midnight
from agentqueue.core.ratelimit.redis_budgets import RedisBudgets
from agentqueue.core.settings import CoreSettings

BUDGET = "anthropic:claude-sonnet-4-6:default"
REQUEST = CompletionRequest(messages=[ChatMessage(role="user", content="Say hi")], max_tokens=200)


async def _chain(simulator, aredis, quotas: dict[str, TenantQuota]) -> FallbackChain:
    budgets = RedisBudgets(aredis)
    await budgets.configure(BUDGET, BudgetLimits(rpm=10_000, tpm=10_000_000, margin=0))
    gate = BudgetGate(budgets, max_wait=0.0, quotas=TenantQuotas(aredis, quotas))
    return FallbackChain(
        build_providers(CoreSettings(simulator_url=simulator.url)), load_catalog(), gate=gate
    )


@pytest.fixture
async def tpm_chain(simulator, aredis) -> AsyncIterator[FallbackChain]:
    # room for one reservation a minute (a call reserves ~210 tokens, uses fewer)
    chain = await _chain(simulator, aredis, {"*": TenantQuota(tpm=300)})
    yield chain
    await chain.aclose()


async def test_tenant_tpm_quota_refuses_with_retry_after_and_no_fallback(
    tpm_chain, simulator
) -> None:
    served = 0
    with pytest.raises(QuotaExceeded) as refused:  # the quota budget is made on first use
        for _ in range(10):
            await tpm_chain.complete(REQUEST, Priority.HIGH, tenant="acme")
            served += 1
    assert 1 <= served < 10
    assert refused.value.quota == "tpm" and refused.value.retryable
    assert 0 < refused.value.retry_after <= 60
    calls = sum(p["requests"] for p in simulator.stats()["providers"].values())
    assert calls == served  # refused before any provider, and not passed on to the next one
    # another tenant has its own quota
    await tpm_chain.complete(REQUEST, Priority.HIGH, tenant="globex")


async def test_daily_spend_quota_stops_the_tenant_until_midnight(simulator, aredis) -> None:
    chain = await _chain(simulator, aredis, {"acme": TenantQuota(usd_per_day=Decimal("0.001"))})
    quotas = chain.gate.quotas
    try:
        result = await chain.complete(REQUEST, Priority.HIGH, tenant="acme")
        assert await quotas.spent_today("acme") == pytest.approx(result.cost_usd)
        while await quotas.spent_today("acme") < Decimal("0.001"):
            await chain.complete(REQUEST, Priority.HIGH, tenant="acme")
        with pytest.raises(QuotaExceeded) as refused:
            await chain.complete(REQUEST, Priority.HIGH, tenant="acme")
        assert refused.value.quota == "usd_per_day" and not refused.value.retryable
        assert refused.value.retry_after == pytest.approx(seconds_to_midnight(), abs=5)
        assert "spend per day" in str(refused.value)
        await chain.complete(REQUEST, Priority.HIGH, tenant="globex")  # no quota: unlimited
    finally:
        await chain.aclose()


async def test_provider_headers_on_a_success_lower_our_budget(simulator, aredis) -> None:
    """Another client spends on our key behind our back: the next answer's headers tell."""
    import anthropic

    original = simulator.config()["anthropic"]
    simulator.configure({"anthropic": {"tpm": 5000, "minute_seconds": 3600}})
    budgets = RedisBudgets(aredis)
    await budgets.configure(BUDGET, BudgetLimits(rpm=1000, tpm=5000, margin=0, minute_seconds=3600))
    gate = BudgetGate(budgets, max_wait=0.0)
    chain = FallbackChain(
        build_providers(CoreSettings(simulator_url=simulator.url)), load_catalog(), gate=gate
    )
    stranger = anthropic.AsyncAnthropic(
        api_key="sim-anthropic", base_url=simulator.url, max_retries=0
    )
    try:
        spent = await stranger.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=100,
            messages=[{"role": "user", "content": "word " * 2000}],
        )
        stranger_tokens = spent.usage.input_tokens + spent.usage.output_tokens
        assert stranger_tokens > 1000
        result = await chain.complete(REQUEST, Priority.HIGH)
        assert result.completion.provider == "anthropic"
        assert result.completion.rate_limit is not None
        seen = result.completion.rate_limit.remaining_tokens
        # the stranger's call is in the provider's count
        assert seen is not None and seen <= 5000 - stranger_tokens
        level = (await budgets.headroom(BUDGET)).available_tokens
        assert level == pytest.approx(seen, abs=10)  # ours followed, not our own 5,000 - usage
    finally:
        await stranger.close()
        await chain.aclose()
        simulator.configure(
            {"anthropic": {"tpm": original["tpm"], "minute_seconds": original["minute_seconds"]}}
        )


async def test_an_rpm_quota_is_named_rpm_not_tpm(simulator, aredis) -> None:
    """A tenant out of requests per minute is told so (and counted so), not tokens."""
    chain = await _chain(simulator, aredis, {"*": TenantQuota(rpm=2)})
    quotas = chain.gate.quotas
    assert quotas is not None
    try:
        with pytest.raises(QuotaExceeded) as refused:
            for _ in range(5):
                await chain.complete(REQUEST, Priority.HIGH, tenant="acme")
        named = await quotas.name_refusal(refused.value)
        assert named.quota == "rpm" and "requests per minute" in str(named)
        assert named.retryable and named.retry_after == refused.value.retry_after
    finally:
        await chain.aclose()


@pytest.mark.parametrize(
    ("quota", "tenant", "short"),
    [
        (TenantQuota(rpm=2, tpm=1_000_000), "acme", "rpm"),
        (TenantQuota(rpm=1000, tpm=300), "globex", "tpm"),
    ],
)
async def test_with_both_limits_the_short_one_is_named(
    simulator, aredis, quota: TenantQuota, tenant: str, short: str
) -> None:
    chain = await _chain(simulator, aredis, {"*": quota})
    quotas = chain.gate.quotas
    assert quotas is not None
    try:
        with pytest.raises(QuotaExceeded) as refused:
            for _ in range(5):
                await chain.complete(REQUEST, Priority.HIGH, tenant=tenant)
        assert (await quotas.name_refusal(refused.value)).quota == short
    finally:
        await chain.aclose()
