"""Deployments from the configuration file: routing by headroom, fallback across
deployments before providers, a dead deployment drained — through the official SDKs
against the simulator, budgets in a real Redis."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
import yaml

from agentqueue.core.base.ports import free_port
from agentqueue.core.base.priority import Priority
from agentqueue.core.calls.deployments import DeploymentRouter, Placement, free_fraction, wait_for
from agentqueue.core.calls.factory import build_chain, configure_budgets
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest, Tier
from agentqueue.core.ratelimit.leases import Headroom
from agentqueue.core.settings import CoreSettings
from agentqueue.simulator.testing import SimulatorHandle

MODEL = "gpt-4.1"


def request(text: str = "Say hi", **fields: Any) -> CompletionRequest:
    return CompletionRequest(
        messages=[ChatMessage(role="user", content=text)],
        model=MODEL,
        tier=Tier.FRONTIER,
        max_tokens=32,
        **fields,
    )


def deployment(name: str, budget: dict[str, int] | None = None, **fields: Any) -> dict[str, Any]:
    served: dict[str, Any] = {"model": MODEL}
    if budget is not None:
        served["budget"] = budget
    return {"name": name, "kind": "openai", "simulated": True, "models": [served], **fields}


@pytest.fixture
def chain_from(
    tmp_path: Path,
    simulator: SimulatorHandle,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Any]:
    """Build the chain a service builds from a configuration file with ``config``."""

    async def build(config: dict[str, Any], **settings: Any) -> FallbackChain:
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        monkeypatch.setenv("AGENTQUEUE_CONFIG", str(path))
        core = CoreSettings(
            redis_url=redis_url, simulator_url=simulator.url, breaker_cooldown=60, **settings
        )
        client = aioredis.Redis.from_url(redis_url)
        await configure_budgets(core, client)
        return build_chain(core, client, max_wait=0.5)

    return build


async def close(chain: FallbackChain) -> None:
    await chain.aclose()


async def test_each_deployment_is_its_own_provider_with_its_own_breaker(chain_from: Any) -> None:
    chain = await chain_from({"deployments": [deployment("east"), deployment("west")]})
    try:
        assert sorted(chain.breakers) == ["east", "west"]
        result = await chain.complete(request())
        assert result.completion.text
        assert result.attempts[-1].deployment in ("east", "west")
        assert result.attempts[-1].provider == "openai"
    finally:
        await close(chain)


async def test_routing_picks_the_deployment_with_headroom(chain_from: Any, aredis: Any) -> None:
    """East's budget is spent: calls go to west at once, without trying east first."""
    small = {"rpm": 2, "tpm": 100_000}
    big = {"rpm": 1000, "tpm": 1_000_000}
    chain = await chain_from({"deployments": [deployment("east", small), deployment("west", big)]})
    try:
        used = []
        for i in range(8):
            result = await chain.complete(request(f"call {i}"), Priority.HIGH)
            assert [a.ok for a in result.attempts] == [True]  # never refused first
            used.append(result.attempts[0].deployment)
        assert used.count("east") <= 2  # its 2 requests a minute
        assert used.count("west") >= 6
    finally:
        await close(chain)


async def test_a_dead_deployment_is_drained_and_no_call_fails(
    chain_from: Any, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """East points at a port nobody listens on: after its breaker opens, its calls skip
    it at once; every call is answered by west."""
    monkeypatch.setenv("DEAD_KEY", "sk-nobody-listens")
    dead = deployment("east", simulated=False, api_key={"env": "DEAD_KEY"})
    dead["base_url"] = f"http://127.0.0.1:{free_port()}/v1"
    chain = await chain_from(
        {"deployments": [dead, deployment("west")], "routing": {"strategy": "ordered"}},
        breaker_failure_threshold=2,
    )
    try:
        attempts = []
        for i in range(6):
            result = await chain.complete(request(f"call {i}"))
            assert result.completion.text  # no call fails
            attempts.append([(a.deployment, a.error_type) for a in result.attempts])
        assert attempts[0][0][0] == "east" and attempts[0][-1] == ("west", None)
        # once its breaker is open, east costs a refusal that calls nothing
        assert attempts[-1][0] == ("east", "CircuitOpen")
        assert chain.breakers["east"].state == "open"
    finally:
        await close(chain)


async def test_deployments_before_providers(chain_from: Any) -> None:
    """A model's other deployment is tried before another provider's model."""
    chain = await chain_from(
        {
            "deployments": [
                deployment("east"),
                deployment("west"),
                {"name": "claude", "kind": "anthropic", "simulated": True,
                 "models": [{"model": "claude-sonnet-4-6"}]},
            ],
            "routing": {"provider_order": ["openai", "anthropic"], "strategy": "ordered"},
        }
    )  # fmt: skip
    try:
        order = [(p.deployment, model) for p, model in chain.candidates(request())]
        assert order[:3] == [("east", MODEL), ("west", MODEL), ("claude", "claude-sonnet-4-6")]
    finally:
        await close(chain)


def room(available_t: float, capacity_t: float = 1000, tpm: float = 600) -> Headroom:
    return Headroom(
        budget="b",
        available_requests=10,
        available_tokens=available_t,
        capacity_requests=10,
        capacity_tokens=capacity_t,
        sustainable_rpm=600,
        sustainable_tpm=tpm,
        open_leases=0,
    )


def test_wait_is_the_refill_time_of_what_is_missing() -> None:
    assert wait_for(room(500), 400) == 0
    assert wait_for(room(100), 400) == pytest.approx(30.0)  # 300 missing at 10 a second
    assert free_fraction(room(250)) == 0.25


class _Provider:
    """Just enough of an adapter for the router: a name and a deployment."""

    name = "openai"

    def __init__(self, deployment: str) -> None:
        self.config = type("C", (), {"deployment": deployment, "model_names": {MODEL: MODEL}})()


async def test_router_prefers_a_region_then_weight_without_a_gate() -> None:
    providers = [_Provider("us"), _Provider("eu"), _Provider("ap")]
    router = DeploymentRouter(
        {"us": Placement("us-east"), "eu": Placement("eu-west"), "ap": Placement("ap", 5)},
        region_preference=["eu-west"],
        rng=random.Random(1),
    )
    info = object()
    group = [(p, info) for p in providers]
    ordered = await router.order(group, request(), None)  # type: ignore[arg-type]
    assert [p.config.deployment for p, _ in ordered] == ["eu", "ap", "us"]
    router.strategy = "ordered"
    ordered = await router.order(group, request(), None)  # type: ignore[arg-type]
    assert [p.config.deployment for p, _ in ordered] == ["us", "eu", "ap"]


async def test_a_deployment_answering_429s_is_drained_without_a_retry_storm(
    tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """East's provider allows 2 requests a minute although we believe it allows 1,000:
    its rate-limit headers (or, failing them, its first 429, which empties the budget for
    the provider's retry-after) pull east's budget down to what it really has left, so
    the calls that follow go to west instead of hammering east."""
    from agentqueue.simulator.settings import DeploymentLimits, SimulatorSettings
    from agentqueue.simulator.testing import running_simulator

    limits = {"east": DeploymentLimits(rpm=2)}
    with running_simulator(SimulatorSettings(speed=0, seed=1, deployments=limits)) as sim:
        path = tmp_path / "config.yaml"
        big = {"rpm": 1000, "tpm": 1_000_000}
        path.write_text(
            yaml.safe_dump({"deployments": [deployment("east", big), deployment("west", big)]})
        )
        monkeypatch.setenv("AGENTQUEUE_CONFIG", str(path))
        core = CoreSettings(redis_url=redis_url, simulator_url=sim.url)
        client = aioredis.Redis.from_url(redis_url)
        await configure_budgets(core, client)
        chain = build_chain(core, client, max_wait=0.5)
        try:
            for i in range(20):
                result = await chain.complete(request(f"call {i}"), Priority.HIGH)
                assert result.completion.text  # every call answered
            east = sim.stats()["deployments"]["east"]
        finally:
            await chain.aclose()
            await client.aclose()
    assert east["requests"] <= 3 and east["rate_limited"] <= 1, east


async def test_a_stream_falls_back_across_deployments(
    chain_from: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streams take the same path as whole answers: east is dead before its first byte,
    west answers, each attempt named by its deployment."""
    from agentqueue.core.llm.messages import Completion, TextDelta

    monkeypatch.setenv("DEAD_KEY", "sk-nobody-listens")
    dead = deployment("east", simulated=False, api_key={"env": "DEAD_KEY"})
    dead["base_url"] = f"http://127.0.0.1:{free_port()}/v1"
    chain = await chain_from(
        {"deployments": [dead, deployment("west")], "routing": {"strategy": "ordered"}}
    )
    try:
        attempts: list[Any] = []
        events = [e async for e in chain.stream(request(), attempts)]
        assert any(isinstance(e, TextDelta) for e in events)
        assert isinstance(events[-1], Completion)
        assert [(a.deployment, a.ok) for a in attempts] == [("east", False), ("west", True)]
    finally:
        await close(chain)
