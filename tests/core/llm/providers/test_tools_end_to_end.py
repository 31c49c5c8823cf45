"""Every adapter's tool loop and JSON output through its official SDK, against the
simulator: a tool call comes back parsed, its result leads to an answer that says it,
and a JSON-schema response format gives JSON that validates. Whole and streamed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import jsonschema
import pytest

from agentqueue.core.calls.registry import build_provider
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.messages import (
    ChatMessage,
    Completion,
    CompletionRequest,
    ImagePart,
    ResponseFormat,
    TextDelta,
    Tier,
    ToolChoice,
    ToolResult,
    ToolSpec,
)
from agentqueue.core.llm.providers.base import Provider, ProviderConfig

PATHS = {"anthropic": "", "openai": "/v1", "google": ""}
WEATHER = ToolSpec(
    name="get_weather",
    description="The current weather in a city.",
    input_schema={
        "type": "object",
        "properties": {
            "city": {"type": "string", "minLength": 1},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city", "unit"],
    },
)
CLOCK = ToolSpec(
    name="get_time",
    input_schema={"type": "object", "properties": {"zone": {"type": "string"}}},
)
PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 0},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    },
    "required": ["name", "age", "tags"],
    "additionalProperties": False,
}
ASK = ChatMessage(role="user", content="What is the weather in Paris?")
TOOLS_REQUEST = CompletionRequest(messages=[ASK], tools=[WEATHER, CLOCK], max_tokens=200)
RESULT = "18 degrees and sunny"


@pytest.fixture(params=list(PATHS))
async def provider(request: pytest.FixtureRequest, simulator) -> AsyncIterator[Provider]:
    name = request.param
    p = build_provider(
        ProviderConfig(
            name=name, api_key=f"test-{name}", base_url=simulator.url + PATHS[name], timeout=5
        )
    )
    yield p
    await p.aclose()


def _model(p: Provider) -> str:
    return load_catalog().default_model(p.name, Tier.FRONTIER).model


async def _answer(p: Provider, request: CompletionRequest, streamed: bool) -> Completion:
    if not streamed:
        return await p.complete(request, _model(p))
    events = [e async for e in p.stream(request, _model(p))]
    final = events[-1]
    assert isinstance(final, Completion)
    deltas = [e for e in events[:-1] if isinstance(e, TextDelta)]
    assert len(deltas) == len(events) - 1
    assert "".join(d.text for d in deltas) == final.text
    return final


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
async def test_a_tool_call_is_parsed_and_its_result_answered(
    provider: Provider, streamed: bool
) -> None:
    # one call at a time (Gemini has no such switch: its adapter keeps the first call)
    one_call = TOOLS_REQUEST.model_copy(update={"parallel_tool_calls": False})
    first = await _answer(provider, one_call, streamed)
    assert len(first.tool_calls) == 1
    call = first.tool_calls[0]
    assert call.name == "get_weather" and call.id
    jsonschema.validate(call.arguments, WEATHER.input_schema)

    second = one_call.model_copy(
        update={
            "messages": [
                ASK,
                ChatMessage(role="assistant", content=first.text, tool_calls=[call]),
                ChatMessage(
                    role="user", tool_results=[ToolResult(tool_call_id=call.id, content=RESULT)]
                ),
            ]
        }
    )
    final = await _answer(provider, second, streamed)
    assert final.tool_calls == []
    assert RESULT in final.text


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
async def test_parallel_tool_calls_are_parsed_and_both_results_answered(
    provider: Provider, streamed: bool
) -> None:
    first = await _answer(provider, TOOLS_REQUEST, streamed)
    assert [c.name for c in first.tool_calls] == ["get_weather", "get_time"]
    weather, clock = first.tool_calls
    jsonschema.validate(weather.arguments, WEATHER.input_schema)
    jsonschema.validate(clock.arguments, CLOCK.input_schema)
    assert weather.id and clock.id and weather.id != clock.id
    again = await _answer(provider, TOOLS_REQUEST, not streamed)  # Gemini's ids are ours: new
    assert [(c.name, c.arguments) for c in again.tool_calls] == [
        (c.name, c.arguments) for c in first.tool_calls
    ]

    results = [
        ToolResult(tool_call_id=weather.id, content=RESULT),
        ToolResult(tool_call_id=clock.id, content="09:00 UTC"),
    ]
    second = TOOLS_REQUEST.model_copy(
        update={
            "messages": [
                ASK,
                ChatMessage(role="assistant", content=first.text, tool_calls=first.tool_calls),
                ChatMessage(role="user", tool_results=results),
            ]
        }
    )
    final = await _answer(provider, second, streamed)
    assert final.tool_calls == []
    assert RESULT in final.text and "09:00 UTC" in final.text


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
async def test_a_named_tool_choice_is_followed(provider: Provider, streamed: bool) -> None:
    request = TOOLS_REQUEST.model_copy(
        update={"tool_choice": ToolChoice(mode="tool", name="get_time")}
    )
    answer = await _answer(provider, request, streamed)
    assert [c.name for c in answer.tool_calls] == ["get_time"]
    none = TOOLS_REQUEST.model_copy(update={"tool_choice": ToolChoice(mode="none")})
    plain = await _answer(provider, none, streamed)
    assert plain.tool_calls == [] and plain.text


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
async def test_a_json_schema_format_gives_valid_json(provider: Provider, streamed: bool) -> None:
    request = CompletionRequest(
        messages=[ChatMessage(role="user", content="Describe Ada Lovelace.")],
        response_format=ResponseFormat(
            type="json_schema", name="person", json_schema=PERSON, strict=True
        ),
        max_tokens=300,
    )
    answer = await _answer(provider, request, streamed)
    assert answer.tool_calls == []
    jsonschema.validate(json.loads(answer.text), PERSON)


async def test_images_and_stop_sequences_reach_the_model(provider: Provider) -> None:
    text = CompletionRequest(messages=[ChatMessage(role="user", content="Look")], max_tokens=60)
    png = (
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
        "awAAAABJRU5ErkJggg=="
    )
    with_images = text.model_copy(
        update={
            "messages": [
                ChatMessage(
                    role="user",
                    content="Look",
                    images=[
                        ImagePart(media_type="image/png", data=png),
                        ImagePart(url="https://example.com/cat.png"),
                    ],
                )
            ]
        }
    )
    plain = await provider.complete(text, _model(provider))
    seen = await provider.complete(with_images, _model(provider))
    assert seen.usage.input_tokens > plain.usage.input_tokens  # the images were counted
    word = plain.text.split()[3]
    stopped = await provider.complete(
        text.model_copy(update={"stop": [f" {word}"]}), _model(provider)
    )
    assert stopped.text and f" {word}" not in stopped.text
    assert plain.text.startswith(stopped.text)


@pytest.mark.parametrize(
    "request_",
    [
        TOOLS_REQUEST,
        CompletionRequest(messages=[ASK], max_tokens=60, stop=["sunny"]),
    ],
    ids=["tools", "text"],
)
async def test_claudes_stream_read_from_its_bytes_matches_the_sdks_helper(
    simulator, request_: CompletionRequest
) -> None:
    """The Anthropic adapter reads a translated stream from its SSE bytes; the SDK's
    stream helper (still used for a JSON answer format) must give the same answer."""
    from agentqueue.core.llm.providers.anthropic import AnthropicProvider

    p = build_provider(
        ProviderConfig(name="anthropic", api_key="test-anthropic", base_url=simulator.url)
    )
    assert isinstance(p, AnthropicProvider)
    try:
        lean = [e async for e in p.stream(request_, _model(p))]
        helper = [e async for e in p._stream_sdk(request_, _model(p))]
    finally:
        await p.aclose()

    def shape(events: list[TextDelta | Completion]) -> tuple[object, ...]:
        final = events[-1]
        assert isinstance(final, Completion)
        return (
            [e.text for e in events[:-1] if isinstance(e, TextDelta)],
            final.text,
            [(c.name, c.arguments) for c in final.tool_calls],
            final.usage,
            final.stop_reason,
            final.stop_sequence,
            final.model,
            final.rate_limit is not None,
        )

    assert shape(lean) == shape(helper)
    texts, _, calls, *_ = shape(lean)
    assert calls if request_.tools else texts  # a call made, or text streamed
