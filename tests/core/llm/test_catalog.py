from decimal import Decimal

import pytest

from agentqueue.core.llm.catalog import Catalog, UnknownModel, load_catalog
from agentqueue.core.llm.messages import Tier, Usage

CATALOG = """{"prices_as_of": "2025-06-01", "models": [
 {"provider": "p", "model": "big", "tier": "frontier", "context_window": 1000,
  "max_output_tokens": 100, "input": 3, "output": 15, "cache_read": 0.3, "cache_write": 3.75},
 {"provider": "p", "model": "small", "tier": "efficient", "context_window": 1000,
  "max_output_tokens": 100, "input": 1, "output": 5, "cache_read": 0.1, "cache_write": 1.25}
]}"""


def test_cost_counts_every_token_class_at_its_price() -> None:
    catalog = Catalog.from_json(CATALOG)
    usage = Usage(
        input_tokens=1_000_000,
        output_tokens=2_000_000,
        cache_read_tokens=1_000_000,
        cache_write_tokens=1_000_000,
    )
    assert catalog.cost_usd("big", usage) == Decimal("3") + 30 + Decimal("0.3") + Decimal("3.75")


def test_cost_is_exact_for_small_calls() -> None:
    catalog = Catalog.from_json(CATALOG)
    assert catalog.cost_usd("small", Usage(input_tokens=7, output_tokens=3)) == Decimal("0.000022")


def test_default_model_follows_tier() -> None:
    catalog = Catalog.from_json(CATALOG)
    assert catalog.default_model("p", Tier.EFFICIENT).model == "small"
    assert catalog.default_model("p", Tier.FRONTIER).model == "big"
    with pytest.raises(UnknownModel):
        catalog.default_model("q", Tier.FRONTIER)
    with pytest.raises(UnknownModel):
        catalog.get("nope")


def test_packaged_catalog_has_both_tiers_for_every_provider() -> None:
    catalog = load_catalog()
    assert catalog.prices_as_of
    for provider in ("anthropic", "openai", "google"):
        for tier in Tier:
            info = catalog.default_model(provider, tier)
            assert info.context_window > 0 and info.output > info.input > 0


def test_packaged_models_list_their_capabilities() -> None:
    catalog = load_catalog()
    for info in catalog.models:
        assert info.capabilities is not None
        assert {"tools", "vision", "json_schema"} <= info.capabilities, info.model
    assert "thinking" in catalog.get("claude-sonnet-4-6").capabilities  # type: ignore[operator]
    assert "thinking" not in catalog.get("gpt-4.1").capabilities  # type: ignore[operator]


def test_capabilities_are_read_checked_and_optional() -> None:
    text = CATALOG.replace(
        '"cache_write": 3.75}', '"cache_write": 3.75, "capabilities": ["tools"]}'
    )
    catalog = Catalog.from_json(text)
    big, small = catalog.get("big"), catalog.get("small")
    assert big.capabilities == frozenset({"tools"})
    assert big.supports({"tools"}) and not big.supports({"tools", "vision"})
    assert small.capabilities is None and small.supports({"vision", "json_schema"})  # unstated
    with pytest.raises(ValueError, match="telepathy"):
        Catalog.from_json(text.replace('["tools"]', '["tools", "telepathy"]'))


def test_capabilities_needed_by_a_request() -> None:
    from agentqueue.core.llm.catalog import capabilities_needed
    from agentqueue.core.llm.messages import (
        ChatMessage,
        CompletionRequest,
        ImagePart,
        ResponseFormat,
        ToolSpec,
    )

    text = [ChatMessage(role="user", content="hi")]
    image = [ChatMessage(role="user", images=[ImagePart(url="https://x/y.png")])]
    assert capabilities_needed(CompletionRequest(messages=text)) == frozenset()
    assert capabilities_needed(CompletionRequest(messages=image)) == {"vision"}
    assert capabilities_needed(
        CompletionRequest(
            messages=text,
            tools=[ToolSpec(name="t")],
            response_format=ResponseFormat(type="json_schema", json_schema={"type": "object"}),
        )
    ) == {"tools", "json_schema"}
    json_object = ResponseFormat(type="json_object")
    assert capabilities_needed(CompletionRequest(messages=text, response_format=json_object)) == (
        frozenset()
    )
