"""The fallback chain skips a model whose catalog entry lacks what the request needs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.llm.catalog import Catalog
from agentqueue.core.llm.messages import (
    ChatMessage,
    Completion,
    CompletionRequest,
    ImagePart,
    ResponseFormat,
    StreamEvent,
    ToolSpec,
)
from agentqueue.core.llm.providers.base import Provider, ProviderConfig


class _Stub(Provider):
    """Never called: ``candidates`` only reads names and ``supports_tools``."""

    def __init__(self, name: str, tools: bool = True) -> None:
        super().__init__(ProviderConfig(name=name, api_key="k"))
        self.name = name
        self.supports_tools = tools

    async def complete(self, request: CompletionRequest, model: str) -> Completion:
        raise AssertionError("not called")

    async def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[StreamEvent]:
        raise AssertionError("not called")
        yield  # pragma: no cover


def _entry(provider: str, model: str, capabilities: list[str] | None) -> dict[str, object]:
    entry: dict[str, object] = {
        "provider": provider,
        "model": model,
        "tier": "frontier",
        "context_window": 1000,
        "max_output_tokens": 100,
        "input": 1,
        "output": 2,
        "cache_read": 0.1,
        "cache_write": 1,
    }
    if capabilities is not None:
        entry["capabilities"] = capabilities
    return entry


CATALOG = Catalog.from_json(
    json.dumps(
        {
            "prices_as_of": "2026-01-01",
            "models": [
                _entry("text", "text-only", []),
                _entry("eyes", "sees", ["vision"]),
                _entry("full", "does-all", ["tools", "vision", "json_schema"]),
                _entry("old", "unstated", None),
            ],
        }
    )
)
TEXT = [ChatMessage(role="user", content="hi")]
IMAGE = [ChatMessage(role="user", content="what?", images=[ImagePart(url="https://x/y.png")])]
TOOLS = [ToolSpec(name="lookup")]
SCHEMA = ResponseFormat(type="json_schema", json_schema={"type": "object"})


def _chain(*providers: Provider) -> FallbackChain:
    return FallbackChain(
        providers or [_Stub("text"), _Stub("eyes"), _Stub("full"), _Stub("old")], CATALOG
    )


def _models(chain: FallbackChain, request: CompletionRequest) -> list[str]:
    return [model for _, model in chain.candidates(request)]


def test_a_plain_request_may_go_anywhere() -> None:
    assert _models(_chain(), CompletionRequest(messages=TEXT)) == [
        "text-only",
        "sees",
        "does-all",
        "unstated",
    ]


def test_images_skip_models_without_vision() -> None:
    assert _models(_chain(), CompletionRequest(messages=IMAGE)) == ["sees", "does-all", "unstated"]


def test_tools_skip_models_without_tools_and_adapters_without_them() -> None:
    request = CompletionRequest(messages=TEXT, tools=TOOLS)
    assert _models(_chain(), request) == ["does-all", "unstated"]
    no_adapter = _chain(_Stub("full", tools=False), _Stub("old"))
    assert _models(no_adapter, request) == ["unstated"]


def test_a_schema_skips_models_without_json_schema() -> None:
    request = CompletionRequest(messages=IMAGE, response_format=SCHEMA)
    assert _models(_chain(), request) == ["does-all", "unstated"]
    json_object = CompletionRequest(
        messages=TEXT, response_format=ResponseFormat(type="json_object")
    )
    assert len(_models(_chain(), json_object)) == 4


def test_a_named_model_lacking_a_capability_is_skipped_too() -> None:
    named = CompletionRequest(messages=IMAGE, model="text-only")
    assert _models(_chain(), named) == ["sees", "does-all", "unstated"]
    able = CompletionRequest(messages=IMAGE, model="does-all")
    assert _models(_chain(), able) == ["does-all", "sees", "unstated"]


def test_tools_with_a_json_answer_skip_an_adapter_that_cannot_send_both() -> None:
    """Claude's adapter sends a JSON format as a forced tool: beside the request's own
    tools it cannot, so such a request goes to the others rather than failing there."""
    claude_like = _Stub("full")
    claude_like.json_answer_with_tools = False  # type: ignore[attr-defined]
    chain = _chain(claude_like, _Stub("old"))
    both = CompletionRequest(messages=TEXT, tools=TOOLS, response_format=SCHEMA)
    assert _models(chain, both) == ["unstated"]
    assert _models(chain, CompletionRequest(messages=TEXT, tools=TOOLS)) == [
        "does-all",
        "unstated",
    ]
