"""The call pipeline against real Redis and the simulator through the official SDKs:
what hits, what never hits, what is stored, what a hit costs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import redis.asyncio as aioredis

from agentqueue.core.cache.exact import ExactCache
from agentqueue.core.cache.policy import CachePolicy
from agentqueue.core.cache.singleflight import SingleFlight
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.calls.pipeline import CallPipeline
from agentqueue.core.calls.registry import build_providers
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.messages import (
    CacheControl,
    ChatMessage,
    CompletionRequest,
    Tier,
    ToolSpec,
)
from agentqueue.core.settings import CoreSettings

REQUEST = CompletionRequest(
    messages=[ChatMessage(role="user", content="What is the capital of France?")],
    system="Answer in one word.",
    max_tokens=64,
    temperature=0,
)


def calls(simulator) -> int:
    return sum(p["requests"] for p in simulator.stats()["providers"].values())


@pytest.fixture
async def pipeline(chain: FallbackChain, aredis: aioredis.Redis) -> AsyncIterator[CallPipeline]:
    yield CallPipeline(
        chain, exact=ExactCache(aredis), policy=CachePolicy(), flights=SingleFlight(aredis, 5)
    )


async def test_a_repeat_is_served_from_the_cache_at_no_cost(pipeline, simulator) -> None:
    first = await pipeline.complete(REQUEST, tenant="acme")
    second = await pipeline.complete(REQUEST, tenant="acme")
    assert first.cached is None and first.cost_usd > 0
    assert second.cached == "exact"
    assert second.completion.text == first.completion.text
    assert (second.completion.provider, second.completion.model) == (
        first.completion.provider,
        first.completion.model,
    )
    assert second.cost_usd == 0 and second.completion.usage.total_tokens == 0
    assert second.saved_usd == first.cost_usd > 0
    assert calls(simulator) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"temperature": 0.0001},
        {"max_tokens": 65},
        {"system": "Answer in two words."},
        {"system": None},
        {"tools": [ToolSpec(name="lookup", description="Look a city up")]},
        {"messages": [ChatMessage(role="user", content="What is the capital of Spain?")]},
        {
            "messages": [
                ChatMessage(role="user", content="Hi"),
                ChatMessage(role="assistant", content="Hello"),
                ChatMessage(role="user", content="What is the capital of France?"),
            ]
        },
        {"tier": Tier.EFFICIENT},
        {"model": "gpt-4.1"},
    ],
    ids=lambda c: next(iter(c)),
)
async def test_a_parameter_change_misses(pipeline, simulator, change) -> None:
    allow = CacheControl(allow_nondeterministic=True)  # for the temperature change
    await pipeline.complete(REQUEST.model_copy(update={"cache": allow}), tenant="acme")
    changed = REQUEST.model_copy(update={**change, "cache": allow})
    result = await pipeline.complete(changed, tenant="acme")
    assert result.cached is None
    assert calls(simulator) == 2
    again = await pipeline.complete(changed, tenant="acme")  # and is then cached itself
    assert again.cached == "exact" and calls(simulator) == 2


async def test_the_tool_list_is_in_the_key_in_order_and_content(pipeline, simulator) -> None:
    a, b = ToolSpec(name="a"), ToolSpec(name="b")
    await pipeline.complete(REQUEST.model_copy(update={"tools": [a, b]}))
    for tools in ([b, a], [a], [a, ToolSpec(name="b", description="changed")]):
        result = await pipeline.complete(REQUEST.model_copy(update={"tools": tools}))
        assert result.cached is None
    assert calls(simulator) == 4


async def test_another_model_answering_misses(chain, aredis, simulator) -> None:
    """The key is the resolved model: an answer stored for Anthropic's model never
    serves a chain whose candidates are other models."""
    pipeline = CallPipeline(chain, exact=ExactCache(aredis))
    await pipeline.complete(REQUEST)
    settings = CoreSettings(simulator_url=simulator.url, provider_order=["openai", "google"])
    other = FallbackChain(build_providers(settings), load_catalog())
    try:
        result = await CallPipeline(other, exact=ExactCache(aredis)).complete(REQUEST)
    finally:
        await other.aclose()
    assert result.cached is None and result.completion.provider == "openai"


async def test_a_fallback_answer_is_found_under_the_model_that_gave_it(pipeline, simulator) -> None:
    simulator.configure({"anthropic": {"outage": True}})
    first = await pipeline.complete(REQUEST)
    assert first.completion.provider == "openai"
    second = await pipeline.complete(REQUEST)  # anthropic still first in preference
    assert second.cached == "exact" and second.completion.provider == "openai"
    simulator.configure({"anthropic": {"outage": False}})
    pipeline.chain.breakers["anthropic"].record_success()
    third = await pipeline.complete(REQUEST)
    assert third.cached == "exact"  # the first candidate with an answer wins


async def test_another_tenant_never_hits(pipeline, simulator) -> None:
    await pipeline.complete(REQUEST, tenant="acme")
    for tenant in ("globex", "ACME", "acme ", None):
        result = await pipeline.complete(REQUEST, tenant=tenant)
        assert result.cached is None, tenant
    assert calls(simulator) == 5


@pytest.mark.slow
async def test_an_entry_expires_after_its_ttl(pipeline, simulator) -> None:
    short = REQUEST.model_copy(update={"cache": CacheControl(ttl=1)})
    await pipeline.complete(short)
    assert (await pipeline.complete(short)).cached == "exact"
    await asyncio.sleep(1.1)
    assert (await pipeline.complete(short)).cached is None
    assert calls(simulator) == 2


async def test_tenant_and_default_ttls_apply_in_order(chain, aredis) -> None:
    policy = CachePolicy(default_ttl=100, tenant_ttls={"acme": 7, "*": 50})
    pipeline = CallPipeline(chain, exact=ExactCache(aredis), policy=policy)
    await pipeline.complete(REQUEST, tenant="acme")
    await pipeline.complete(REQUEST, tenant="globex")
    await pipeline.complete(REQUEST.model_copy(update={"cache": CacheControl(ttl=3)}), "standard")
    ttls = sorted([await aredis.ttl(k) async for k in aredis.scan_iter("aq:cache:x:*")])
    assert ttls == [3, 7, 50]


async def test_no_store_stores_nothing(pipeline, aredis, simulator) -> None:
    request = REQUEST.model_copy(update={"cache": CacheControl(no_store=True)})
    await pipeline.complete(request)
    await pipeline.complete(request)
    assert [k async for k in aredis.scan_iter("aq:cache:*")] == []
    assert (await pipeline.complete(REQUEST)).cached is None
    assert calls(simulator) == 3


async def test_no_cache_asks_the_provider_and_refreshes_the_entry(pipeline, simulator) -> None:
    await pipeline.complete(REQUEST)
    fresh = await pipeline.complete(
        REQUEST.model_copy(update={"cache": CacheControl(no_cache=True)})
    )
    assert fresh.cached is None and calls(simulator) == 2
    assert (await pipeline.complete(REQUEST)).cached == "exact"


async def test_nondeterministic_requests_are_not_cached_unless_asked(pipeline, aredis) -> None:
    for temperature in (None, 0.7):
        request = REQUEST.model_copy(update={"temperature": temperature})
        await pipeline.complete(request)
        assert (await pipeline.complete(request)).cached is None
    assert [k async for k in aredis.scan_iter("aq:cache:*")] == []
    opted = REQUEST.model_copy(
        update={"temperature": 0.7, "cache": CacheControl(allow_nondeterministic=True)}
    )
    await pipeline.complete(opted)
    assert (await pipeline.complete(opted)).cached == "exact"


async def test_cache_controls_are_not_in_the_key(pipeline) -> None:
    await pipeline.complete(REQUEST)
    other_controls = REQUEST.model_copy(update={"cache": CacheControl(ttl=5, semantic=False)})
    assert (await pipeline.complete(other_controls)).cached == "exact"


async def test_disabled_cache_passes_through(chain, aredis, simulator) -> None:
    pipeline = CallPipeline(chain, exact=ExactCache(aredis), policy=CachePolicy(enabled=False))
    await pipeline.complete(REQUEST)
    assert (await pipeline.complete(REQUEST)).cached is None
    assert calls(simulator) == 2


@pytest.mark.slow
async def test_redis_down_serves_from_the_provider(chain) -> None:
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    pipeline = CallPipeline(chain, exact=ExactCache(dead), flights=SingleFlight(dead, 5))
    result = await pipeline.complete(REQUEST)
    assert result.cached is None and result.completion.text
    await dead.aclose()


async def test_from_settings_builds_the_configured_pipeline(chain, aredis) -> None:
    settings = CoreSettings(cache_ttl=42, cache_tenant_ttls={"acme": 9}, single_flight_timeout=3)
    pipeline = CallPipeline.from_settings(chain, aredis, settings)
    assert pipeline.policy.default_ttl == 42 and pipeline.policy.tenant_ttls == {"acme": 9}
    assert pipeline.flights is not None and pipeline.flights.timeout == 3
    off = CallPipeline.from_settings(chain, aredis, CoreSettings(cache_enabled=False))
    assert off.exact is None


async def test_savings_count_in_usd(pipeline) -> None:
    first = await pipeline.complete(REQUEST)
    hits = [await pipeline.complete(REQUEST) for _ in range(3)]
    assert sum((h.saved_usd for h in hits), Decimal(0)) == 3 * first.cost_usd


async def test_the_worker_runs_tasks_through_the_cache(aredis, redis_url, simulator) -> None:
    """build_runner puts the pipeline in front of the chain: the second identical task is
    answered from the cache, recorded as a call that cost nothing."""
    from agentqueue.core.tasks.model import TaskRecord, TaskSpec, TaskState
    from agentqueue.core.tasks.store import TaskStore
    from agentqueue.worker.__main__ import build_runner
    from agentqueue.worker.settings import WorkerSettings

    runner = build_runner(WorkerSettings(redis_url=redis_url, simulator_url=simulator.url))
    assert isinstance(runner.chain, CallPipeline)
    store = TaskStore(aredis, ttl=600)
    records = []
    for _ in range(2):
        record, _ = await store.create(TaskRecord(tenant="t", spec=TaskSpec(input=REQUEST)))
        await runner.run(record.id, retries_done=0, retries_left=0)
        records.append(await store.get(record.id))
    first, second = records
    assert first.state is second.state is TaskState.SUCCEEDED
    assert second.result.text == first.result.text
    assert first.cost_usd > 0 and second.cost_usd == 0
    assert second.calls[0].usage.total_tokens == 0
    assert calls(simulator) == 1
    await runner.chain.aclose()


def test_the_task_api_passes_cache_controls_to_the_spec() -> None:
    from agentqueue.gateway.api.schemas import TaskCreate

    body = TaskCreate.model_validate(
        {
            "messages": [{"role": "user", "content": "Hi"}],
            "temperature": 0,
            "cache": {"no_store": True, "ttl": 60, "semantic": True},
        }
    )
    control = body.to_spec().input.cache
    assert control == CacheControl(no_store=True, ttl=60, semantic=True)
    plain = TaskCreate.model_validate({"messages": [{"role": "user", "content": "Hi"}]})
    assert plain.cache is None and plain.to_spec().input.cache is None


async def test_a_stream_is_stored_and_a_repeat_streams_from_the_cache(pipeline, simulator) -> None:
    from agentqueue.core.llm.messages import Completion, TextDelta

    attempts, costs = [], []
    first = [e async for e in pipeline.stream(REQUEST, attempts, tenant="acme", costs=costs)]
    assert isinstance(first[-1], Completion) and len(first) > 2
    assert len(attempts) == 1 and costs[0] > 0
    attempts2, costs2 = [], []
    again = [e async for e in pipeline.stream(REQUEST, attempts2, tenant="acme", costs=costs2)]
    assert [type(e) for e in again] == [TextDelta, Completion]
    assert again[0].text == again[1].text == first[-1].text
    assert again[1].usage.total_tokens == 0 and attempts2 == [] and costs2 == [0]
    assert (await pipeline.complete(REQUEST, tenant="acme")).cached == "exact"
    assert calls(simulator) == 1
    other = [e async for e in pipeline.stream(REQUEST, tenant="globex")]
    assert len(other) > 2 and calls(simulator) == 2  # another tenant streams from a provider


async def test_a_semantic_cache_that_cannot_run_refuses_to_start(chain, aredis) -> None:
    settings = CoreSettings(cache_semantic=True, cache_embedder="openai")  # and no OpenAI key
    with pytest.raises(RuntimeError, match="OpenAI key"):
        CallPipeline.from_settings(chain, aredis, settings)
    optional = CallPipeline.from_settings(chain, aredis, CoreSettings(cache_embedder="openai"))
    assert optional.semantic is None  # per-request opt-in only: skipped, not fatal
    keyed = CoreSettings(cache_semantic_tenants="acme", cache_embedder="openai", openai_api_key="k")
    pipeline = CallPipeline.from_settings(chain, aredis, keyed)
    assert pipeline.semantic is not None and pipeline.policy.semantic_tenants == ("acme",)
