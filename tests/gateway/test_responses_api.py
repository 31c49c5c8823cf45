"""The Responses API (``POST /v1/responses``) through the official ``openai`` SDK: plain and
streamed answers, function tools and their outputs (same protocol and across to Claude),
structured output, images, and errors in OpenAI's envelope."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import jsonschema
import openai
import pytest
from openai.types.responses import Response
from pydantic import SecretStr

from agentqueue.gateway.app import create_app
from agentqueue.gateway.settings import GatewaySettings
from tests.gateway.conftest import KEY_T1, KEY_T2
from tests.servers import serving

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city", "unit"],
    "additionalProperties": False,
}
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather forecast for a city.",
    "parameters": WEATHER_SCHEMA,
    "strict": True,
}
TIME_SCHEMA = {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]}
TIME = {
    "type": "function",
    "name": "get_time",
    "description": "The local time in a timezone.",
    "parameters": TIME_SCHEMA,
}
ASK = "What is the weather in Lisbon?"
RESULT = "Sunny, 23 degrees, light wind from the north-west"
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "answer": {"type": "string"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["answer", "confidence"],
    "additionalProperties": False,
}
#: A 1x1 PNG.
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4"
        "890000000d4944415478da63f8cfc0f01f0005000201e2a9c1f40000000049454e44ae426082"
    )
).decode()

#: Same protocol family (an OpenAI model answers) and across it (Claude answers).
MODELS = ["gpt-4.1", "claude-sonnet-4-6"]


@pytest.fixture
def gateway_url(redis_url: str, simulator: Any) -> Iterator[str]:
    """The gateway served by uvicorn on 127.0.0.1, the simulator behind it."""
    settings = GatewaySettings(
        redis_url=SecretStr(redis_url),
        api_keys=SecretStr(f"t1:{KEY_T1},t2:{KEY_T2}"),
        simulator_url=simulator.url,
    )
    with serving(create_app(settings), name="gateway") as url:
        yield url


@pytest.fixture
async def oai(gateway_url: str) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(base_url=f"{gateway_url}/v1", api_key=KEY_T1, max_retries=0)
    yield client
    await client.close()


async def _respond(oai: openai.AsyncOpenAI, stream: bool, **ask: Any) -> Response:
    """The whole response, or the one a stream's ``response.completed`` carries — after
    checking the stream's events are numbered in order and its deltas add up."""
    if not stream:
        return await oai.responses.create(**ask)
    events = [e async for e in await oai.responses.create(**ask, stream=True)]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    final = events[-1].response  # type: ignore[union-attr]
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == final.output_text
    for item in final.output:
        if item.type == "function_call":
            streamed = [
                e.delta
                for e in events
                if e.type == "response.function_call_arguments.delta" and e.item_id == item.id
            ]
            assert "".join(streamed) == item.arguments
    return final


def _calls(response: Response) -> list[Any]:
    return [item for item in response.output if item.type == "function_call"]


# --- answers ----------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
async def test_a_plain_answer(oai: openai.AsyncOpenAI, model: str, stream: bool) -> None:
    response = await _respond(
        oai, stream, model=model, input="Say hi", instructions="Be brief.", store=True
    )
    assert response.object == "response" and response.id.startswith("resp_")
    assert response.status == "completed" and response.error is None
    assert response.output_text.startswith("Simulated")
    (message,) = response.output
    assert message.type == "message" and message.id.startswith("msg_")
    assert response.usage is not None and response.usage.output_tokens > 0
    assert response.usage.total_tokens == (
        response.usage.input_tokens + response.usage.output_tokens
    )
    assert response.instructions == "Be brief." and response.store is False


async def test_the_sdk_stream_helper_gets_the_final_response(oai: openai.AsyncOpenAI) -> None:
    async with oai.responses.stream(model="gpt-4.1", input="Say hi") as stream:
        texts = [e.delta async for e in stream if e.type == "response.output_text.delta"]
        final = await stream.get_final_response()
    assert final.output_text.startswith("Simulated") and "".join(texts) == final.output_text


async def test_a_cut_answer_is_incomplete(oai: openai.AsyncOpenAI) -> None:
    """As OpenAI answers it: ``status: incomplete``; a stream ends with ``response.incomplete``."""
    ask: dict[str, Any] = {"model": "gpt-4.1", "input": "Tell a story", "max_output_tokens": 16}
    whole = await oai.responses.create(**ask)
    events = [e async for e in await oai.responses.create(**ask, stream=True)]
    assert events[-1].type == "response.incomplete"
    for response in (whole, events[-1].response):  # type: ignore[union-attr]
        assert response.status == "incomplete" and response.output_text
        assert response.incomplete_details is not None
        assert response.incomplete_details.reason == "max_output_tokens"
        assert response.max_output_tokens == 16


def test_the_answer_validates_as_the_sdks_response_model() -> None:
    """Not just parsed leniently: every field the SDK's ``Response`` requires is there, for a
    whole answer and for a stream that opened its message before the model called a tool."""
    from agentqueue.core.llm.messages import Completion, ToolCall, Usage
    from agentqueue.gateway.compat import responses_answer
    from agentqueue.gateway.compat.responses_body import ResponsesBody

    body = ResponsesBody.model_validate({"model": "gpt-4.1", "input": ASK, "tools": [WEATHER]})
    call = ToolCall(
        id="call_1", name="get_weather", arguments={"city": "Lisbon", "unit": "celsius"}
    )
    completion = Completion(
        text="", provider="openai", model="gpt-4.1", usage=Usage(input_tokens=9), tool_calls=[call]
    )
    answer = responses_answer.Answer(1, "gpt-4.1", responses_answer.settings(body))
    whole = Response.model_validate(answer.whole(completion))
    assert [item.type for item in whole.output] == ["function_call"]
    events = responses_answer.Events(answer)
    streamed = [*events.start(), *events.delta(""), *events.ending(completion)]
    from openai.types.responses import ResponseStreamEvent
    from pydantic import TypeAdapter

    datas = [json.loads(e.decode().split("data: ", 1)[1]) for e in streamed]
    for data in datas:  # every event as the SDK's own type, strictly
        TypeAdapter(ResponseStreamEvent).validate_python(data)
    failing = responses_answer.Events(answer)
    failed = [*failing.start(), *failing.delta("Simulated"), failing.failed("provider down")]
    for data in [json.loads(e.decode().split("data: ", 1)[1]) for e in failed]:
        TypeAdapter(ResponseStreamEvent).validate_python(data)
    last = datas[-1]
    final = Response.model_validate(last["response"])
    assert [item.type for item in final.output] == ["message", "function_call"]
    assert last["sequence_number"] == len(streamed) - 1


# --- tools ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
async def test_a_function_call_comes_back_valid_against_its_schema(
    oai: openai.AsyncOpenAI, model: str, stream: bool
) -> None:
    response = await _respond(oai, stream, model=model, input=ASK, tools=[WEATHER])
    (call,) = _calls(response)
    assert call.name == "get_weather" and call.call_id and call.id.startswith("fc_")
    assert call.status == "completed"
    jsonschema.validate(json.loads(call.arguments), WEATHER_SCHEMA)
    assert response.tools[0].name == "get_weather"  # type: ignore[union-attr]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
async def test_the_function_output_goes_back_and_the_answer_says_it(
    oai: openai.AsyncOpenAI, model: str, stream: bool
) -> None:
    first = await oai.responses.create(model=model, input=ASK, tools=[WEATHER])
    (call,) = _calls(first)
    conversation: list[Any] = [
        {"role": "user", "content": ASK},
        *[item.model_dump(exclude_none=True) for item in first.output],  # as SDK users replay
        {"type": "function_call_output", "call_id": call.call_id, "output": RESULT},
    ]
    response = await _respond(oai, stream, model=model, input=conversation, tools=[WEATHER])
    assert RESULT in response.output_text
    assert not _calls(response)


@pytest.mark.parametrize("model", [*MODELS, "gemini-2.5-pro"])
@pytest.mark.parametrize("stream", [False, True])
async def test_parallel_function_calls_come_back_as_two_items(
    oai: openai.AsyncOpenAI, model: str, stream: bool
) -> None:
    """Two tools, parallel calls allowed: the simulated model calls both in one turn;
    the response holds two ``function_call`` items (streamed: each its own arguments)."""
    response = await _respond(oai, stream, model=model, input=ASK, tools=[WEATHER, TIME])
    calls = _calls(response)
    assert [c.name for c in calls] == ["get_weather", "get_time"]
    jsonschema.validate(json.loads(calls[0].arguments), WEATHER_SCHEMA)
    assert json.loads(calls[0].arguments)["city"] == "Lisbon"
    jsonschema.validate(json.loads(calls[1].arguments), TIME_SCHEMA)
    assert calls[0].call_id != calls[1].call_id and calls[0].id != calls[1].id
    one = await _respond(
        oai, stream, model=model, input=ASK, tools=[WEATHER, TIME], parallel_tool_calls=False
    )
    assert [c.name for c in _calls(one)] == ["get_weather"]


async def test_two_calls_answered_by_consecutive_outputs(oai: openai.AsyncOpenAI) -> None:
    conversation = [
        {"role": "user", "content": [{"type": "input_text", "text": ASK}]},
        {
            "type": "function_call",
            "call_id": "call_a",
            "name": "get_weather",
            "arguments": '{"city": "Porto", "unit": "celsius"}',
        },
        {"type": "function_call", "call_id": "call_b", "name": "get_time", "arguments": "{}"},
        {"type": "reasoning", "id": "rs_1", "summary": []},  # the provider's own: dropped
        {"type": "function_call_output", "call_id": "call_a", "output": RESULT},
        {
            "type": "function_call_output",
            "call_id": "call_b",
            "output": [{"type": "input_text", "text": "14:05 WET"}],
        },
        {"role": "user", "content": "Summarise."},
    ]
    response = await oai.responses.create(
        model="claude-sonnet-4-6", input=conversation, tools=[WEATHER, TIME]
    )
    assert RESULT in response.output_text and "14:05 WET" in response.output_text


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
async def test_tool_choice_naming_a_function_calls_it(
    oai: openai.AsyncOpenAI, model: str, stream: bool
) -> None:
    response = await _respond(
        oai,
        stream,
        model=model,
        input=ASK,
        tools=[WEATHER, TIME],
        tool_choice={"type": "function", "name": "get_time"},
    )
    (call,) = _calls(response)
    assert call.name == "get_time"
    jsonschema.validate(json.loads(call.arguments), TIME_SCHEMA)
    assert response.tool_choice.name == "get_time"  # type: ignore[union-attr]


async def test_tool_choice_none_answers_in_words(oai: openai.AsyncOpenAI) -> None:
    response = await oai.responses.create(
        model="gpt-4.1", input=ASK, tools=[WEATHER], tool_choice="none"
    )
    assert not _calls(response) and response.output_text


# --- structured output and images -------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
async def test_a_json_schema_answer_validates(
    oai: openai.AsyncOpenAI, model: str, stream: bool
) -> None:
    fmt = {"type": "json_schema", "name": "answer", "schema": ANSWER_SCHEMA, "strict": True}
    response = await _respond(oai, stream, model=model, input="Say hi", text={"format": fmt})
    jsonschema.validate(json.loads(response.output_text), ANSWER_SCHEMA)
    assert response.text is not None and response.text.format is not None
    assert response.text.format.type == "json_schema"


async def test_the_sdk_parse_helper_gets_a_pydantic_object(oai: openai.AsyncOpenAI) -> None:
    from pydantic import BaseModel

    class Answer(BaseModel):
        answer: str
        confidence: float

    parsed = await oai.responses.parse(model="gpt-4.1", input="Say hi", text_format=Answer)
    assert isinstance(parsed.output_parsed, Answer)


@pytest.mark.parametrize("model", MODELS)
async def test_an_image_is_accepted(oai: openai.AsyncOpenAI, model: str) -> None:
    plain = await oai.responses.create(model=model, input="What is in this picture?")
    for url in (f"data:image/png;base64,{PNG}", "https://example.com/cat.png"):
        content = [
            {"type": "input_text", "text": "What is in this picture?"},
            {"type": "input_image", "image_url": url, "detail": "low"},
        ]
        response = await oai.responses.create(
            model=model, input=[{"role": "user", "content": content}]
        )
        assert response.output_text
        assert response.usage is not None and plain.usage is not None
        grown = response.usage.input_tokens - plain.usage.input_tokens
        assert 1000 < grown < 2500, grown  # the image counted, about 1,600 tokens


async def test_neutral_and_harmless_parameters_are_accepted(oai: openai.AsyncOpenAI) -> None:
    response = await oai.responses.create(
        model="gpt-4.1",
        input=[
            {"role": "developer", "content": "Be brief."},
            {"type": "message", "role": "user", "content": "Say hi"},
        ],
        top_p=1,
        temperature=0.2,
        max_output_tokens=100,
        metadata={"run": "r1"},
        user="agent-7",
        store=False,
        truncation="auto",
        include=["reasoning.encrypted_content"],
        reasoning={"effort": "low"},
        parallel_tool_calls=False,
        tool_choice="auto",
    )
    assert response.output_text and response.metadata == {"run": "r1"}
    assert response.parallel_tool_calls is False


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"previous_response_id": "resp_123"}, "previous_response_id"),
        ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}]}, "tools[0].type"),
        ({"extra_body": {"frobnicate": 1}}, "frobnicate"),
        ({"input": ""}, "input"),
        ({"input": []}, "input"),
        ({"include": ["message.output_text.logprobs"]}, "include[0]"),
        ({"tool_choice": "required"}, "tool_choice"),
        (
            {"tools": [WEATHER], "tool_choice": {"type": "function", "name": "nope"}},
            "tool_choice.name",
        ),
        ({"tools": [{**WEATHER, "name": "bad name!"}]}, "tools[0].name"),
        (
            {
                "text": {
                    "format": {"type": "json_schema", "name": "x", "schema": {"type": "nonsense"}}
                }
            },
            "text.format.schema",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f1"}]}]},
            "input[0].content[0].file_id",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f1"}]}]},
            "input[0].content[0].type",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_text"}]}]},
            "input[0].content[0].text",
        ),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0].type"),
        (
            {
                "input": [
                    {"role": "user", "content": "x"},
                    {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{"},
                    {"type": "function_call_output", "call_id": "c1", "output": "42"},
                ]
            },
            "input[1].arguments",
        ),
        (
            {
                "input": [
                    {"role": "user", "content": "x"},
                    {"type": "function_call_output", "call_id": "c9", "output": "42"},
                ]
            },
            "input[1].call_id",
        ),
        (
            {
                "input": [
                    {"role": "user", "content": "x"},
                    {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
                    {"role": "user", "content": "and?"},
                ]
            },
            "input[2]",
        ),
    ],
)
async def test_refusals_are_bad_requests_naming_the_param(
    oai: openai.AsyncOpenAI, extra: dict[str, Any], param: str
) -> None:
    ask: dict[str, Any] = {"model": "gpt-4.1", "input": "Say hi", **extra}
    with pytest.raises(openai.BadRequestError) as info:
        await oai.responses.create(**ask)
    assert info.value.param == param, info.value.body
    assert info.value.type == "invalid_request_error" and info.value.message


async def test_previous_response_id_says_to_send_the_conversation(oai: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await oai.responses.create(model="gpt-4.1", input="x", previous_response_id="resp_1")
    assert "no response state" in info.value.message and "input" in info.value.message


async def test_a_builtin_tool_is_named(oai: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await oai.responses.create(model="gpt-4.1", input="x", tools=[{"type": "web_search"}])
    assert "web_search" in info.value.message


async def test_an_unknown_field_is_named(gateway_url: str) -> None:
    async with httpx.AsyncClient(base_url=gateway_url) as http:
        r = await http.post(
            "/v1/responses",
            headers={"Authorization": f"Bearer {KEY_T1}"},
            json={"model": "gpt-4.1", "input": "x", "temprature": 0.2},
        )
    assert r.status_code == 400
    assert r.json()["error"] == {
        "message": "Unrecognized request argument supplied: temprature",
        "type": "invalid_request_error",
        "param": "temprature",
        "code": None,
    }


async def test_an_unknown_model_is_not_found(oai: openai.AsyncOpenAI) -> None:
    for stream in (False, True):
        with pytest.raises(openai.NotFoundError) as info:
            await oai.responses.create(model="no-such-model", input="x", stream=stream)
        assert info.value.code == "model_not_found" and info.value.param == "model"


async def test_a_bad_key_is_an_authentication_error(gateway_url: str) -> None:
    bad = openai.AsyncOpenAI(
        base_url=f"{gateway_url}/v1", api_key="wrong-key-0123456789", max_retries=0
    )
    try:
        with pytest.raises(openai.AuthenticationError) as info:
            await bad.responses.create(model="gpt-4.1", input="x")
        assert info.value.code == "invalid_api_key"
    finally:
        await bad.close()


async def test_a_provider_outage_is_a_server_error(oai: openai.AsyncOpenAI, simulator: Any) -> None:
    simulator.configure({"all": {"outage": True}})
    try:
        with pytest.raises(openai.InternalServerError) as info:
            await oai.responses.create(model="gpt-4.1", input="x")
        assert info.value.type == "server_error"
    finally:
        simulator.configure({"all": {"outage": False}})


async def test_a_failure_after_the_first_byte_ends_the_stream_with_response_failed(
    oai: openai.AsyncOpenAI, simulator: Any
) -> None:
    simulator.configure({"all": {"mid_stream_error_rate": 1.0}})
    try:
        events = [
            e async for e in await oai.responses.create(model="gpt-4.1", input="x", stream=True)
        ]
    finally:
        simulator.configure({"all": {"mid_stream_error_rate": 0.0}})
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta")
    last = events[-1]
    assert last.type == "response.failed"
    assert last.response.status == "failed" and last.response.error is not None
    assert last.response.error.code == "server_error" and last.response.output_text
    assert [e.sequence_number for e in events] == list(range(len(events)))


async def test_openapi_documents_the_route_and_its_errors(gateway_url: str) -> None:
    async with httpx.AsyncClient(base_url=gateway_url) as http:
        spec = (await http.get("/openapi.json")).json()
    documented = spec["paths"]["/v1/responses"]["post"]["responses"]
    assert {"200", "400", "401", "404", "429", "502", "503"} <= set(documented)
