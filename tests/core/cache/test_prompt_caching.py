"""Provider prompt caching: what the Anthropic adapter marks, what the simulator bills
for it, and what the catalog charges for cache writes, cache reads and OpenAI's cached
tokens."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from openai.types import CompletionUsage
from openai.types.completion_usage import PromptTokensDetails

from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest, ToolSpec
from agentqueue.core.llm.providers.anthropic import AnthropicProvider, min_cacheable_tokens
from agentqueue.core.llm.providers.base import ProviderConfig
from agentqueue.core.llm.providers.openai import _usage as openai_usage

SONNET = "claude-sonnet-4-6"
EPHEMERAL = {"type": "ephemeral"}


def _request(system: str | None = None, *messages: str, **kw) -> CompletionRequest:
    roles = ["user", "assistant"]
    return CompletionRequest(
        messages=[ChatMessage(role=roles[i % 2], content=m) for i, m in enumerate(messages)],
        system=system,
        max_tokens=32,
        **kw,
    )


def test_system_prompt_and_tools_are_marked() -> None:
    tools = [ToolSpec(name="a"), ToolSpec(name="b")]
    params = AnthropicProvider._params(_request("Be terse.", "Hi", tools=tools), SONNET)
    assert params["system"] == [{"type": "text", "text": "Be terse.", "cache_control": EPHEMERAL}]
    assert [t.get("cache_control") for t in params["tools"]] == [None, EPHEMERAL]
    assert params["messages"] == [{"role": "user", "content": "Hi"}]


def test_a_long_first_document_is_marked_when_the_conversation_builds_on_it() -> None:
    document = "word " * (min_cacheable_tokens(SONNET) * 4 // 5 + 10)  # ≥ the minimum
    single = AnthropicProvider._params(_request(None, document), SONNET)
    assert single["messages"][0]["content"] == document  # a one-off: a write would cost more
    turns = AnthropicProvider._params(_request(None, document, "Noted.", "Summarise"), SONNET)
    assert turns["messages"][0]["content"][0]["cache_control"] == EPHEMERAL
    short = AnthropicProvider._params(_request(None, "short", "ok", "more"), SONNET)
    assert short["messages"][0]["content"] == "short"


def test_temperature_travels_in_the_body() -> None:
    params = AnthropicProvider._params(_request(None, "Hi", temperature=0), SONNET)
    assert params["extra_body"] == {"temperature": 0} and "temperature" not in params


def test_minimum_cacheable_lengths_follow_the_model_family() -> None:
    assert min_cacheable_tokens("claude-haiku-4-5") == 4096
    assert min_cacheable_tokens("claude-sonnet-4-6") == 2048
    assert min_cacheable_tokens("claude-sonnet-4-5") == 1024


@pytest.fixture
async def anthropic(simulator):
    provider = AnthropicProvider(
        ProviderConfig(name="anthropic", api_key="test-anthropic", base_url=simulator.url)
    )
    yield provider
    await provider.aclose()


async def test_a_long_system_prompt_is_written_once_then_read(anthropic) -> None:
    system = f"{uuid.uuid4()} " + "You are a careful assistant. " * 400  # ~3,000 tokens
    first = await anthropic.complete(_request(system, "First question?"), SONNET)
    second = await anthropic.complete(_request(system, "Second question?"), SONNET)
    assert first.usage.cache_write_tokens > 2048 and first.usage.cache_read_tokens == 0
    assert second.usage.cache_read_tokens == first.usage.cache_write_tokens
    assert second.usage.cache_write_tokens == 0
    assert 0 < second.usage.input_tokens < 20  # only the question is plain input

    model = load_catalog().get(SONNET)
    u = second.usage
    expected = (
        u.input_tokens * Decimal("3.00")
        + u.output_tokens * Decimal("15.00")
        + u.cache_read_tokens * Decimal("0.30")
    ) / 1_000_000
    assert model.cost_usd(u) == expected
    assert model.cost_usd(second.usage) < model.cost_usd(first.usage)


async def test_streams_report_the_same_cache_usage(anthropic) -> None:
    system = f"{uuid.uuid4()} " + "Context line. " * 800
    await anthropic.complete(_request(system, "Warm"), SONNET)
    events = [e async for e in anthropic.stream(_request(system, "Again"), SONNET)]
    assert events[-1].usage.cache_read_tokens > 2048


async def test_a_prefix_below_the_minimum_is_not_cached(anthropic) -> None:
    system = f"{uuid.uuid4()} Be terse."
    for _ in range(2):
        result = await anthropic.complete(_request(system, "Hi"), SONNET)
        assert result.usage.cache_write_tokens == result.usage.cache_read_tokens == 0


async def test_tools_are_part_of_the_cached_prefix(anthropic) -> None:
    tools = [ToolSpec(name=f"tool_{i}", description="Looks things up. " * 60) for i in range(8)]
    system = f"{uuid.uuid4()} Use the tools."
    first = await anthropic.complete(_request(system, "Q1", tools=tools), SONNET)
    second = await anthropic.complete(_request(system, "Q2", tools=tools), SONNET)
    assert first.usage.cache_write_tokens > 2048
    assert second.usage.cache_read_tokens == first.usage.cache_write_tokens


def test_catalog_prices_anthropic_cache_writes_and_reads_at_1_25_and_0_1() -> None:
    for m in load_catalog().models:
        if m.provider == "anthropic":
            assert m.cache_write == m.input * Decimal("1.25"), m.model
            assert m.cache_read == m.input * Decimal("0.1"), m.model


def test_openai_cached_tokens_are_taken_out_of_input_and_priced_as_reads() -> None:
    raw = CompletionUsage(
        prompt_tokens=3000,
        completion_tokens=100,
        total_tokens=3100,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=2048),
    )
    usage = openai_usage(raw)
    assert (usage.input_tokens, usage.cache_read_tokens, usage.output_tokens) == (952, 2048, 100)
    model = load_catalog().get("gpt-4.1")
    assert (
        model.cost_usd(usage)
        == (952 * Decimal("2.00") + 2048 * Decimal("0.50") + 100 * Decimal("8.00")) / 1_000_000
    )
