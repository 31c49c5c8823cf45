"""The whole Chat Completions surface through the official ``openai`` SDK: tools and tool
results (same protocol and across to Claude), structured output, images, stop, errors in
OpenAI's envelope, and ``/v1/models``."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import openai
import pytest

from agentqueue.gateway.app import create_app
from tests.gateway.conftest import KEY_T1, KEY_T2, served_settings
from tests.servers import serving

HI = [{"role": "user", "content": "Say hi"}]

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
    },
    "required": ["city", "unit"],
    "additionalProperties": False,
}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather forecast for a city.",
        "parameters": WEATHER_SCHEMA,
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "The local time in a timezone.",
        "parameters": {
            "type": "object",
            "properties": {"tz": {"type": "string"}},
            "required": ["tz"],
        },
    },
}
ASK_WEATHER = [{"role": "user", "content": "What is the weather in Lisbon?"}]
RESULT = "Sunny, 23 degrees, light wind from the north-west"

#: A 1x1 PNG.
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4"
        "890000000d4944415478da63f8cfc0f01f0005000201e2a9c1f40000000049454e44ae426082"
    )
).decode()

#: Same protocol (an OpenAI model answers) and across it (Claude answers).
MODELS = ["gpt-4.1", "claude-sonnet-4-6"]


@pytest.fixture
def gateway_url(redis_url: str, simulator: Any) -> Iterator[str]:
    """The conftest's gateway, but tenant t2 may make one request a minute."""
    settings = served_settings(redis_url, simulator.url, tenant_quotas={"t2": {"rpm": 1}})
    with serving(create_app(settings), name="gateway") as url:
        yield url


async def _streamed(stream: Any) -> tuple[str, list[dict[str, Any]], str | None, Any]:
    """A stream's text, its tool calls (accumulated from deltas as SDK users do), its
    finish reason and its usage."""
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    finish, usage = None, None
    async for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        text.append(choice.delta.content or "")
        for d in choice.delta.tool_calls or []:
            call = calls.setdefault(d.index, {"id": None, "name": "", "arguments": ""})
            call["id"] = d.id or call["id"]
            if d.function:
                call["name"] += d.function.name or ""
                call["arguments"] += d.function.arguments or ""
        finish = choice.finish_reason or finish
    return "".join(text), [calls[i] for i in sorted(calls)], finish, usage


# --- tools ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
async def test_a_tool_call_comes_back_with_arguments_valid_against_its_schema(
    oai: openai.AsyncOpenAI, model: str
) -> None:
    reply = await oai.chat.completions.create(
        model=model, messages=ASK_WEATHER, tools=[WEATHER], max_completion_tokens=200
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.id
    assert call.function.name == "get_weather"
    jsonschema.validate(json.loads(call.function.arguments), WEATHER_SCHEMA)


@pytest.mark.parametrize("model", MODELS)
async def test_a_streamed_tool_call_arrives_as_tool_call_deltas(
    oai: openai.AsyncOpenAI, model: str
) -> None:
    stream = await oai.chat.completions.create(
        model=model,
        messages=ASK_WEATHER,
        tools=[WEATHER],
        stream=True,
        stream_options={"include_usage": True},
    )
    _, calls, finish, usage = await _streamed(stream)
    assert finish == "tool_calls"
    (call,) = calls
    assert call["id"] and call["name"] == "get_weather"
    jsonschema.validate(json.loads(call["arguments"]), WEATHER_SCHEMA)
    assert usage is not None and usage.prompt_tokens > 0


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
async def test_the_tool_result_goes_back_and_the_answer_says_it(
    oai: openai.AsyncOpenAI, model: str, stream: bool
) -> None:
    first = await oai.chat.completions.create(model=model, messages=ASK_WEATHER, tools=[WEATHER])
    call = first.choices[0].message.tool_calls[0]
    messages = [
        *ASK_WEATHER,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.function.name, "arguments": call.function.arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.id, "content": RESULT},
    ]
    if stream:
        chunks = await oai.chat.completions.create(
            model=model, messages=messages, tools=[WEATHER], stream=True
        )
        text, calls, finish, _ = await _streamed(chunks)
    else:
        reply = await oai.chat.completions.create(model=model, messages=messages, tools=[WEATHER])
        text = reply.choices[0].message.content or ""
        calls, finish = reply.choices[0].message.tool_calls or [], reply.choices[0].finish_reason
    assert RESULT in text
    assert not calls and finish == "stop"


@pytest.mark.parametrize("model", MODELS)
async def test_the_sdk_stream_helper_parses_a_strict_pydantic_tool(
    oai: openai.AsyncOpenAI, model: str
) -> None:
    """``chat.completions.stream`` accumulates the tool-call deltas and parses the
    arguments of a ``strict`` tool into its pydantic model."""
    from pydantic import BaseModel

    class GetWeather(BaseModel):
        """The weather forecast for a city."""

        city: str
        days: int

    async with oai.chat.completions.stream(
        model=model, messages=ASK_WEATHER, tools=[openai.pydantic_function_tool(GetWeather)]
    ) as stream:
        final = await stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.function.name == "GetWeather"
    assert isinstance(call.function.parsed_arguments, GetWeather)


async def test_parallel_calls_answered_by_consecutive_tool_messages(
    oai: openai.AsyncOpenAI,
) -> None:
    """Two calls in one assistant message, two tool messages (text parts in one of them)
    and the user's next words: one core turn of results; the answer quotes both."""
    arguments = json.dumps({"city": "Porto", "unit": "celsius"})
    messages = [
        *ASK_WEATHER,
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": arguments},
                },
                {
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": '{"tz": "WET"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": RESULT},
        {
            "role": "tool",
            "tool_call_id": "call_b",
            "content": [{"type": "text", "text": "14:05 WET"}],
        },
        {"role": "user", "content": "Summarise."},
    ]
    reply = await oai.chat.completions.create(
        model="claude-sonnet-4-6",
        messages=messages,
        tools=[WEATHER, TIME],
        parallel_tool_calls=True,
    )
    text = reply.choices[0].message.content or ""
    assert RESULT in text and "14:05 WET" in text


@pytest.mark.parametrize("model", [*MODELS, "gemini-2.5-pro"])
async def test_parallel_tool_calls_come_back_with_distinct_indexes(
    oai: openai.AsyncOpenAI, model: str
) -> None:
    """Two tools offered, parallel calls allowed: the simulated model calls both in one
    turn; the gateway returns both, and streams them as tool-call deltas with index 0
    and 1, whichever provider answered."""
    ask: dict[str, Any] = {"model": model, "messages": ASK_WEATHER, "tools": [WEATHER, TIME]}
    reply = await oai.chat.completions.create(**ask)
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    calls = choice.message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    weather, clock = (json.loads(c.function.arguments) for c in calls)
    jsonschema.validate(weather, WEATHER_SCHEMA)
    assert weather["city"] == "Lisbon" and clock == {"tz": "What"}  # the prompt's words
    assert calls[0].id != calls[1].id

    stream = await oai.chat.completions.create(**ask, stream=True)
    indexes: list[int] = []
    deltas: dict[int, dict[str, Any]] = {}
    finish = None
    async for chunk in stream:
        assert not chunk.usage  # no usage chunk unless asked for
        for d in chunk.choices[0].delta.tool_calls or []:
            indexes.append(d.index)
            call = deltas.setdefault(d.index, {"id": None, "name": "", "arguments": ""})
            call["id"] = d.id or call["id"]
            call["name"] += (d.function.name if d.function else None) or ""
            call["arguments"] += (d.function.arguments if d.function else None) or ""
        finish = chunk.choices[0].finish_reason or finish
    assert sorted(set(indexes)) == [0, 1] and finish == "tool_calls"
    assert [(deltas[i]["name"], json.loads(deltas[i]["arguments"])) for i in (0, 1)] == [
        ("get_weather", weather),
        ("get_time", clock),
    ]
    assert deltas[0]["id"] and deltas[1]["id"] and deltas[0]["id"] != deltas[1]["id"]

    one = await oai.chat.completions.create(**ask, parallel_tool_calls=False)
    assert [c.function.name for c in one.choices[0].message.tool_calls or []] == ["get_weather"]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
async def test_tool_choice_naming_a_tool_calls_that_tool(
    oai: openai.AsyncOpenAI, model: str, stream: bool
) -> None:
    ask = {
        "model": model,
        "messages": ASK_WEATHER,
        "tools": [WEATHER, TIME],
        "tool_choice": {"type": "function", "function": {"name": "get_time"}},
    }
    if stream:
        _, calls, finish, _ = await _streamed(await oai.chat.completions.create(**ask, stream=True))
        name, arguments = calls[0]["name"], calls[0]["arguments"]
    else:
        reply = await oai.chat.completions.create(**ask)
        finish = reply.choices[0].finish_reason
        call = reply.choices[0].message.tool_calls[0]
        name, arguments = call.function.name, call.function.arguments
    assert finish == "tool_calls" and name == "get_time"
    jsonschema.validate(json.loads(arguments), TIME["function"]["parameters"])  # type: ignore[index]


async def test_tool_choice_none_and_required(oai: openai.AsyncOpenAI) -> None:
    quiet = await oai.chat.completions.create(
        model="gpt-4.1", messages=ASK_WEATHER, tools=[WEATHER], tool_choice="none"
    )
    assert quiet.choices[0].message.tool_calls is None and quiet.choices[0].message.content
    assert quiet.choices[0].finish_reason == "stop"
    forced = await oai.chat.completions.create(
        model="gpt-4.1", messages=ASK_WEATHER, tools=[WEATHER], tool_choice="required"
    )
    assert forced.choices[0].message.tool_calls[0].function.name == "get_weather"


# --- structured output, images, stop, seed ----------------------------------------------

ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "answer": {"type": "string"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["answer", "confidence", "tags"],
    "additionalProperties": False,
}


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
async def test_a_json_schema_answer_validates(
    oai: openai.AsyncOpenAI, model: str, stream: bool
) -> None:
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": ANSWER_SCHEMA, "strict": True},
    }
    ask = {"model": model, "messages": HI, "response_format": fmt, "seed": 7}
    if stream:
        text, _, finish, _ = await _streamed(await oai.chat.completions.create(**ask, stream=True))
    else:
        reply = await oai.chat.completions.create(**ask)
        text, finish = reply.choices[0].message.content or "", reply.choices[0].finish_reason
    jsonschema.validate(json.loads(text), ANSWER_SCHEMA)
    assert finish == "stop"


async def test_a_json_object_answer_parses(oai: openai.AsyncOpenAI) -> None:
    reply = await oai.chat.completions.create(
        model="gpt-4.1", messages=HI, response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(reply.choices[0].message.content or ""), dict)


async def test_the_sdk_parse_helper_gets_a_pydantic_object(oai: openai.AsyncOpenAI) -> None:
    from pydantic import BaseModel

    class Answer(BaseModel):
        answer: str
        confidence: float

    parsed = await oai.chat.completions.parse(model="gpt-4.1", messages=HI, response_format=Answer)
    assert isinstance(parsed.choices[0].message.parsed, Answer)


@pytest.mark.parametrize("model", MODELS)
async def test_an_image_is_accepted_inline_and_by_url(oai: openai.AsyncOpenAI, model: str) -> None:
    for url in (f"data:image/png;base64,{PNG}", "https://example.com/cat.png"):
        content = [
            {"type": "text", "text": "What is in this picture?"},
            {"type": "image_url", "image_url": {"url": url, "detail": "low"}},
        ]
        reply = await oai.chat.completions.create(
            model=model, messages=[{"role": "user", "content": content}]
        )
        assert reply.choices[0].message.content
        assert reply.usage is not None and reply.usage.prompt_tokens > 100  # the image counted


async def test_stop_and_seed_and_neutral_parameters_are_accepted(oai: openai.AsyncOpenAI) -> None:
    for stop in ("zzz", ["zzz", "\n\n"]):
        reply = await oai.chat.completions.create(
            model="gpt-4.1",
            messages=HI,
            stop=stop,
            seed=42,
            n=1,
            top_p=1,
            frequency_penalty=0,
            presence_penalty=0,
            logprobs=False,
            max_completion_tokens=50,
            reasoning_effort="low",
            user="agent-7",
            metadata={"run": "r1"},
            store=False,
            modalities=["text"],
        )
        assert reply.choices[0].message.content
    stream = await oai.chat.completions.create(
        model="claude-sonnet-4-6", messages=HI, stop=["zzz"], stream=True
    )
    text, _, finish, _ = await _streamed(stream)
    assert text and finish == "stop"


@pytest.mark.parametrize("model", [*MODELS, "gemini-2.5-pro"])
async def test_top_p_and_max_completion_tokens_reach_the_provider(
    oai: openai.AsyncOpenAI, model: str
) -> None:
    reply = await oai.chat.completions.create(
        model=model, messages=HI, top_p=0.5, max_completion_tokens=3
    )
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None and reply.usage.completion_tokens == 3
    # max_completion_tokens wins over the older max_tokens when both are sent
    both = await oai.chat.completions.create(
        model=model, messages=HI, max_tokens=50, max_completion_tokens=4
    )
    assert both.usage is not None and both.usage.completion_tokens == 4


async def test_the_usage_chunk_comes_only_when_asked(oai: openai.AsyncOpenAI) -> None:
    async def chunks(**options: Any) -> list[Any]:
        stream = await oai.chat.completions.create(
            model="gpt-4.1", messages=HI, stream=True, **options
        )
        return [c async for c in stream]

    plain = await chunks()
    assert all(c.usage is None for c in plain) and all(c.choices for c in plain)
    unasked = await chunks(stream_options={"include_usage": False})
    assert all(c.usage is None for c in unasked)
    asked = await chunks(stream_options={"include_usage": True})
    *body, last = asked
    assert last.choices == [] and last.usage is not None and last.usage.completion_tokens > 0
    assert all(c.usage is None for c in body)
    assert body[-1].choices[0].finish_reason == "stop"


async def test_a_stop_sequence_cuts_the_answer(oai: openai.AsyncOpenAI) -> None:
    full = await oai.chat.completions.create(model="gpt-4.1", messages=HI, temperature=0)
    words = (full.choices[0].message.content or "").split()
    assert len(words) > 3
    cut = await oai.chat.completions.create(
        model="gpt-4.1", messages=HI, temperature=0, stop=[words[2]]
    )
    assert words[2] not in (cut.choices[0].message.content or "")


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"top_logprobs": 3}, "top_logprobs"),
        ({"frequency_penalty": 0.5}, "frequency_penalty"),
        ({"logit_bias": {"50256": -100}}, "logit_bias"),
        ({"prediction": {"type": "content", "content": "x"}}, "prediction"),
        ({"audio": {"voice": "alloy", "format": "mp3"}}, "audio"),
        ({"modalities": ["text", "audio"]}, "modalities"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"extra_body": {"frobnicate": 1}}, "frobnicate"),
        (
            {"tools": [{"type": "function", "function": {"name": "bad name!"}}]},
            "tools[0].function.name",
        ),
        (
            {"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}},
            "tool_choice.function.name",
        ),
        ({"tool_choice": "required"}, "tool_choice"),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
            "response_format.json_schema.schema",
        ),
        (
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "x", "schema": {"type": "nonsense"}},
                }
            },
            "response_format.json_schema.schema",
        ),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
async def test_refusals_are_bad_requests_naming_the_param(
    oai: openai.AsyncOpenAI, extra: dict[str, Any], param: str, stream: bool
) -> None:
    # an OpenAI model's stream passes logprobs through (test_stream_passthrough.py); Claude's
    # cannot give them
    model = "claude-sonnet-4-6" if stream and param == "logprobs" else "gpt-4.1"
    with pytest.raises(openai.BadRequestError) as info:
        await oai.chat.completions.create(model=model, messages=HI, stream=stream, **extra)
    body = info.value.body
    assert isinstance(body, dict)
    assert body["param"] == param, body
    assert body["type"] == "invalid_request_error" and body["message"]
    assert info.value.param == param and info.value.type == "invalid_request_error"


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        ([{"role": "user", "content": ""}], "messages[0].content"),
        ([{"role": "user", "content": []}], "messages[0].content"),
        (
            [{"role": "system", "content": "x"}, {"role": "user", "content": ""}],
            "messages[1].content",
        ),
        ([*HI, {"role": "assistant", "content": None}], "messages[1].content"),
        ([{"role": "user", "content": [{"type": "text"}]}], "messages[0].content[0].text"),
        ([{"role": "wizard", "content": "x"}], "messages[0]"),
        (
            [*HI, {"role": "tool", "tool_call_id": "call_x", "content": "42"}],
            "messages[1].tool_call_id",
        ),
        (
            [
                *HI,
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "42"},
            ],
            "messages[1].tool_calls[0].function.arguments",
        ),
        (
            [
                *HI,
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "user", "content": "and?"},
            ],
            "messages[2]",
        ),
        (
            [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}],
                }
            ],
            "messages[0].content[0].image_url.url",
        ),
        (
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,%%%"}}
                    ],
                }
            ],
            "messages[0].content[0].image_url.url",
        ),
        (
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}}
                    ],
                }
            ],
            "messages[0].content[0].type",
        ),
    ],
)
async def test_bad_messages_are_bad_requests_naming_the_message(
    oai: openai.AsyncOpenAI, messages: list[dict[str, Any]], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await oai.chat.completions.create(model="gpt-4.1", messages=messages)
    assert isinstance(info.value.body, dict) and info.value.body["param"] == param, info.value.body


async def test_an_unknown_field_is_named(gateway_url: str) -> None:
    async with httpx.AsyncClient(base_url=gateway_url) as http:
        r = await http.post(
            "/v1/chat/completions",
            headers={"Authorization": f"Bearer {KEY_T1}"},
            json={"model": "gpt-4.1", "messages": HI, "temprature": 0.2},
        )
    assert r.status_code == 400
    error = r.json()["error"]
    assert error == {
        "message": "Unrecognized request argument supplied: temprature",
        "type": "invalid_request_error",
        "param": "temprature",
        "code": None,
    }


async def test_malformed_and_nested_bodies_are_named(gateway_url: str) -> None:
    headers = {"Authorization": f"Bearer {KEY_T1}", "content-type": "application/json"}
    async with httpx.AsyncClient(base_url=gateway_url, headers=headers) as http:
        broken = await http.post("/v1/chat/completions", content=b'{"model": "gpt-4.1",')
        nested = await http.post(
            "/v1/chat/completions",
            json={"model": "gpt-4.1", "messages": [{"role": "user", "content": "x", "mood": 1}]},
        )
        bmp = await http.post(
            "/v1/chat/completions",
            json={
                "model": "gpt-4.1",
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image_url",
                                "image_url": {"url": "data:image/bmp;base64,AAAA"},
                            }
                        ],
                    }
                ],
            },
        )
    assert broken.status_code == 400 and broken.json()["error"]["param"] is None
    assert nested.status_code == 400 and nested.json()["error"]["param"] == "messages[0].mood"
    assert bmp.status_code == 400
    assert bmp.json()["error"]["param"] == "messages[0].content[0].image_url.url"
    assert "png" in bmp.json()["error"]["message"]


async def test_an_unknown_model_is_not_found(oai: openai.AsyncOpenAI) -> None:
    for stream in (False, True):
        with pytest.raises(openai.NotFoundError) as info:
            await oai.chat.completions.create(model="no-such-model", messages=HI, stream=stream)
        assert info.value.code == "model_not_found" and info.value.param == "model"
    with pytest.raises(openai.NotFoundError):
        await oai.models.retrieve("no-such-model")


async def test_a_bad_key_is_an_authentication_error(gateway_url: str) -> None:
    bad = openai.AsyncOpenAI(
        base_url=f"{gateway_url}/v1", api_key="wrong-key-0123456789", max_retries=0
    )
    try:
        with pytest.raises(openai.AuthenticationError) as info:
            await bad.chat.completions.create(model="gpt-4.1", messages=HI)
        assert info.value.code == "invalid_api_key"
        assert info.value.type == "invalid_request_error"
        with pytest.raises(openai.AuthenticationError):
            await bad.models.list()
    finally:
        await bad.close()


async def test_a_quota_is_a_rate_limit_error_with_retry_after(gateway_url: str) -> None:
    client = openai.AsyncOpenAI(base_url=f"{gateway_url}/v1", api_key=KEY_T2, max_retries=0)
    try:
        await client.chat.completions.create(model="gpt-4.1", messages=HI, max_tokens=20)
        with pytest.raises(openai.RateLimitError) as info:
            await client.chat.completions.create(model="gpt-4.1", messages=HI, max_tokens=20)
        assert info.value.code == "rate_limit_exceeded" and info.value.type == "requests"
        assert isinstance(info.value.body, dict) and info.value.body["quota"] == "rpm"
        assert int(info.value.response.headers["retry-after"]) >= 1
    finally:
        await client.close()


async def test_a_provider_outage_is_a_server_error(oai: openai.AsyncOpenAI, simulator: Any) -> None:
    simulator.configure({"all": {"outage": True}})
    try:
        with pytest.raises(openai.InternalServerError) as info:
            await oai.chat.completions.create(model="gpt-4.1", messages=HI)
        assert info.value.type == "server_error"
        assert int(info.value.response.headers["retry-after"]) >= 1
    finally:
        simulator.configure({"all": {"outage": False}})


async def test_other_routes_keep_the_gateway_envelope(gateway_url: str) -> None:
    async with httpx.AsyncClient(base_url=gateway_url) as http:
        r = await http.post("/v1/tasks", headers={"x-api-key": KEY_T1}, json={"messages": "x"})
    assert r.status_code == 422 and r.json()["error"]["type"] == "validation_error"


# --- models -----------------------------------------------------------------------------


async def test_models_lists_the_catalog_and_the_tiers(oai: openai.AsyncOpenAI) -> None:
    from agentqueue.core.llm.catalog import load_catalog

    listed = {m.id: m async for m in oai.models.list()}
    catalog = load_catalog()
    embedding = {m.model for m in getattr(catalog, "embedding_models", [])}
    assert {m.model for m in catalog.models} | embedding | {"frontier", "efficient"} == set(listed)
    assert listed["gpt-4.1"].owned_by == "openai" and listed["gpt-4.1"].object == "model"
    assert listed["claude-sonnet-4-6"].owned_by == "anthropic"
    assert listed["frontier"].owned_by == "agentqueue"
    one = await oai.models.retrieve("claude-sonnet-4-6")
    assert one.id == "claude-sonnet-4-6" and one.created == listed["gpt-4.1"].created > 0
    for name in ("frontier", "efficient"):  # every listed id is a model a call may name
        reply = await oai.chat.completions.create(model=name, messages=HI, max_tokens=10)
        assert reply.choices[0].message.content


async def test_openapi_documents_the_openai_routes_and_their_errors(gateway_url: str) -> None:
    async with httpx.AsyncClient(base_url=gateway_url) as http:
        spec = (await http.get("/openapi.json")).json()
    chat = spec["paths"]["/v1/chat/completions"]["post"]["responses"]
    assert {"400", "401", "404", "429", "502", "503"} <= set(chat)
    schema = chat["400"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(spec["components"]["schemas"][schema]["properties"]) == {"error"}
    assert {"401", "404"} <= set(spec["paths"]["/v1/models/{model}"]["get"]["responses"])
    assert "401" in spec["paths"]["/v1/models"]["get"]["responses"]
