"""What an attempt holds is given back whatever ends it: a half-open breaker lets exactly
one probe through, and a cancelled call returns its reservation at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from agentqueue.core.base.errors import NoProviderAvailable, ProviderServerError
from agentqueue.core.base.priority import Priority
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.messages import (
    ChatMessage,
    Completion,
    CompletionRequest,
    StreamEvent,
    Tier,
    Usage,
)
from agentqueue.core.llm.providers.base import Provider, ProviderConfig
from agentqueue.core.ratelimit.budget import BudgetLimits
from agentqueue.core.ratelimit.gate import BudgetGate
from agentqueue.core.ratelimit.redis_budgets import RedisBudgets

REQUEST = CompletionRequest(
    messages=[ChatMessage(role="user", content="hi")], tier=Tier.FRONTIER, max_tokens=16
)


class Held(Provider):
    """An OpenAI deployment whose calls wait for ``release`` and then fail (or answer)."""

    name = "openai"

    def __init__(self, *, fail: bool = True) -> None:
        super().__init__(ProviderConfig("openai", api_key="k"))
        self.calls = 0
        self.release = asyncio.Event()
        self.called = asyncio.Event()
        self.fail = fail

    async def complete(self, request: CompletionRequest, model: str) -> Completion:
        self.calls += 1
        self.called.set()
        await self.release.wait()
        if self.fail:
            raise ProviderServerError("503", provider="openai", model=model, status=503)
        return Completion(
            text="ok", provider="openai", model=model, usage=Usage(input_tokens=1, output_tokens=1)
        )

    def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        raise NotImplementedError


async def test_a_half_open_breaker_lets_one_probe_through() -> None:
    provider = Held()
    chain = FallbackChain([provider], load_catalog(), failure_threshold=1, cooldown=0.05)
    provider.release.set()
    with pytest.raises(NoProviderAvailable):
        await chain.complete(REQUEST)  # opens the breaker
    await asyncio.sleep(0.06)  # half-open: one probe allowed
    provider.release.clear()
    before = provider.calls
    calls = [asyncio.create_task(chain.complete(REQUEST)) for _ in range(20)]
    await asyncio.sleep(0.05)
    provider.release.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert provider.calls - before == 1  # the others were refused without calling
    assert all(isinstance(r, NoProviderAvailable) for r in results)


async def test_a_cancelled_call_gives_its_reservation_back(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    budgets = RedisBudgets(client)
    model = load_catalog().default_model("openai", Tier.FRONTIER).model
    name = f"openai:{model}:default"
    await budgets.configure(name, BudgetLimits(rpm=100, tpm=100_000))
    provider = Held(fail=False)
    chain = FallbackChain([provider], load_catalog(), gate=BudgetGate(budgets))
    try:
        call = asyncio.create_task(chain.complete(REQUEST, Priority.HIGH))
        await provider.called.wait()
        assert (await budgets.headroom(name)).open_leases == 1
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert (await budgets.headroom(name)).open_leases == 0  # not after its lease TTL
    finally:
        await client.aclose()
