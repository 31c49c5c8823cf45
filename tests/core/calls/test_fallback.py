"""Fallback and breakers, through the real SDKs against the simulator."""

import asyncio

import pytest

from agentqueue.core.base.errors import NoProviderAvailable
from agentqueue.core.calls.fallback import Attempt, FallbackChain
from agentqueue.core.llm.messages import ChatMessage, Completion, CompletionRequest, TextDelta, Tier

REQUEST = CompletionRequest(messages=[ChatMessage(role="user", content="Say hi")], max_tokens=64)


async def test_primary_answers_when_healthy(chain: FallbackChain) -> None:
    result = await chain.complete(REQUEST)
    assert result.completion.provider == "anthropic"
    assert result.completion.text and result.completion.usage.output_tokens > 0
    assert result.cost_usd > 0 and not result.fell_back


async def test_tier_picks_the_catalog_model(chain: FallbackChain) -> None:
    efficient = REQUEST.model_copy(update={"tier": Tier.EFFICIENT})
    result = await chain.complete(efficient)
    assert result.completion.model == chain.catalog.default_model("anthropic", Tier.EFFICIENT).model


async def test_primary_outage_falls_back_to_the_next_provider(
    chain: FallbackChain, simulator
) -> None:
    simulator.configure({"anthropic": {"outage": True}})
    result = await chain.complete(REQUEST)
    assert result.completion.provider == "openai"
    assert [(a.provider, a.ok) for a in result.attempts] == [("anthropic", False), ("openai", True)]
    assert result.attempts[0].error_type == "Overloaded"


async def test_open_breaker_skips_a_dead_provider_without_calling_it(
    chain: FallbackChain, simulator
) -> None:
    simulator.configure({"anthropic": {"outage": True}})
    for _ in range(2):  # failure_threshold=2 opens the breaker
        await chain.complete(REQUEST)
    calls_before = simulator.stats()["providers"]["anthropic"]["requests"]
    result = await chain.complete(REQUEST)
    assert result.attempts[0].error_type == "CircuitOpen"
    assert result.attempts[0].latency_s < 0.01
    assert simulator.stats()["providers"]["anthropic"]["requests"] == calls_before


async def test_breaker_recovers_after_its_cooldown(chain: FallbackChain, simulator) -> None:
    for breaker in chain.breakers.values():
        breaker.cooldown = 0.2
    simulator.configure({"anthropic": {"outage": True}})
    for _ in range(2):
        await chain.complete(REQUEST)
    simulator.configure({"anthropic": {"outage": False}})
    await asyncio.sleep(0.25)
    result = await chain.complete(REQUEST)
    assert result.completion.provider == "anthropic"
    assert chain.breakers["anthropic"].state == "closed"


async def test_every_provider_down_is_retryable_with_attempts(
    chain: FallbackChain, simulator
) -> None:
    simulator.configure({"all": {"outage": True}})
    with pytest.raises(NoProviderAvailable) as info:
        await chain.complete(REQUEST)
    assert info.value.retryable
    assert [(a.provider, type(a).__name__) for a in info.value.attempts] == [
        ("anthropic", "Overloaded"),
        ("openai", "Overloaded"),
        ("google", "Overloaded"),
    ]


async def test_rate_limits_fall_back_and_carry_the_shortest_retry_after(
    chain: FallbackChain, simulator
) -> None:
    simulator.configure({"all": {"rpm": 1}})
    await chain.complete(REQUEST)  # anthropic's one request this minute
    await chain.complete(REQUEST)  # openai's
    await chain.complete(REQUEST)  # google's
    with pytest.raises(NoProviderAvailable) as info:
        await chain.complete(REQUEST)
    assert info.value.retryable and info.value.retry_after is not None
    assert 0 < info.value.retry_after <= 60
    assert chain.breakers["anthropic"].state == "closed"  # a 429 is not an outage


async def test_stream_falls_back_before_the_first_token(chain: FallbackChain, simulator) -> None:
    simulator.configure({"anthropic": {"outage": True}})
    attempts: list[Attempt] = []
    events = [e async for e in chain.stream(REQUEST, attempts)]
    final = events[-1]
    assert isinstance(final, Completion) and final.provider == "openai"
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == final.text
    assert [a.ok for a in attempts] == [False, True]
