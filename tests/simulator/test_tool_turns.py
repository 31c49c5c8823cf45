"""Tool-calling loops, structured output, stop sequences and images, through the SDKs.

Each protocol is driven by its official SDK against the simulator, whole and streamed,
through a small driver that turns the SDK's answer into one :class:`Reply`, so the same
assertions check all three.
"""

from __future__ import annotations

import base64
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import jsonschema
import pytest
from anthropic import Anthropic, AnthropicError
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from openai import OpenAI, OpenAIError
from pydantic import BaseModel

from agentqueue.simulator.testing import SimulatorHandle
from agentqueue.simulator.text import reply_tokens
from agentqueue.simulator.tool_turns import Extras, Tool, ToolResult, answer

PROMPT = "What is the weather in Paris tomorrow?"
WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 2},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
        "when": {"type": "string", "format": "date"},
    },
    "required": ["city", "unit", "days", "when"],
    "additionalProperties": False,
}
CLOCK = {
    "type": "object",
    "properties": {
        "zone": {"type": "string", "enum": ["UTC", "Europe/Paris"]},
        "precise": {"type": "boolean"},
    },
    "required": ["zone", "precise"],
}
TOOLS = [
    ("get_weather", "The forecast for a city.", WEATHER),
    ("get_time", "The time in a zone.", CLOCK),
]
SCHEMAS = {name: schema for name, _, schema in TOOLS}
RESULT = "22 degrees and sunny in Paris, light wind from the west"
#: A 1x1 transparent PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
PNG_B64 = base64.b64encode(PNG).decode()

TOOL_FINISH = {"openai": "tool_calls", "anthropic": "tool_use", "google": "STOP"}
TEXT_FINISH = {"openai": "stop", "anthropic": "end_turn", "google": "STOP"}
STOP_FINISH = {"openai": "stop", "anthropic": "stop_sequence", "google": "STOP"}


@dataclass
class Call:
    id: str | None
    name: str
    args: dict[str, Any]


@dataclass
class Reply:
    text: str
    calls: list[Call]
    finish: str
    input_tokens: int
    output_tokens: int
    stop_sequence: str | None = None
    pieces: int = 0  # streamed pieces of the tool call's arguments
    events: list[str] = field(default_factory=list)


class Driver(Protocol):
    name: str

    def ask(
        self,
        *,
        tools: bool = True,
        choice: str | None = None,
        stream: bool = False,
        stop: list[str] | None = None,
        image: bool = False,
        after: tuple[Call, str] | None = None,
        parallel: bool = True,
    ) -> Reply:
        """``choice``: None, "none" or a tool's name; ``after``: a call and its result;
        ``parallel=False``: at most one call (Gemini has no such switch: its driver then
        offers the first tool only)."""
        ...


class OpenAIDriver:
    name = "openai"

    def __init__(self, url: str) -> None:
        self.client = OpenAI(base_url=url + "/v1", api_key="test")

    def ask(
        self,
        *,
        tools: bool = True,
        choice: str | None = None,
        stream: bool = False,
        stop: list[str] | None = None,
        image: bool = False,
        after: tuple[Call, str] | None = None,
        parallel: bool = True,
    ) -> Reply:
        content: Any = PROMPT
        if image:
            url = f"data:image/png;base64,{PNG_B64}"
            content = [
                {"type": "text", "text": PROMPT},
                {"type": "image_url", "image_url": {"url": url}},
            ]
        messages: list[Any] = [{"role": "user", "content": content}]
        if after:
            call, result = after
            function = {"name": call.name, "arguments": json.dumps(call.args)}
            messages += [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": call.id, "type": "function", "function": function}],
                },
                {"role": "tool", "tool_call_id": call.id, "content": result},
            ]
        kwargs: dict[str, Any] = {"model": "gpt-x", "messages": messages}
        if tools:
            kwargs["tools"] = [
                {"type": "function", "function": {"name": n, "description": d, "parameters": s}}
                for n, d, s in TOOLS
            ]
            if not parallel:
                kwargs["parallel_tool_calls"] = False
        if choice == "none":
            kwargs["tool_choice"] = "none"
        elif choice:
            kwargs["tool_choice"] = {"type": "function", "function": {"name": choice}}
        if stop:
            kwargs["stop"] = stop
        if not stream:
            r = self.client.chat.completions.create(**kwargs)
            message = r.choices[0].message
            calls = [
                Call(c.id, c.function.name, json.loads(c.function.arguments))
                for c in message.tool_calls or []
                if c.type == "function"
            ]
            assert r.usage is not None
            return Reply(
                message.content or "",
                calls,
                r.choices[0].finish_reason,
                r.usage.prompt_tokens,
                r.usage.completion_tokens,
            )
        text, finish, usage = "", "", None
        parts: dict[int, dict[str, Any]] = {}
        pieces = 0
        for chunk in self.client.chat.completions.create(
            **kwargs, stream=True, stream_options={"include_usage": True}
        ):
            usage = chunk.usage or usage
            for choice_ in chunk.choices:
                text += choice_.delta.content or ""
                finish = choice_.finish_reason or finish
                for d in choice_.delta.tool_calls or []:
                    part = parts.setdefault(d.index, {"id": None, "name": "", "arguments": ""})
                    part["id"] = d.id or part["id"]
                    if d.function:
                        part["name"] += d.function.name or ""
                        part["arguments"] += d.function.arguments or ""
                        pieces += bool(d.function.arguments)
        assert usage is not None
        calls = [Call(p["id"], p["name"], json.loads(p["arguments"])) for p in parts.values()]
        return Reply(
            text, calls, finish, usage.prompt_tokens, usage.completion_tokens, pieces=pieces
        )


class AnthropicDriver:
    name = "anthropic"

    def __init__(self, url: str) -> None:
        self.client = Anthropic(base_url=url, api_key="test")

    def ask(
        self,
        *,
        tools: bool = True,
        choice: str | None = None,
        stream: bool = False,
        stop: list[str] | None = None,
        image: bool = False,
        after: tuple[Call, str] | None = None,
        parallel: bool = True,
    ) -> Reply:
        content: Any = PROMPT
        if image:
            source = {"type": "base64", "media_type": "image/png", "data": PNG_B64}
            content = [{"type": "text", "text": PROMPT}, {"type": "image", "source": source}]
        messages: list[Any] = [{"role": "user", "content": content}]
        if after:
            call, result = after
            messages += [
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": "Let me look."},
                        {"type": "tool_use", "id": call.id, "name": call.name, "input": call.args},
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": call.id,
                            "content": [{"type": "text", "text": result}],
                        }
                    ],
                },
            ]
        kwargs: dict[str, Any] = {"model": "claude-x", "max_tokens": 1024, "messages": messages}
        if tools:
            kwargs["tools"] = [
                {"name": n, "description": d, "input_schema": s} for n, d, s in TOOLS
            ]
        if choice == "none":
            kwargs["tool_choice"] = {"type": "none"}
        elif choice:
            kwargs["tool_choice"] = {"type": "tool", "name": choice}
        elif tools and not parallel:
            kwargs["tool_choice"] = {"type": "auto", "disable_parallel_tool_use": True}
        if stop:
            kwargs["stop_sequences"] = stop
        events: list[str] = []
        pieces = 0
        if stream:
            with self.client.messages.stream(**kwargs) as s:
                for event in s:
                    events.append(event.type)
                    if event.type == "content_block_delta":
                        events.append(event.delta.type)
                        pieces += event.delta.type == "input_json_delta"
                m = s.get_final_message()
        else:
            m = self.client.messages.create(**kwargs)
        text = "".join(b.text for b in m.content if b.type == "text")
        calls = [Call(b.id, b.name, dict(b.input)) for b in m.content if b.type == "tool_use"]
        return Reply(
            text,
            calls,
            str(m.stop_reason),
            m.usage.input_tokens,
            m.usage.output_tokens,
            m.stop_sequence,
            pieces,
            events,
        )


class GeminiDriver:
    name = "google"

    def __init__(self, url: str) -> None:
        options = types.HttpOptions(base_url=url)
        self.client = genai.Client(api_key="test", http_options=options)

    def ask(
        self,
        *,
        tools: bool = True,
        choice: str | None = None,
        stream: bool = False,
        stop: list[str] | None = None,
        image: bool = False,
        after: tuple[Call, str] | None = None,
        parallel: bool = True,
    ) -> Reply:
        parts = [types.Part(text=PROMPT)]
        if image:
            parts.append(types.Part.from_bytes(data=PNG, mime_type="image/png"))
        contents = [types.Content(role="user", parts=parts)]
        if after:
            call, result = after
            contents += [
                types.Content(
                    role="model",
                    parts=[
                        types.Part(function_call=types.FunctionCall(name=call.name, args=call.args))
                    ],
                ),
                types.Content(
                    role="user",
                    parts=[
                        types.Part.from_function_response(
                            name=call.name, response={"result": result}
                        )
                    ],
                ),
            ]
        config = types.GenerateContentConfig(stop_sequences=stop)
        if tools:
            declarations = [
                types.FunctionDeclaration(name=n, description=d, parameters_json_schema=s)
                for n, d, s in (TOOLS if parallel else TOOLS[:1])
            ]
            config.tools = [types.Tool(function_declarations=declarations)]
        if choice == "none":
            calling = types.FunctionCallingConfig(mode=types.FunctionCallingConfigMode.NONE)
            config.tool_config = types.ToolConfig(function_calling_config=calling)
        elif choice:
            calling = types.FunctionCallingConfig(
                mode=types.FunctionCallingConfigMode.ANY, allowed_function_names=[choice]
            )
            config.tool_config = types.ToolConfig(function_calling_config=calling)
        chunks = (
            list(
                self.client.models.generate_content_stream(
                    model="gemini-x", contents=contents, config=config
                )
            )
            if stream
            else [
                self.client.models.generate_content(
                    model="gemini-x", contents=contents, config=config
                )
            ]
        )
        text, finish, calls = "", "", []
        for chunk in chunks:
            assert chunk.candidates
            candidate = chunk.candidates[0]
            for part in (candidate.content.parts if candidate.content else None) or []:
                text += part.text or ""
                if part.function_call:
                    fc = part.function_call
                    calls.append(Call(fc.id, str(fc.name), dict(fc.args or {})))
            if candidate.finish_reason:
                finish = candidate.finish_reason.value
        usage = chunks[-1].usage_metadata
        assert usage is not None
        return Reply(
            text, calls, finish, usage.prompt_token_count or 0, usage.candidates_token_count or 0
        )


DRIVERS = {"openai": OpenAIDriver, "anthropic": AnthropicDriver, "google": GeminiDriver}


@pytest.fixture(params=list(DRIVERS))
def driver(request: pytest.FixtureRequest, simulator: SimulatorHandle) -> Driver:
    made: Driver = DRIVERS[request.param](simulator.url)
    return made


def _validate(call: Call) -> None:
    jsonschema.validate(call.args, SCHEMAS[call.name], format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_tools_offered_get_one_call_valid_against_the_schema(
    driver: Driver, stream: bool, simulator: SimulatorHandle
) -> None:
    # parallel calls off: one call (with them on and two tools, two: the test below)
    r = driver.ask(stream=stream, parallel=False)
    (call,) = r.calls
    assert call.name == "get_weather"
    _validate(call)
    assert call.args["city"] in PROMPT  # strings come from the prompt's words
    assert r.finish == TOOL_FINISH[driver.name] and r.text == ""
    if driver.name == "openai":
        assert call.id and call.id.startswith("call_")
    if driver.name == "anthropic":
        assert call.id and call.id.startswith("toolu_")
    # the call's JSON counts as output, four characters a token
    assert r.output_tokens == math.ceil(len(json.dumps(call.args)) / 4)
    assert simulator.stats()["providers"][driver.name]["ok"] == 1
    assert r == driver.ask(stream=stream, parallel=False)  # deterministic, the id too


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_several_tools_offered_get_two_parallel_calls(driver: Driver, stream: bool) -> None:
    r = driver.ask(stream=stream)
    assert [c.name for c in r.calls] == ["get_weather", "get_time"]
    for call in r.calls:
        _validate(call)
    assert r.calls[0].args["city"] in PROMPT
    assert r.calls[1].args["zone"] in ("UTC", "Europe/Paris")
    assert r.finish == TOOL_FINISH[driver.name] and r.text == ""
    if driver.name != "google":  # Gemini's calls carry no ids
        ids = [c.id for c in r.calls]
        assert all(ids) and len(set(ids)) == 2
    # both calls' JSON count as output, four characters a token each
    assert r.output_tokens == sum(math.ceil(len(json.dumps(c.args)) / 4) for c in r.calls)
    if stream and driver.name == "anthropic":
        assert r.events.count("content_block_start") == 2
        assert r.events.count("content_block_stop") == 2
    assert r == driver.ask(stream=stream)  # deterministic
    assert r.calls == driver.ask(stream=not stream).calls  # streamed or not, the same


def test_parallel_calls_decision() -> None:
    two = Extras(tools=(Tool("a", {}), Tool("b", {}), Tool("c", {})))
    assert [c.name for c in answer("m", None, ["q"], 100, two).tool_calls] == ["a", "b"]
    one = Extras(tools=two.tools, parallel=False)
    assert [c.name for c in answer("m", None, ["q"], 100, one).tool_calls] == ["a"]
    named = Extras(tools=two.tools, forced_tool="c")
    assert [c.name for c in answer("m", None, ["q"], 100, named).tool_calls] == ["c"]
    single = Extras(tools=(Tool("a", {}),))
    assert len(answer("m", None, ["q"], 100, single).tool_calls) == 1


def test_streamed_calls_split_the_arguments(driver: Driver) -> None:
    r = driver.ask(stream=True)
    if driver.name == "openai":
        assert r.pieces > 1
    if driver.name == "anthropic":
        assert r.pieces > 1
        assert r.events[:2] == ["message_start", "content_block_start"]
        assert "input_json_delta" in r.events and r.events[-1] == "message_stop"
    assert r.calls[0] == driver.ask().calls[0]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_tool_result_gets_a_final_answer_that_quotes_it(driver: Driver, stream: bool) -> None:
    (call,) = driver.ask(parallel=False).calls
    r = driver.ask(stream=stream, after=(call, RESULT))
    assert r.calls == []
    assert r.text.startswith("Simulated ")
    assert f"the tool get_weather returned {RESULT}" in r.text
    assert r.finish == TEXT_FINISH[driver.name]
    assert r.output_tokens == len(r.text.split())


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_tool_choice_naming_a_tool_calls_it(driver: Driver, stream: bool) -> None:
    (call,) = driver.ask(choice="get_time", stream=stream).calls
    assert call.name == "get_time"
    _validate(call)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_tool_choice_none_answers_in_text(driver: Driver, stream: bool) -> None:
    r = driver.ask(choice="none", stream=stream)
    assert r.calls == [] and r.text.startswith("Simulated ")
    assert r.finish == TEXT_FINISH[driver.name]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_stop_sequence_cuts_the_text(driver: Driver, stream: bool) -> None:
    full = driver.ask(tools=False).text
    word = full.split()[5]
    r = driver.ask(tools=False, stop=["zzz", f" {word}"], stream=stream)
    assert r.text == full[: full.index(f" {word}")]
    assert r.finish == STOP_FINISH[driver.name]
    assert r.output_tokens == len(r.text.split())
    if driver.name == "anthropic":
        assert r.stop_sequence == f" {word}"


def test_without_a_stop_in_the_text_nothing_is_cut(driver: Driver) -> None:
    r = driver.ask(tools=False, stop=["never said"])
    assert r.text == driver.ask(tools=False).text
    assert r.finish == TEXT_FINISH[driver.name] and r.stop_sequence is None


def test_an_image_counts_1600_input_tokens(driver: Driver) -> None:
    plain = driver.ask(tools=False)
    seen = driver.ask(tools=False, image=True)
    assert seen.input_tokens >= plain.input_tokens + 1600
    assert seen.text.startswith("Simulated ")


def test_tool_definitions_count_as_input(driver: Driver) -> None:
    assert driver.ask(choice="none").input_tokens > driver.ask(tools=False).input_tokens


def test_openai_json_schema_output_validates(simulator: SimulatorHandle) -> None:
    client = OpenAI(base_url=simulator.url + "/v1", api_key="test")
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": "forecast", "schema": WEATHER, "strict": True},
    }
    messages: Any = [{"role": "user", "content": PROMPT}]
    r = client.chat.completions.create(model="gpt-x", messages=messages, response_format=fmt)
    assert r.choices[0].finish_reason == "stop"
    jsonschema.validate(json.loads(r.choices[0].message.content or ""), WEATHER)
    text = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(
            model="gpt-x",
            messages=messages,
            response_format=fmt,
            stream=True,
        )
        if c.choices
    )
    assert json.loads(text) == json.loads(r.choices[0].message.content or "")


def test_openai_json_schema_through_the_sdks_parse(simulator: SimulatorHandle) -> None:
    class Forecast(BaseModel):
        city: str
        days: int
        sunny: bool

    client = OpenAI(base_url=simulator.url + "/v1", api_key="test")
    r = client.chat.completions.parse(
        model="gpt-x", messages=[{"role": "user", "content": PROMPT}], response_format=Forecast
    )
    parsed = r.choices[0].message.parsed
    assert parsed is not None and parsed.city in PROMPT


def test_openai_json_object_output(simulator: SimulatorHandle) -> None:
    client = OpenAI(base_url=simulator.url + "/v1", api_key="test")
    r = client.chat.completions.create(
        model="gpt-x",
        messages=[{"role": "user", "content": PROMPT}],
        response_format={"type": "json_object"},
    )
    value = json.loads(r.choices[0].message.content or "")
    assert value["answer"].startswith("Simulated gpt-x reply:")


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_gemini_json_schema_output_validates(simulator: SimulatorHandle, stream: bool) -> None:
    client = genai.Client(api_key="test", http_options=types.HttpOptions(base_url=simulator.url))
    config = types.GenerateContentConfig(
        response_mime_type="application/json", response_json_schema=WEATHER
    )
    if stream:
        chunks = client.models.generate_content_stream(
            model="gemini-x", contents=PROMPT, config=config
        )
        text = "".join(c.text or "" for c in chunks)
    else:
        text = (
            client.models.generate_content(model="gemini-x", contents=PROMPT, config=config).text
            or ""
        )
    jsonschema.validate(json.loads(text), WEATHER)


def test_gemini_response_schema_from_a_pydantic_model(simulator: SimulatorHandle) -> None:
    class Forecast(BaseModel):
        city: str
        days: list[int]
        sunny: bool

    client = genai.Client(api_key="test", http_options=types.HttpOptions(base_url=simulator.url))
    config = types.GenerateContentConfig(
        response_mime_type="application/json", response_schema=Forecast
    )
    r = client.models.generate_content(model="gemini-x", contents=PROMPT, config=config)
    assert isinstance(r.parsed, Forecast) and r.parsed.city in PROMPT


def test_gemini_json_without_a_schema_is_an_object(simulator: SimulatorHandle) -> None:
    client = genai.Client(api_key="test", http_options=types.HttpOptions(base_url=simulator.url))
    config = types.GenerateContentConfig(response_mime_type="application/json")
    r = client.models.generate_content(model="gemini-x", contents=PROMPT, config=config)
    assert json.loads(r.text or "")["answer"].startswith("Simulated gemini-x reply:")


def test_gemini_openapi_parameters_are_read(simulator: SimulatorHandle) -> None:
    client = genai.Client(api_key="test", http_options=types.HttpOptions(base_url=simulator.url))
    declaration = types.FunctionDeclaration(
        name="get_weather",
        parameters=types.Schema(
            type=types.Type.OBJECT,
            properties={
                "city": types.Schema(type=types.Type.STRING),
                "days": types.Schema(type=types.Type.INTEGER, minimum=2),
                "tags": types.Schema(
                    type=types.Type.ARRAY, items=types.Schema(type=types.Type.STRING), min_items=2
                ),
            },
            required=["city", "days", "tags"],
        ),
    )
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[declaration])])
    r = client.models.generate_content(model="gemini-x", contents=PROMPT, config=config)
    (call,) = r.function_calls or []
    assert call.name == "get_weather" and call.args
    assert call.args["days"] >= 2 and len(call.args["tags"]) == 2 and call.args["city"] in PROMPT


def test_anthropic_url_images_and_documents_count_too(simulator: SimulatorHandle) -> None:
    client = Anthropic(base_url=simulator.url, api_key="test")
    plain = client.messages.create(
        model="claude-x", max_tokens=100, messages=[{"role": "user", "content": PROMPT}]
    )
    content: Any = [
        {"type": "text", "text": PROMPT},
        {"type": "image", "source": {"type": "url", "url": "https://example.invalid/a.png"}},
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": PNG_B64},
        },
    ]
    seen = client.messages.create(
        model="claude-x", max_tokens=100, messages=[{"role": "user", "content": content}]
    )
    assert seen.usage.input_tokens >= plain.usage.input_tokens + 2 * 1600
    counted = client.messages.count_tokens(
        model="claude-x", messages=[{"role": "user", "content": content}]
    )
    assert counted.input_tokens == seen.usage.input_tokens


def test_anthropic_tool_error_is_said(simulator: SimulatorHandle) -> None:
    client = Anthropic(base_url=simulator.url, api_key="test")
    messages: Any = [
        {"role": "user", "content": PROMPT},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": "no such city",
                    "is_error": True,
                }
            ],
        },
    ]
    tools: Any = [{"name": n, "description": d, "input_schema": s} for n, d, s in TOOLS]
    m = client.messages.create(model="claude-x", max_tokens=200, messages=messages, tools=tools)
    assert m.stop_reason == "end_turn"
    assert "the tool get_weather failed with no such city" in "".join(
        b.text for b in m.content if b.type == "text"
    )


# the decision itself, without HTTP


def test_without_extras_the_reply_is_the_plain_text_one() -> None:
    for turns in (["hi"], ["a", "b", "c"]):
        assert answer("m", "sys", turns, 50, Extras()).pieces == reply_tokens("m", "sys", turns, 50)


def test_tool_results_win_over_tools_offered() -> None:
    extras = Extras(
        tools=(Tool("get_weather", WEATHER),),
        results=(ToolResult("get_weather", "x" * 500),),
    )
    a = answer("m", None, ["q", "x" * 500], 1000, extras)
    assert a.tool_call is None
    assert "returned " + "x" * 200 + "." in "".join(a.pieces)  # quoted up to 200 characters


def test_unknown_forced_tool_falls_back_to_the_first() -> None:
    extras = Extras(tools=(Tool("a", {}), Tool("b", {})), forced_tool="zzz", parallel=False)
    call = answer("m", None, ["q"], 100, extras).tool_call
    assert call is not None and call.name == "a" and call.args == {}


def test_a_streamed_call_can_fail_mid_stream(driver: Driver, simulator: SimulatorHandle) -> None:
    simulator.configure({driver.name: {"mid_stream_error_rate": 1.0}})
    errors = {"openai": OpenAIError, "anthropic": AnthropicError, "google": genai_errors.APIError}
    with pytest.raises(errors[driver.name]):
        driver.ask(stream=True)
    counts = simulator.stats()["providers"][driver.name]
    assert counts["ok"] == 0 and sum(counts["errors"].values()) == 1


def test_a_call_is_paced_like_text(simulator: SimulatorHandle) -> None:
    simulator.configure({"openai": {"speed": 1.0, "ttft_ms": 0, "ms_per_token": 20}})
    driver = OpenAIDriver(simulator.url)
    started = time.monotonic()
    r = driver.ask()
    assert time.monotonic() - started >= 0.02 * r.output_tokens * 0.9
    (logged,) = simulator.stats()["calls"]
    assert logged["status"] == 200 and logged["output_tokens"] == r.output_tokens
