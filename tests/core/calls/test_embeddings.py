"""The embedding call path on the simulator: per-input cache, breaker, budget gate and
cost, with no fallback across providers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from agentqueue.core.base.errors import NoProviderAvailable, RateLimited
from agentqueue.core.base.priority import Priority
from agentqueue.core.cache.embeddings import EmbeddingCache, embedding_key, pack, unpack
from agentqueue.core.calls.embeddings import EmbeddingCaller, InputRefused, gate_request
from agentqueue.core.calls.factory import build_chain, configure_budgets
from agentqueue.core.llm.catalog import UnknownModel, load_catalog
from agentqueue.core.llm.embeddings import EmbeddingRequest
from agentqueue.core.llm.messages import Tier
from agentqueue.core.llm.tokens import estimate_text
from agentqueue.core.ratelimit.gate import estimate_input_tokens
from agentqueue.core.settings import CoreSettings
from agentqueue.simulator.protocols.openai_embeddings import vector

SMALL = "text-embedding-3-small"


async def _caller(
    aredis: aioredis.Redis, redis_url: str, simulator, **settings_fields: object
) -> AsyncIterator[EmbeddingCaller]:
    settings = CoreSettings(
        simulator_url=simulator.url,
        redis_url=SecretStr(redis_url),
        **settings_fields,  # type: ignore[arg-type]
    )
    await configure_budgets(settings, aredis)
    chain = build_chain(settings, aredis)
    try:
        yield EmbeddingCaller.from_chain(chain, EmbeddingCache(aredis, ttl=600))
    finally:
        await chain.aclose()


@pytest.fixture
async def caller(
    aredis: aioredis.Redis, redis_url: str, simulator
) -> AsyncIterator[EmbeddingCaller]:
    async for c in _caller(aredis, redis_url, simulator):
        yield c


def test_catalog_keeps_embedding_models_apart_from_chat() -> None:
    catalog = load_catalog()
    small = catalog.embedding_model(SMALL)
    assert (small.provider, small.dimensions, small.max_input_tokens) == ("openai", 1536, 8191)
    assert small.cost_usd(1_000_000) == Decimal("0.02")
    assert catalog.embedding_model("gemini-embedding-001").dimensions == 3072
    assert catalog.embedding_model("text-embedding-3-large").input == Decimal("0.13")
    assert all(m.model not in {e.model for e in catalog.embedding_models} for m in catalog.models)
    for provider in ("openai", "google"):
        for tier in Tier:
            assert "embedding" not in catalog.default_model(provider, tier).model
    with pytest.raises(UnknownModel):
        catalog.get(SMALL)  # never a chat model
    with pytest.raises(UnknownModel):
        catalog.embedding_model("gpt-4.1")


def test_the_gate_reserves_the_inputs_estimate_and_one_output_token() -> None:
    request = EmbeddingRequest(model=SMALL, inputs=["a" * 40, "bb"])
    measured = gate_request(request)
    assert estimate_input_tokens(measured) == estimate_text("a" * 40) + estimate_text("bb")
    assert measured.max_tokens == 1


def test_vectors_are_stored_as_tagged_float32() -> None:
    tag = b"12345678"
    raw = pack(tag, [0.5, -1.25, 3.0])
    assert len(raw) == 8 + 3 * 4
    assert unpack(tag, raw) == [0.5, -1.25, 3.0]
    assert unpack(b"other!!!", raw) is None  # another scope's entry is never read
    keys = {
        embedding_key("t1", "openai", SMALL, None, "x"),
        embedding_key("t2", "openai", SMALL, None, "x"),
        embedding_key("t1", "openai", SMALL, 256, "x"),
        embedding_key("t1", "openai", "text-embedding-3-large", None, "x"),
    }
    assert len(keys) == 4


async def test_each_distinct_text_is_asked_once_then_served_from_the_cache(
    caller: EmbeddingCaller, simulator
) -> None:
    request = EmbeddingRequest(model=SMALL, inputs=["alpha", "beta", "alpha"])
    first = await caller.embed(request, Priority.HIGH, "t1")
    vectors = first.embeddings.vectors
    assert [len(v) for v in vectors] == [1536] * 3 and vectors[0] == vectors[2] != vectors[1]
    assert vectors[1] == pytest.approx(vector(SMALL, "beta"), abs=1e-6)
    assert first.cached is None and first.cost_usd > 0
    calls = simulator.stats()["calls"]
    assert len(calls) == 1
    assert calls[0]["input_tokens"] == estimate_text("alpha") + estimate_text("beta")

    again = await caller.embed(request, Priority.HIGH, "t1")
    assert again.embeddings.vectors == vectors  # float32 both times: the same numbers
    assert again.cached == "exact" and again.cost_usd == 0
    assert again.embeddings.input_tokens == first.embeddings.input_tokens + estimate_text("alpha")

    partial = await caller.embed(
        EmbeddingRequest(model=SMALL, inputs=["beta", "gamma"]), Priority.HIGH, "t1"
    )
    assert partial.cached == "partial" and partial.embeddings.vectors[0] == vectors[1]
    assert simulator.stats()["calls"][-1]["input_tokens"] == estimate_text("gamma")

    other_tenant = await caller.embed(request, Priority.HIGH, "t2")
    assert other_tenant.cached is None  # tenants never share cache entries
    assert len(simulator.stats()["calls"]) == 3


async def test_gemini_batches_go_in_calls_of_at_most_100(
    caller: EmbeddingCaller, simulator
) -> None:
    texts = [f"text {i}" for i in range(150)]
    result = await caller.embed(EmbeddingRequest(model="gemini-embedding-001", inputs=texts))
    assert len(result.embeddings.vectors) == 150
    assert result.embeddings.vectors[120] == pytest.approx(
        vector("gemini-embedding-001", "text 120"), abs=1e-6
    )
    assert result.embeddings.input_tokens == sum(estimate_text(t) for t in texts)
    assert simulator.stats()["providers"]["google"]["requests"] == 2


async def test_dimensions_are_part_of_the_vector_and_of_its_key(caller: EmbeddingCaller) -> None:
    full = await caller.embed(EmbeddingRequest(model=SMALL, inputs=["x"]))
    short = await caller.embed(EmbeddingRequest(model=SMALL, inputs=["x"], dimensions=64))
    assert len(full.embeddings.vectors[0]) == 1536 and len(short.embeddings.vectors[0]) == 64
    assert short.cached is None


async def test_refusals_name_the_model_or_the_field(caller: EmbeddingCaller) -> None:
    with pytest.raises(UnknownModel):
        await caller.embed(EmbeddingRequest(model="gpt-4.1", inputs=["x"]))
    with pytest.raises(InputRefused) as too_wide:
        await caller.embed(EmbeddingRequest(model=SMALL, inputs=["x"], dimensions=2000))
    assert too_wide.value.param == "dimensions"
    with pytest.raises(InputRefused) as too_long:
        await caller.embed(
            EmbeddingRequest(model="gemini-embedding-001", inputs=["ok", "many words " * 1500])
        )
    assert too_long.value.param == "input[1]"


async def test_no_fallback_to_another_provider(caller: EmbeddingCaller, simulator) -> None:
    simulator.configure({"google": {"outage": True}})
    with pytest.raises(NoProviderAvailable):
        await caller.embed(EmbeddingRequest(model="gemini-embedding-001", inputs=["x"]))
    providers = simulator.stats()["providers"]
    assert providers["google"]["requests"] == 1
    assert providers.get("openai", {}).get("requests", 0) == 0


FIRST = "Embed this sentence about the weather in Paris today, please."
SECOND = "Another sentence about the weather in Lyon tomorrow, thanks."


async def test_the_budget_refuses_before_the_provider_is_over_its_limit(
    aredis: aioredis.Redis, redis_url: str, simulator
) -> None:
    # each input is 12 tokens + 4 (cl100k_base, as OpenAI counts): room for one call
    limits = {"rpm": 100, "tpm": 24, "minute_seconds": 60.0}
    simulator.configure({"openai": {"tpm": 24}})
    async for caller in _caller(
        aredis, redis_url, simulator, budgets={f"openai:{SMALL}": limits}, limiter_max_wait=0.2
    ):
        ok = await caller.embed(EmbeddingRequest(model=SMALL, inputs=[FIRST]), tenant="t1")
        assert ok.cost_usd > 0
        with pytest.raises(NoProviderAvailable) as refused:
            await caller.embed(EmbeddingRequest(model=SMALL, inputs=[SECOND]), tenant="t1")
        assert isinstance(refused.value.attempts[0], RateLimited)
        assert "our limiter" in str(refused.value)
    providers = simulator.stats()["providers"]["openai"]
    assert providers["requests"] == 1 and not providers["errors"]


async def test_an_embedding_call_counts_its_input_tokens_and_cost(
    caller: EmbeddingCaller,
) -> None:
    from prometheus_client import REGISTRY

    labels = {
        "provider": "openai",
        "model": SMALL,
        "deployment": "default",
        "priority": "batch",
        "tenant": "other",
    }

    def value(name: str, **more: str) -> float:
        return REGISTRY.get_sample_value(name, {**labels, **more}) or 0.0

    before = value("agentqueue_llm_tokens_total", type="input")
    cost_before = value("agentqueue_llm_cost_usd_total")
    result = await caller.embed(
        EmbeddingRequest(model=SMALL, inputs=["metrics", "count"]), Priority.BATCH, "t1"
    )
    assert value("agentqueue_llm_tokens_total", type="input") - before == (
        result.embeddings.input_tokens
    )
    assert value("agentqueue_llm_cost_usd_total") - cost_before == pytest.approx(
        float(result.cost_usd)
    )
