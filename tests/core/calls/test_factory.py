"""The one chain factory both services use: what it builds from settings, and that the
gate it puts in front of the providers really limits them."""

from __future__ import annotations

import redis
import redis.asyncio as aioredis

from agentqueue.core.base.priority import Priority
from agentqueue.core.calls.factory import (
    build_chain,
    build_pipeline,
    configure_budgets,
    configure_budgets_now,
)
from agentqueue.core.calls.pipeline import CallPipeline
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.ratelimit.budget import BudgetLimits, budget_name
from agentqueue.core.ratelimit.gate import estimate_input_tokens
from agentqueue.core.ratelimit.http_budgets import HttpBudgets
from agentqueue.core.ratelimit.quotas import TenantQuotas
from agentqueue.core.ratelimit.redis_budgets import RedisBudgets
from agentqueue.core.settings import CoreSettings

REQUEST = CompletionRequest(messages=[ChatMessage(role="user", content="Say hi")], max_tokens=200)


async def test_without_a_limiter_url_the_gate_decides_in_redis(
    aredis: aioredis.Redis, simulator
) -> None:
    settings = CoreSettings(
        simulator_url=simulator.url,
        limiter_max_wait=7.5,
        limiter_margin=0.05,
        limiter_replicas=3,
        breaker_failure_threshold=5,
        breaker_cooldown=12,
        budgets={"anthropic:claude-sonnet-4-6": {"rpm": 10, "tpm": 1000}},
        tenant_quotas={"acme": {"tpm": 500}},
    )
    chain = build_chain(settings, aredis)
    try:
        gate = chain.gate
        assert gate is not None
        assert isinstance(gate.budgets, RedisBudgets)
        assert gate.max_wait == 7.5  # no argument: the settings' limiter_max_wait
        assert gate.margin == 0.05 and gate.replicas == 3
        assert set(gate.local_limits) == {"anthropic:claude-sonnet-4-6:default"}
        assert isinstance(gate.quotas, TenantQuotas) and set(gate.quotas.quotas) == {"acme"}
        assert [p.name for p in chain.providers] == ["anthropic", "openai", "google"]
        breaker = chain.breakers["openai"]
        assert (breaker.failure_threshold, breaker.cooldown) == (5, 12)
    finally:
        await chain.aclose()


async def test_with_a_limiter_url_the_gate_asks_the_limiter_service(
    aredis: aioredis.Redis, simulator
) -> None:
    settings = CoreSettings(simulator_url=simulator.url, limiter_url="http://limiter:8091/")
    quotas = TenantQuotas(aredis, {})
    chain = build_chain(settings, aredis, max_wait=2.0, quotas=quotas)
    try:
        gate = chain.gate
        assert gate is not None
        assert isinstance(gate.budgets, HttpBudgets)
        assert gate.budgets.base_url == "http://limiter:8091"
        assert gate.max_wait == 2.0  # the caller's wait (the gateway's interactive one)
        assert gate.quotas is quotas  # shared with the caller, not a second copy
    finally:
        await chain.aclose()


async def test_max_wait_zero_falls_back_at_once_past_an_exhausted_budget(
    aredis: aioredis.Redis, redis_url: str, simulator
) -> None:
    """The built gate limits for real: the first provider's budget fits one call, so the
    next is held back before it is sent and, waiting nothing, falls back at once."""
    settings = CoreSettings(simulator_url=simulator.url, redis_url=redis_url)
    chain = build_chain(settings, aredis, max_wait=0.0)
    try:
        provider, model = chain.candidates(REQUEST)[0]
        per_call = estimate_input_tokens(REQUEST) + REQUEST.max_tokens
        await RedisBudgets(aredis).configure(
            budget_name(provider.name, model, "default"),
            BudgetLimits(rpm=1, tpm=100 * per_call, margin=0, minute_seconds=3600),
        )
        first = await chain.complete(REQUEST, Priority.HIGH, tenant="acme")
        second = await chain.complete(REQUEST, Priority.HIGH, tenant="acme")
    finally:
        await chain.aclose()
    assert first.completion.provider == provider.name
    assert second.completion.provider != provider.name
    held = second.attempts[0]
    assert not held.ok and held.error_type == "RateLimited" and "our limiter" in (held.error or "")
    assert simulator.stats()["providers"][provider.name]["rate_limited"] == 0


async def test_build_pipeline_puts_the_cache_in_front_of_the_same_chain(
    aredis: aioredis.Redis, simulator
) -> None:
    settings = CoreSettings(simulator_url=simulator.url, limiter_max_wait=4.0, cache_ttl=42)
    pipeline = build_pipeline(settings, aredis)
    try:
        assert isinstance(pipeline, CallPipeline)
        assert pipeline.exact is not None and pipeline.policy.default_ttl == 42
        assert pipeline.chain.gate is not None and pipeline.chain.gate.max_wait == 4.0
    finally:
        await pipeline.aclose()
    off = build_pipeline(CoreSettings(simulator_url=simulator.url, cache_enabled=False), aredis)
    try:
        assert off.exact is None
        assert off.chain.gate is not None and off.chain.gate.max_wait == 30.0
    finally:
        await off.aclose()


async def test_configure_budgets_writes_provider_and_quota_budgets_into_redis(
    aredis: aioredis.Redis, redis_url: str
) -> None:
    """What every calling process does at start, so a gateway alone is limited too."""
    settings = CoreSettings(
        redis_url=redis_url,
        budgets={
            "openai:gpt-4.1": {"rpm": 60, "tpm": 12_000},
            "anthropic:claude-sonnet-4-6:acct": {"rpm": 5, "tpm": 1000, "itpm": 800},
        },
        tenant_quotas={"acme": {"tpm": 500}, "*": {"tpm": 100}},
    )
    names = await configure_budgets(settings, aredis)
    assert names == [
        "anthropic:claude-sonnet-4-6:acct",
        "openai:gpt-4.1:default",
        "tenant:acme",
    ]
    budgets = RedisBudgets(aredis)
    headroom = await budgets.headroom("openai:gpt-4.1:default")
    assert 0 < headroom.capacity_tokens <= 12_000
    assert await aredis.exists(*(budgets.key(n) for n in names)) == 3


def test_configure_budgets_now_is_the_same_from_synchronous_code(redis_url: str) -> None:
    """A worker's start: no event loop yet, a client of its own."""
    settings = CoreSettings(
        redis_url=redis_url, budgets={"openai:gpt-4.1": {"rpm": 60, "tpm": 12_000}}
    )
    assert configure_budgets_now(settings) == ["openai:gpt-4.1:default"]
    assert configure_budgets_now(settings) == ["openai:gpt-4.1:default"]  # idempotent
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.exists("aq:rl:budget:openai:gpt-4.1:default")
    finally:
        client.close()


async def test_configure_budgets_leaves_the_configuration_to_a_limiter_service(
    aredis: aioredis.Redis,
) -> None:
    settings = CoreSettings(
        limiter_url="http://limiter:8091",
        budgets={"openai:gpt-4.1": {"rpm": 60, "tpm": 12_000}},
    )
    assert await configure_budgets(settings, aredis) == []
    assert await configure_budgets(CoreSettings(), aredis) == []  # nothing to configure
    assert await aredis.keys("aq:rl:*") == []
