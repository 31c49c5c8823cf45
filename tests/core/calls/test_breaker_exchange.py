"""Breaker openings shared over Redis (``core/calls/breaker_exchange.py``): two chains
stand for two processes — a worker that meets an outage, a gateway that has not called
yet — on one real Redis, the simulator behind both."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace

import pytest
import redis.asyncio as aioredis

from agentqueue.core.calls.breaker_exchange import CHANNEL, BreakerExchange
from agentqueue.core.calls.deployments import deployment_key
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.calls.registry import build_providers
from agentqueue.core.llm.breaker import BreakerState
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.settings import CoreSettings

REQUEST = CompletionRequest(messages=[ChatMessage(role="user", content="Say hi")], max_tokens=32)

Chains = Callable[[bool], FallbackChain]


@pytest.fixture
async def chains(simulator, redis_url: str) -> AsyncIterator[Chains]:  # type: ignore[no-untyped-def]
    """Makes a chain on the simulator, sharing its openings or not."""
    made: list[FallbackChain] = []
    clients: list[aioredis.Redis] = []

    def make(shared: bool) -> FallbackChain:
        settings = CoreSettings(simulator_url=simulator.url)
        client = aioredis.Redis.from_url(redis_url)
        clients.append(client)
        chain = FallbackChain(
            build_providers(settings),
            load_catalog(),
            failure_threshold=2,
            cooldown=60,
            exchange=BreakerExchange(client) if shared else None,
        )
        made.append(chain)
        return chain

    yield make
    for chain in made:
        await chain.aclose()
    for client in clients:
        await client.aclose()


def anthropic_breaker(chain: FallbackChain) -> BreakerState:
    [provider] = [p for p in chain.providers if p.name == "anthropic"]
    return chain.breakers[deployment_key(provider)].state


async def listening(redis_url: str, count: int) -> None:
    """Until ``count`` exchanges are subscribed to the channel."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        for _ in range(200):
            [(_, subscribed)] = await client.pubsub_numsub(CHANNEL)
            if subscribed >= count:
                return
            await asyncio.sleep(0.02)
        raise AssertionError("the exchanges never subscribed")
    finally:
        await client.aclose()


async def until_open(chain: FallbackChain) -> None:
    for _ in range(200):
        if anthropic_breaker(chain) is BreakerState.OPEN:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the breaker never opened")


async def test_an_outage_one_process_met_opens_the_others_breaker(
    chains: Chains,
    simulator,
    redis_url: str,  # type: ignore[no-untyped-def]
) -> None:
    worker, gateway, unshared = chains(True), chains(True), chains(False)
    assert gateway.exchange is not None and worker.exchange is not None
    worker.exchange.start()
    gateway.exchange.start()
    await listening(redis_url, 2)
    simulator.configure({"anthropic": {"outage": True}})
    for _ in range(2):  # the worker's two failures open its breaker, and it says so
        result = await worker.complete(REQUEST)
        assert result.completion.provider == "openai"
    await until_open(gateway)
    assert gateway.exchange.heard == 1
    assert anthropic_breaker(unshared) is BreakerState.CLOSED  # not listening: as before
    sent = simulator.stats()["providers"]["anthropic"]["requests"]
    answered = await gateway.complete(REQUEST)
    # the gateway's call went to OpenAI without a failed attempt first
    assert answered.completion.provider == "openai"
    assert [a.provider for a in answered.attempts if a.ok] == ["openai"]
    assert not [
        a for a in answered.attempts if a.provider == "anthropic" and a.error_type != "CircuitOpen"
    ]
    assert simulator.stats()["providers"]["anthropic"]["requests"] == sent
    assert worker.exchange.heard == 0  # its own message came back and was skipped


class OpensWhileWaiting:
    """A gate whose Anthropic admission takes long enough for the provider's breaker to
    open meanwhile (another call found it dead); it records what it gave back."""

    budgets = None  # nothing to close

    def __init__(self) -> None:
        self.chain: FallbackChain | None = None
        self.released: list[tuple[str, object]] = []

    async def admit(self, owner: str, model: str, *args: object, **kwargs: object) -> object:
        if owner != "anthropic" or self.chain is None:
            return None  # the others: unlimited
        [provider] = [p for p in self.chain.providers if p.name == "anthropic"]
        self.chain.breakers[deployment_key(provider)].record_failure()
        return SimpleNamespace(name="lease:anthropic", waited=0.0)

    async def release(
        self, lease: SimpleNamespace | None, usage: object, error: object = None, **_: object
    ) -> None:
        if lease is not None:
            self.released.append((lease.name, error))


async def test_a_call_whose_provider_died_while_it_waited_is_not_sent(simulator) -> None:  # type: ignore[no-untyped-def]
    gate = OpensWhileWaiting()
    chain = FallbackChain(
        build_providers(CoreSettings(simulator_url=simulator.url)),
        load_catalog(),
        failure_threshold=1,
        cooldown=60,
        gate=gate,  # type: ignore[arg-type]
    )
    gate.chain = chain
    try:
        result = await chain.complete(REQUEST)
    finally:
        await chain.aclose()
    assert result.completion.provider == "openai"
    assert [a.error_type for a in result.attempts if not a.ok] == ["CircuitOpen"]
    assert "anthropic" not in simulator.stats()["providers"]  # never sent
    released, error = gate.released[0]
    assert released == "lease:anthropic" and type(error).__name__ == "CircuitOpen"
