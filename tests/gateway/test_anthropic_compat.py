"""The official ``anthropic`` SDK against ``/v1/messages``: tool use, images, system
blocks, stop sequences, token counts and errors, as Anthropic's API answers them."""

from collections.abc import AsyncIterator
from typing import Any

import anthropic
import jsonschema
import pytest

from tests.gateway.conftest import KEY_T1, KEY_T2

MODELS = ["claude-sonnet-4-6", "gpt-4.1"]  # same protocol, and answered by OpenAI
WEATHER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
    },
    "required": ["city", "unit"],
    "additionalProperties": False,
}
TOOLS: list[Any] = [
    {
        "name": "get_weather",
        "description": "The weather forecast for a city.",
        "input_schema": WEATHER_SCHEMA,
        "cache_control": {"type": "ephemeral"},
    },
    {
        "name": "get_time",
        "description": "The local time in a city.",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
]
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]
#: One call per turn: with two tools offered the simulator otherwise makes two in parallel
#: (``test_parallel_tool_calls_come_back_as_two_tool_use_blocks``).
ONE_AT_A_TIME: Any = {"type": "auto", "disable_parallel_tool_use": True}
THINK: Any = {"type": "enabled", "budget_tokens": 2048}
RESULT = "sunny-4242 and 21 degrees"
#: A 1x1 transparent PNG.
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def _tool_use(message: Any) -> Any:
    calls = [b for b in message.content if b.type == "tool_use"]
    assert len(calls) == 1, message.content
    return calls[0]


@pytest.mark.parametrize("model", MODELS)
async def test_a_tool_call_comes_back_whole_and_streamed(claude, model) -> None:
    message = await claude.messages.create(
        model=model, max_tokens=200, messages=ASK, tools=TOOLS, tool_choice=ONE_AT_A_TIME
    )
    call = _tool_use(message)
    assert message.stop_reason == "tool_use"
    assert call.name == "get_weather" and call.id
    jsonschema.validate(call.input, WEATHER_SCHEMA)

    async with claude.messages.stream(
        model=model, max_tokens=200, messages=ASK, tools=TOOLS, tool_choice=ONE_AT_A_TIME
    ) as stream:
        async for _ in stream:
            pass
        final = await stream.get_final_message()
    streamed = _tool_use(final)
    assert final.stop_reason == "tool_use"
    assert streamed.name == "get_weather"
    jsonschema.validate(streamed.input, WEATHER_SCHEMA)


async def test_a_streamed_tool_call_has_anthropics_event_sequence(claude) -> None:
    stream = await claude.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=200,
        messages=ASK,
        tools=TOOLS,
        tool_choice=ONE_AT_A_TIME,
        stream=True,
    )
    events = [event async for event in stream]
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    start = next(e for e in events if e.type == "content_block_start")
    assert start.content_block.type == "tool_use" and start.content_block.input == {}
    deltas = [e.delta for e in events if e.type == "content_block_delta"]
    assert deltas and all(d.type == "input_json_delta" for d in deltas)
    assert kinds.count("content_block_start") == kinds.count("content_block_stop") == 1
    ending = events[-2]
    assert ending.delta.stop_reason == "tool_use" and ending.usage.output_tokens > 0


@pytest.mark.parametrize("model", MODELS)
async def test_a_tool_result_goes_back_and_the_answer_says_it(claude, model) -> None:
    first = await claude.messages.create(
        model=model, max_tokens=200, messages=ASK, tools=TOOLS, tool_choice=ONE_AT_A_TIME
    )
    call = _tool_use(first)
    conversation = [
        *ASK,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": call.id,
                    "content": [{"type": "text", "text": RESULT}],
                }
            ],
        },
    ]
    answer = await claude.messages.create(
        model=model, max_tokens=200, messages=conversation, tools=TOOLS
    )
    assert answer.stop_reason == "end_turn"
    assert [b.type for b in answer.content] == ["text"]
    assert RESULT in answer.content[0].text

    async with claude.messages.stream(
        model=model, max_tokens=200, messages=conversation, tools=TOOLS
    ) as stream:
        text = "".join([t async for t in stream.text_stream])
    assert RESULT in text


@pytest.mark.parametrize("model", [*MODELS, "gemini-2.5-pro"])
async def test_parallel_tool_calls_come_back_as_two_tool_use_blocks(claude, model) -> None:
    """Two tools offered, parallel use allowed: the simulated model calls both in one
    turn, and the gateway returns — and streams — two ``tool_use`` blocks, whichever
    provider answered."""
    message = await claude.messages.create(model=model, max_tokens=200, messages=ASK, tools=TOOLS)
    assert message.stop_reason == "tool_use"
    calls = [b for b in message.content if b.type == "tool_use"]
    assert [c.name for c in calls] == ["get_weather", "get_time"]
    jsonschema.validate(calls[0].input, WEATHER_SCHEMA)
    assert calls[0].input["city"] == "Paris" and calls[1].input == {"city": "Paris"}
    assert calls[0].id != calls[1].id

    stream = await claude.messages.create(
        model=model, max_tokens=200, messages=ASK, tools=TOOLS, stream=True
    )
    events = [event async for event in stream]
    starts = [e for e in events if e.type == "content_block_start"]
    assert [(e.index, e.content_block.type, e.content_block.name) for e in starts] == [
        (0, "tool_use", "get_weather"),
        (1, "tool_use", "get_time"),
    ]
    deltas = [e for e in events if e.type == "content_block_delta"]
    assert {e.index for e in deltas} == {0, 1}
    assert [e.index for e in events if e.type == "content_block_stop"] == [0, 1]
    async with claude.messages.stream(
        model=model, max_tokens=200, messages=ASK, tools=TOOLS
    ) as accumulated:
        final = await accumulated.get_final_message()
    streamed = [(b.name, b.input) for b in final.content if b.type == "tool_use"]
    assert streamed == [(c.name, c.input) for c in calls]
    assert final.stop_reason == "tool_use"

    # both results go back in one user turn; the answer says both
    conversation = [
        *ASK,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in calls]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": calls[0].id, "content": RESULT},
                {"type": "tool_result", "tool_use_id": calls[1].id, "content": "09:41"},
            ],
        },
    ]
    answer = await claude.messages.create(
        model=model, max_tokens=300, messages=conversation, tools=TOOLS
    )
    assert answer.stop_reason == "end_turn"
    assert RESULT in answer.content[0].text and "09:41" in answer.content[0].text


@pytest.mark.parametrize("model", MODELS)
async def test_tool_choice_names_the_tool_to_call(claude, model) -> None:
    message = await claude.messages.create(
        model=model,
        max_tokens=200,
        messages=[{"role": "user", "content": "What time is it in Lima?"}],
        tools=TOOLS,
        tool_choice={"type": "tool", "name": "get_time", "disable_parallel_tool_use": True},
    )
    call = _tool_use(message)
    assert call.name == "get_time" and isinstance(call.input["city"], str)
    none = await claude.messages.create(
        model=model, max_tokens=50, messages=ASK, tools=TOOLS, tool_choice={"type": "none"}
    )
    assert none.stop_reason != "tool_use" and none.content[0].type == "text"


async def test_thinking_blocks_in_history_are_dropped_and_thinking_is_accepted(claude) -> None:
    message = await claude.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=2000,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[
            {"role": "user", "content": "Hi"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "They greet me.", "signature": "c2ln"},
                    {"type": "redacted_thinking", "data": "b3BhcXVl"},
                    {"type": "text", "text": "Hello!"},
                ],
            },
            {"role": "user", "content": "Say hi again"},
        ],
    )
    assert message.content[0].text.startswith("Simulated claude-sonnet-4-6")


@pytest.mark.parametrize("model", MODELS)
async def test_images_are_accepted_inline_and_by_url(claude, model) -> None:
    plain = await claude.messages.create(model=model, max_tokens=20, messages=ASK)
    for source in (
        {"type": "base64", "media_type": "image/png", "data": PNG},
        {"type": "url", "url": "https://example.com/cat.png"},
    ):
        message = await claude.messages.create(
            model=model,
            max_tokens=20,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": source},
                        {"type": "text", "text": "What is in this picture?"},
                    ],
                }
            ],
        )
        assert message.content[0].text
        # the provider counted the image: the simulator charges ~1,600 tokens for one
        assert message.usage.input_tokens > plain.usage.input_tokens + 1000


async def test_system_blocks_with_cache_control_are_one_system_prompt(claude) -> None:
    blocks = await claude.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=50,
        messages=ASK,
        system=[
            {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": " Answer in English."},
        ],
        extra_body={"cache_control": {"type": "ephemeral"}, "metadata": {"user_id": "u-1"}},
    )
    string = await claude.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=50,
        messages=ASK,
        system="Be brief. Answer in English.",
    )
    assert blocks.content[0].text == string.content[0].text  # the same prompt, the same reply


async def test_stop_sequences_end_the_answer(claude) -> None:
    full = await claude.messages.create(model="claude-sonnet-4-6", max_tokens=60, messages=ASK)
    words = full.content[0].text.split()
    stop = words[len(words) // 2]
    cut = await claude.messages.create(
        model="claude-sonnet-4-6", max_tokens=60, messages=ASK, stop_sequences=[stop]
    )
    assert cut.stop_reason == "stop_sequence" and cut.stop_sequence == stop
    assert stop not in cut.content[0].text
    assert full.content[0].text.startswith(cut.content[0].text)
    async with claude.messages.stream(
        model="claude-sonnet-4-6", max_tokens=60, messages=ASK, stop_sequences=[stop]
    ) as stream:
        final = await stream.get_final_message()
    assert final.stop_reason == "stop_sequence" and final.content[0].text == cut.content[0].text


async def test_the_stop_sequence_that_ended_the_answer_is_named(claude) -> None:
    """Several stop sequences: ``stop_sequence`` is the one that matched (Claude says
    which), whole and streamed."""
    full = await claude.messages.create(model="claude-sonnet-4-6", max_tokens=60, messages=ASK)
    words = full.content[0].text.split()
    stop = words[len(words) // 2]
    sequences = ["never-said-1", stop, "never-said-2"]
    cut = await claude.messages.create(
        model="claude-sonnet-4-6", max_tokens=60, messages=ASK, stop_sequences=sequences
    )
    assert cut.stop_reason == "stop_sequence" and cut.stop_sequence == stop
    assert full.content[0].text.startswith(cut.content[0].text)
    async with claude.messages.stream(
        model="claude-sonnet-4-6", max_tokens=60, messages=ASK, stop_sequences=sequences
    ) as stream:
        final = await stream.get_final_message()
    assert final.stop_reason == "stop_sequence" and final.stop_sequence == stop
    raw = await claude.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=60,
        messages=ASK,
        stop_sequences=sequences,
        stream=True,
    )
    ending = [e async for e in raw if e.type == "message_delta"]
    assert [(e.delta.stop_reason, e.delta.stop_sequence) for e in ending] == [
        ("stop_sequence", stop)
    ]
    # none of them said: the answer ends on its own
    whole = await claude.messages.create(
        model="claude-sonnet-4-6", max_tokens=60, messages=ASK, stop_sequences=["never-said"]
    )
    assert whole.stop_reason != "stop_sequence" and whole.stop_sequence is None


async def test_thinking_is_sent_to_models_that_think(claude) -> None:
    """``thinking`` with a budget: answered by Claude (or a tier's thinking model); a
    model that cannot think is refused by name (``test_bad_requests_are_400_…``)."""
    for model in ("claude-sonnet-4-6", "frontier", "gemini-2.5-pro"):
        raw = await claude.messages.with_raw_response.create(
            model=model, max_tokens=4000, messages=ASK, thinking=THINK
        )
        message = await raw.parse()
        assert message.stop_reason in ("end_turn", "max_tokens")
        assert message.content[0].type == "text"
        assert raw.headers["x-agentqueue-provider"] in ("anthropic", "google")
    async with claude.messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=4000,
        messages=ASK,
        thinking=THINK,
        extra_body={"temperature": 1, "top_p": 0.97},
    ) as stream:
        text = "".join([t async for t in stream.text_stream])
    assert text.startswith("Simulated claude-sonnet-4-6")
    # an efficient-tier request with thinking skips models that cannot think
    raw = await claude.messages.with_raw_response.create(
        model="efficient", max_tokens=4000, messages=ASK, thinking=THINK
    )
    assert raw.headers["x-agentqueue-provider"] != "openai"


@pytest.mark.parametrize("model", [*MODELS, "gemini-2.5-pro"])
async def test_top_p_and_top_k_are_accepted(claude, model) -> None:
    sampling: dict[str, Any] = {"top_p": 0.9}
    if not model.startswith("gpt-"):
        sampling["top_k"] = 40
    message = await claude.messages.create(
        model=model,
        max_tokens=30,
        messages=ASK,
        metadata={"user_id": "user-42"},
        extra_body=sampling,
    )
    assert message.content[0].text.startswith("Simulated ")


async def test_count_tokens_grows_with_the_prompt_and_the_tools(claude) -> None:
    async def count(**kw: Any) -> int:
        answer = await claude.messages.count_tokens(model="claude-sonnet-4-6", **kw)
        return answer.input_tokens

    short = await count(messages=ASK)
    longer = await count(messages=[{"role": "user", "content": "What is the weather? " * 50}])
    with_system = await count(messages=ASK, system="You are a weather bot. " * 10)
    with_tools = await count(messages=ASK, tools=TOOLS)
    assert 0 < short < longer
    assert short < with_system and short < with_tools
    with pytest.raises(anthropic.NotFoundError):
        await claude.messages.count_tokens(model="no-such-model", messages=ASK)


def _refusal(info: pytest.ExceptionInfo[anthropic.APIStatusError], kind: str) -> str:
    body = info.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == kind
    message: str = body["error"]["message"]
    return message


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"extra_body": {"frobnicate": 1}}, "body.frobnicate"),
        ({"messages": [{"role": "user", "content": ""}]}, "body.messages.0.content"),
        (
            {"tools": [{**TOOLS[0], "name": "get weather!"}]},
            "body.tools.0.name",
        ),
        ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "web_search"),
        ({"model": "gpt-4.1", "extra_body": {"top_k": 5}}, "body.top_k"),  # OpenAI has none
        ({"thinking": {"type": "enabled", "budget_tokens": 1024}}, "body.thinking.budget_tokens"),
        ({"model": "gpt-4.1", "max_tokens": 4000, "thinking": THINK}, "body.thinking"),
        (  # Anthropic's own rule is checked before OpenAI's lack of top_k
            {"model": "gpt-4.1", "max_tokens": 4000, "thinking": THINK, "extra_body": {"top_k": 5}},
            "body.thinking",
        ),
        (
            {"max_tokens": 4000, "thinking": THINK, "extra_body": {"temperature": 0.5}},
            "body.temperature",
        ),
        ({"max_tokens": 4000, "thinking": THINK, "extra_body": {"top_k": 5}}, "body.top_k"),
        (
            {"max_tokens": 4000, "thinking": THINK, "tools": TOOLS, "tool_choice": {"type": "any"}},
            "body.tool_choice",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "document",
                                "source": {
                                    "type": "base64",
                                    "media_type": "application/pdf",
                                    "data": "JVBERi0=",
                                },
                            }
                        ],
                    }
                ]
            },
            "body.messages.0.content.0",
        ),
        (
            {"tools": TOOLS, "tool_choice": {"type": "tool", "name": "nope"}},
            "body.tool_choice.name",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "tool_use", "id": "t1", "name": "x", "input": {}}],
                    }
                ]
            },
            "body.messages.0.content.0",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": "toolu_1",
                                "content": [
                                    {
                                        "type": "image",
                                        "source": {"type": "url", "url": "https://x/y.png"},
                                    }
                                ],
                            }
                        ],
                    }
                ]
            },
            "body.messages.0.content.0.content.0",
        ),
        ({"tools": [{**TOOLS[0], "strict": True}]}, "body.tools.0.strict"),
    ],
)
async def test_bad_requests_are_400_naming_the_field(claude, change, named) -> None:
    ask: dict[str, Any] = {"model": "claude-sonnet-4-6", "max_tokens": 20, "messages": ASK}
    for stream in (False, True):
        with pytest.raises(anthropic.BadRequestError) as info:
            await claude.messages.create(**{**ask, **change}, stream=stream)
        assert named in _refusal(info, "invalid_request_error")


async def test_errors_raise_the_sdks_classes_in_anthropics_envelope(gateway_url, claude) -> None:
    bad = anthropic.AsyncAnthropic(base_url=gateway_url, api_key="wrong-key-0123456789")
    with pytest.raises(anthropic.AuthenticationError) as auth:
        await bad.messages.create(model="gpt-4.1", max_tokens=20, messages=ASK)
    await bad.close()
    assert "API key" in _refusal(auth, "authentication_error")
    with pytest.raises(anthropic.NotFoundError) as unknown:
        await claude.messages.create(model="no-such-model", max_tokens=20, messages=ASK)
    assert "no-such-model" in _refusal(unknown, "not_found_error")


async def test_a_tenant_over_its_quota_gets_rate_limit_error(gateway_url) -> None:
    client = anthropic.AsyncAnthropic(base_url=gateway_url, api_key=KEY_T2, max_retries=0)
    try:
        with pytest.raises(anthropic.RateLimitError) as info:
            for _ in range(10):
                await client.messages.create(model="gpt-4.1", max_tokens=200, messages=ASK)
        assert "quota" in _refusal(info, "rate_limit_error")
        assert int(info.value.response.headers["retry-after"]) >= 1
    finally:
        await client.close()


def _schemathesis_failures(operation: Any, mode: Any, session: Any) -> dict[str, str]:
    """Failures of generated requests to one operation in one generation mode."""
    import hypothesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.failures import FailureGroup
    from schemathesis.specs.openapi.checks import status_code_conformance

    failures: dict[str, str] = {}
    label = f"{operation.label} [{mode.value}]"

    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(
        max_examples=30,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    def run(case: Any) -> None:
        try:
            case.call_and_validate(
                session=session, checks=[not_a_server_error, status_code_conformance], timeout=10
            )
        except (AssertionError, FailureGroup) as exc:
            failures.setdefault(label, str(exc)[:2000])

    run()
    return failures


@pytest.mark.slow
def test_the_openapi_document_lists_every_status_the_routes_answer(gateway_url) -> None:
    """Schemathesis on the two Anthropic-compatible operations: no 5xx with a healthy
    provider, and every status (400, 401, 404, …) one the document lists."""
    schemathesis = pytest.importorskip("schemathesis")
    pytest.importorskip("hypothesis")
    import requests
    from schemathesis.generation import GenerationMode

    schema = schemathesis.openapi.from_url(f"{gateway_url}/openapi.json")
    operations = [
        op
        for op in (result.ok() for result in schema.get_all_operations())
        if op.path.startswith("/v1/messages") and not op.path.startswith("/v1/messages/batches")
    ]
    assert {op.path for op in operations} == {"/v1/messages", "/v1/messages/count_tokens"}
    session = requests.Session()
    session.headers["x-api-key"] = KEY_T1
    failures: dict[str, str] = {}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures |= _schemathesis_failures(operation, mode, session)
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())


async def test_text_then_tool_calls_stream_as_blocks_the_sdk_accumulates() -> None:
    """An answer with text and two tool calls (Claude's "let me check" and its calls):
    the text block streams first, then one tool_use block per call, and the SDK's
    accumulator rebuilds the same message as the whole answer."""
    import json

    from anthropic.lib.streaming._messages import accumulate_event
    from anthropic.types import Message, RawMessageStreamEvent
    from pydantic import TypeAdapter

    from agentqueue.core.llm.messages import Completion, TextDelta, ToolCall, Usage
    from agentqueue.gateway.compat import anthropic_answer
    from agentqueue.gateway.compat.calls import StartedStream

    calls = [
        ToolCall(id="toolu_1", name="get_weather", arguments={"city": "Paris", "unit": "celsius"}),
        ToolCall(id="toolu_2", name="get_time", arguments={"city": "Paris"}),
    ]
    final = Completion(
        text="Let me check.",
        tool_calls=calls,
        provider="anthropic",
        model="claude-sonnet-4-6",
        usage=Usage(input_tokens=30, output_tokens=12),
        stop_reason="tool_use",
    )

    async def rest() -> AsyncIterator[Any]:
        yield TextDelta(text=" check.")
        yield final

    started = StartedStream(TextDelta(text="Let me"), rest())
    chunks = [c async for c in anthropic_answer.events("msg_1", "claude", started, [])]
    events = TypeAdapter(RawMessageStreamEvent)
    snapshot = None
    bufs: dict[int, bytes] = {}
    for chunk in chunks:
        event = events.validate_python(json.loads(chunk.decode().split("data: ", 1)[1]))
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=bufs)
    assert snapshot is not None
    whole = Message.model_validate(anthropic_answer.message("msg_1", final, []))
    assert snapshot.model_dump(exclude={"model"}) == whole.model_dump(exclude={"model"})
    assert [b.type for b in whole.content] == ["text", "tool_use", "tool_use"]
    assert whole.stop_reason == "tool_use" and whole.content[1].input == calls[0].arguments
