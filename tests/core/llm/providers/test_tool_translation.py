"""What each adapter hands its SDK for tools, tool results, images, tool choice, stop,
seed and response formats: the params are built without a network call."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from google.genai import types

from agentqueue.core.base.errors import BadRequest
from agentqueue.core.llm.messages import (
    ChatMessage,
    CompletionRequest,
    ImagePart,
    ResponseFormat,
    ToolCall,
    ToolChoice,
    ToolResult,
    ToolSpec,
)
from agentqueue.core.llm.providers import parts
from agentqueue.core.llm.providers.anthropic import AnthropicProvider
from agentqueue.core.llm.providers.base import ProviderConfig
from agentqueue.core.llm.providers.google import GoogleProvider
from agentqueue.core.llm.providers.openai import OpenAIProvider

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
URL = "https://example.com/cat.jpg"
WEATHER = ToolSpec(
    name="get_weather",
    description="The weather in a city.",
    input_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)
TIME = ToolSpec(name="get_time", input_schema={"type": "object", "properties": {}})
SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}

#: user → assistant tool calls → user tool results (+ text) → assistant text → user.
LOOP = [
    ChatMessage(role="user", content="Weather and time in Paris?"),
    ChatMessage(
        role="assistant",
        content="",
        tool_calls=[
            ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"}),
            ToolCall(id="call_2", name="get_time", arguments={}),
        ],
    ),
    ChatMessage(
        role="user",
        content="Be brief.",
        tool_results=[
            ToolResult(tool_call_id="call_1", content="18C, sunny"),
            ToolResult(tool_call_id="call_2", content="clock broke", is_error=True),
        ],
    ),
    ChatMessage(role="assistant", content="18C and sunny; no time."),
    ChatMessage(role="user", content="Thanks"),
]


def _request(**kw: Any) -> CompletionRequest:
    kw.setdefault("messages", LOOP)
    return CompletionRequest(max_tokens=100, **kw)


def _images() -> CompletionRequest:
    return _request(
        messages=[
            ChatMessage(
                role="user",
                content="What is in these?",
                images=[
                    ImagePart(media_type="image/png", data=PNG),
                    ImagePart(url=URL),
                    ImagePart(url=f"data:image/png;base64,{PNG}"),
                ],
            )
        ]
    )


# --- OpenAI -----------------------------------------------------------------------------


def test_openai_agent_loop() -> None:
    params = OpenAIProvider._params(_request(tools=[WEATHER, TIME], system="Sys"), "gpt-4.1")
    assert params["messages"] == [
        {"role": "system", "content": "Sys"},
        {"role": "user", "content": "Weather and time in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": "{}"},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18C, sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": "clock broke"},
        {"role": "user", "content": "Be brief."},
        {"role": "assistant", "content": "18C and sunny; no time."},
        {"role": "user", "content": "Thanks"},
    ]
    assert [t["function"]["name"] for t in params["tools"]] == ["get_weather", "get_time"]
    assert params["tools"][0]["function"]["parameters"] == WEATHER.input_schema
    assert "tool_choice" not in params and "parallel_tool_calls" not in params


def test_openai_images_inline_and_by_url() -> None:
    content = OpenAIProvider._params(_images(), "gpt-4.1")["messages"][0]["content"]
    assert content == [
        {"type": "text", "text": "What is in these?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "image_url", "image_url": {"url": URL}},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (ToolChoice(mode="auto"), "auto"),
        (ToolChoice(mode="none"), "none"),
        (ToolChoice(mode="required"), "required"),
        (
            ToolChoice(mode="tool", name="get_time"),
            {"type": "function", "function": {"name": "get_time"}},
        ),
    ],
)
def test_openai_tool_choice(choice: ToolChoice, expected: object) -> None:
    request = _request(tools=[WEATHER, TIME], tool_choice=choice, parallel_tool_calls=False)
    params = OpenAIProvider._params(request, "gpt-4.1")
    assert params["tool_choice"] == expected
    assert params["parallel_tool_calls"] is False


def test_openai_stop_seed_and_response_formats() -> None:
    params = OpenAIProvider._params(
        _request(
            stop=["END", "\n\n"],
            seed=7,
            response_format=ResponseFormat(
                type="json_schema", name="person", json_schema=SCHEMA, strict=True
            ),
        ),
        "gpt-4.1",
    )
    assert params["stop"] == ["END", "\n\n"] and params["seed"] == 7
    assert params["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "person", "schema": SCHEMA, "strict": True},
    }
    plain = OpenAIProvider._params(
        _request(response_format=ResponseFormat(type="json_object")), "gpt-4.1"
    )
    assert plain["response_format"] == {"type": "json_object"}
    bare = OpenAIProvider._params(_request(), "gpt-4.1")
    assert not {"stop", "seed", "response_format", "tools"} & set(bare)


# --- Anthropic --------------------------------------------------------------------------


def test_anthropic_agent_loop() -> None:
    params = AnthropicProvider._params(_request(tools=[WEATHER, TIME]), "claude-sonnet-4-6")
    assert params["messages"] == [
        {"role": "user", "content": "Weather and time in Paris?"},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "call_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
                {"type": "tool_use", "id": "call_2", "name": "get_time", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "18C, sunny"},
                {
                    "type": "tool_result",
                    "tool_use_id": "call_2",
                    "content": "clock broke",
                    "is_error": True,
                },
                {"type": "text", "text": "Be brief."},
            ],
        },
        {"role": "assistant", "content": "18C and sunny; no time."},
        {"role": "user", "content": "Thanks"},
    ]
    assert [t["name"] for t in params["tools"]] == ["get_weather", "get_time"]
    assert params["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "tool_choice" not in params


def test_anthropic_merges_consecutive_turns_of_one_role_results_first() -> None:
    request = _request(
        messages=[
            ChatMessage(
                role="assistant",
                tool_calls=[ToolCall(id="t1", name="get_time")],
            ),
            ChatMessage(role="user", content="Here you go."),
            ChatMessage(role="user", tool_results=[ToolResult(tool_call_id="t1", content="noon")]),
        ]
    )
    messages = AnthropicProvider._params(request, "claude-sonnet-4-6")["messages"]
    assert [m["role"] for m in messages] == ["assistant", "user"]
    assert messages[1]["content"] == [
        {"type": "tool_result", "tool_use_id": "t1", "content": "noon"},
        {"type": "text", "text": "Here you go."},
    ]


def test_anthropic_assistant_text_with_calls_and_a_long_first_turn_keeps_its_cache_mark() -> None:
    document = "word " * 5000
    request = _request(
        messages=[
            ChatMessage(role="user", content=document, images=[ImagePart(url=URL)]),
            ChatMessage(
                role="assistant",
                content="Let me look.",
                tool_calls=[ToolCall(id="t1", name="get_time")],
            ),
            ChatMessage(role="user", tool_results=[ToolResult(tool_call_id="t1", content="noon")]),
        ]
    )
    messages = AnthropicProvider._params(request, "claude-sonnet-4-6")["messages"]
    first = messages[0]["content"]
    assert first[0] == {"type": "text", "text": document}
    assert first[-1]["type"] == "image" and first[-1]["cache_control"] == {"type": "ephemeral"}
    assert messages[1]["content"] == [
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "t1", "name": "get_time", "input": {}},
    ]


def test_anthropic_images_inline_and_by_url() -> None:
    content = AnthropicProvider._params(_images(), "claude-sonnet-4-6")["messages"][0]["content"]
    inline = {"type": "base64", "media_type": "image/png", "data": PNG}
    assert content == [
        {"type": "text", "text": "What is in these?"},
        {"type": "image", "source": inline},
        {"type": "image", "source": {"type": "url", "url": URL}},
        {"type": "image", "source": inline},  # a data: URL travels as its bytes
    ]


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        (ToolChoice(mode="auto"), None, {"type": "auto"}),
        (ToolChoice(mode="none"), None, {"type": "none"}),
        (ToolChoice(mode="required"), None, {"type": "any"}),
        (
            ToolChoice(mode="tool", name="get_time"),
            False,
            {"type": "tool", "name": "get_time", "disable_parallel_tool_use": True},
        ),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        (ToolChoice(mode="required"), True, {"type": "any"}),
    ],
)
def test_anthropic_tool_choice(choice: ToolChoice | None, parallel: bool | None, expected) -> None:
    request = _request(tools=[WEATHER, TIME], tool_choice=choice, parallel_tool_calls=parallel)
    assert AnthropicProvider._params(request, "claude-sonnet-4-6")["tool_choice"] == expected


def test_anthropic_stop_and_seed() -> None:
    params = AnthropicProvider._params(_request(stop=["END"], seed=7), "claude-sonnet-4-6")
    assert params["stop_sequences"] == ["END"]
    assert "seed" not in params and "seed" not in params.get("extra_body", {})


def test_anthropic_response_format_is_a_forced_tool() -> None:
    fmt = ResponseFormat(type="json_schema", name="person", json_schema=SCHEMA)
    params = AnthropicProvider._params(_request(response_format=fmt), "claude-sonnet-4-6")
    assert [(t["name"], t["input_schema"]) for t in params["tools"]] == [("person", SCHEMA)]
    assert params["tool_choice"] == {"type": "tool", "name": "person"}
    plain = AnthropicProvider._params(
        _request(response_format=ResponseFormat(type="json_object")), "claude-sonnet-4-6"
    )
    assert plain["tools"][0]["name"] == "response"
    assert plain["tools"][0]["input_schema"] == {"type": "object"}
    text = AnthropicProvider._params(
        _request(response_format=ResponseFormat(type="text")), "claude-sonnet-4-6"
    )
    assert "tools" not in text


def test_anthropic_refuses_a_response_format_with_tools() -> None:
    fmt = ResponseFormat(type="json_schema", json_schema=SCHEMA)
    with pytest.raises(BadRequest, match="response_format") as info:
        AnthropicProvider._params(_request(tools=[WEATHER], response_format=fmt), "m")
    assert info.value.provider == "anthropic" and not info.value.retryable


# --- Gemini -----------------------------------------------------------------------------


def _dump(content: types.Content) -> dict[str, Any]:
    return content.model_dump(exclude_none=True)


def test_gemini_agent_loop() -> None:
    contents, config = GoogleProvider._args(_request(tools=[WEATHER, TIME], system="Sys"))
    assert [c.role for c in contents] == ["user", "model", "user", "model", "user"]
    assert _dump(contents[1])["parts"] == [
        {"function_call": {"id": "call_1", "name": "get_weather", "args": {"city": "Paris"}}},
        {"function_call": {"id": "call_2", "name": "get_time", "args": {}}},
    ]
    assert _dump(contents[2])["parts"] == [
        {
            "function_response": {
                "id": "call_1",
                "name": "get_weather",  # found by id among the earlier calls
                "response": {"output": "18C, sunny"},
            }
        },
        {
            "function_response": {
                "id": "call_2",
                "name": "get_time",
                "response": {"error": "clock broke"},
            }
        },
        {"text": "Be brief."},
    ]
    assert config.system_instruction == "Sys"
    assert config.tools is not None
    tool = config.tools[0]
    assert isinstance(tool, types.Tool) and tool.function_declarations
    declarations = tool.function_declarations
    assert [(d.name, d.parameters_json_schema) for d in declarations] == [
        ("get_weather", WEATHER.input_schema),
        ("get_time", TIME.input_schema),
    ]
    assert config.tool_config is None


def test_gemini_tool_result_name_comes_from_the_result_or_is_refused() -> None:
    named = _request(
        messages=[
            ChatMessage(
                role="user", tool_results=[ToolResult(tool_call_id="x", content="1", name="calc")]
            )
        ]
    )
    contents, _ = GoogleProvider._args(named)
    part = contents[0].parts[0] if contents[0].parts else None
    assert part is not None and part.function_response is not None
    assert part.function_response.name == "calc"
    orphan = _request(
        messages=[ChatMessage(role="user", tool_results=[ToolResult(tool_call_id="x")])]
    )
    with pytest.raises(BadRequest, match="'x'"):
        GoogleProvider._args(orphan)


def test_gemini_images_inline_and_by_url() -> None:
    contents, _ = GoogleProvider._args(_images())
    raw = base64.b64decode(PNG)
    assert _dump(contents[0])["parts"] == [
        {"text": "What is in these?"},
        {"inline_data": {"mime_type": "image/png", "data": raw}},
        {"file_data": {"file_uri": URL, "mime_type": "image/jpeg"}},
        {"inline_data": {"mime_type": "image/png", "data": raw}},
    ]


@pytest.mark.parametrize(
    ("choice", "mode", "names"),
    [
        (ToolChoice(mode="auto"), "AUTO", None),
        (ToolChoice(mode="none"), "NONE", None),
        (ToolChoice(mode="required"), "ANY", None),
        (ToolChoice(mode="tool", name="get_time"), "ANY", ["get_time"]),
    ],
)
def test_gemini_tool_choice(choice: ToolChoice, mode: str, names: list[str] | None) -> None:
    _, config = GoogleProvider._args(_request(tools=[WEATHER, TIME], tool_choice=choice))
    assert config.tool_config is not None
    calling = config.tool_config.function_calling_config
    assert calling is not None and calling.mode == types.FunctionCallingConfigMode(mode)
    assert calling.allowed_function_names == names


def test_gemini_stop_seed_and_response_formats() -> None:
    fmt = ResponseFormat(type="json_schema", name="person", json_schema=SCHEMA)
    _, config = GoogleProvider._args(_request(stop=["END"], seed=7, response_format=fmt))
    assert config.stop_sequences == ["END"] and config.seed == 7
    assert config.response_mime_type == "application/json"
    assert config.response_json_schema == SCHEMA
    _, plain = GoogleProvider._args(_request(response_format=ResponseFormat(type="json_object")))
    assert plain.response_mime_type == "application/json" and plain.response_json_schema is None
    _, bare = GoogleProvider._args(_request())
    assert bare.stop_sequences is None and bare.seed is None and bare.response_mime_type is None
    assert bare.tools is None


def test_gemini_parses_function_calls_and_makes_up_missing_ids() -> None:
    from agentqueue.core.llm.providers.google import _calls, _text

    response = types.GenerateContentResponse(
        candidates=[
            types.Candidate(
                content=types.Content(
                    role="model",
                    parts=[
                        types.Part(text="Checking."),
                        types.Part(
                            function_call=types.FunctionCall(
                                name="get_weather", args={"city": "Oslo"}
                            )
                        ),
                        types.Part(function_call=types.FunctionCall(id="g1", name="get_time")),
                    ],
                )
            )
        ]
    )
    calls = _calls(response)
    assert [(c.name, c.arguments) for c in calls] == [
        ("get_weather", {"city": "Oslo"}),
        ("get_time", {}),
    ]
    assert calls[0].id.startswith("call_") and len(calls[0].id) > 8 and calls[1].id == "g1"
    assert _text(response) == "Checking."


# --- shared parts -----------------------------------------------------------------------


def test_shared_parts() -> None:
    names = parts.tool_names_by_id(LOOP)
    assert names == {"call_1": "get_weather", "call_2": "get_time"}
    result = ToolResult(tool_call_id="call_2")
    assert parts.tool_result_name(result, names, provider="p", model="m") == "get_time"
    assert parts.image_url(ImagePart(media_type="image/gif", data="R0lG")) == (
        "data:image/gif;base64,R0lG"
    )
    assert parts.inline_image(ImagePart(url=URL)) is None
    assert parts.inline_image(ImagePart(url="data:image/webp;base64,AAAA")) == (
        "image/webp",
        "AAAA",
    )
    with pytest.raises(BadRequest):
        parts.image_bytes(
            ImagePart(media_type="image/png", data="*notb64*"), provider="p", model="m"
        )
    fmt = ResponseFormat(type="json_schema", name="person", json_schema=SCHEMA)
    assert parts.format_tool(fmt) == ToolSpec(
        name="person", description=parts.format_tool(fmt).description, input_schema=SCHEMA
    )
    assert not parts.wants_json(ResponseFormat(type="text")) and parts.wants_json(fmt)


def test_anthropic_format_tool_input_becomes_the_answer_text() -> None:
    from anthropic.types import Message

    message = Message.model_validate(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-6",
            "content": [
                {
                    "type": "tool_use",
                    "id": "t",
                    "name": "person",
                    "input": {"name": "Ada", "age": 36},
                }
            ],
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 5},
        }
    )
    provider = AnthropicProvider.__new__(AnthropicProvider)
    provider.config = ProviderConfig(name="anthropic", api_key="unused")
    fmt = ResponseFormat(type="json_schema", name="person", json_schema=SCHEMA)
    as_json = provider._completion(message, "m", None, _request(response_format=fmt))
    assert json.loads(as_json.text) == {"name": "Ada", "age": 36}
    assert as_json.tool_calls == [] and as_json.stop_reason == "end_turn"
    as_call = provider._completion(message, "m", None, _request(tools=[WEATHER]))
    assert as_call.text == "" and as_call.stop_reason == "tool_use"
    assert [(c.id, c.name, c.arguments) for c in as_call.tool_calls] == [
        ("t", "person", {"name": "Ada", "age": 36})
    ]


# --- sampling, thinking and the stop sequence that ended an answer ----------------------

ASK = [ChatMessage(role="user", content="Hi")]


def test_top_p_reaches_every_provider_and_top_k_those_that_have_it() -> None:
    request = _request(messages=ASK, temperature=0.3, top_p=0.9, top_k=40)
    openai_params = OpenAIProvider._params(request, "gpt-4.1")
    assert openai_params["top_p"] == 0.9 and openai_params["temperature"] == 0.3
    assert "top_k" not in openai_params  # Chat Completions has none
    claude = AnthropicProvider._params(request, "claude-sonnet-4-6")
    assert claude["extra_body"] == {"temperature": 0.3, "top_p": 0.9, "top_k": 40}
    _, config = GoogleProvider._args(request)
    assert (config.top_p, config.top_k, config.temperature) == (0.9, 40, 0.3)
    bare = _request(messages=ASK)
    assert "top_p" not in OpenAIProvider._params(bare, "gpt-4.1")
    assert "extra_body" not in AnthropicProvider._params(bare, "claude-sonnet-4-6")


def test_a_thinking_budget_reaches_claude_and_gemini_but_not_mid_tool_loop() -> None:
    request = CompletionRequest(messages=ASK, max_tokens=4000, thinking_budget=2048)
    params = AnthropicProvider._params(request, "claude-sonnet-4-6")
    assert params["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    _, config = GoogleProvider._args(request)
    assert config.thinking_config is not None
    assert config.thinking_config.thinking_budget == 2048
    assert "thinking" not in AnthropicProvider._params(_request(messages=ASK), "m")
    # the last turn carries tool results: the API would want the signed thinking back
    results = LOOP[:3]
    mid_loop = CompletionRequest(messages=results, max_tokens=4000, thinking_budget=2048)
    assert "thinking" not in AnthropicProvider._params(mid_loop, "claude-sonnet-4-6")
    forced = CompletionRequest(
        messages=ASK,
        max_tokens=4000,
        thinking_budget=2048,
        tools=[WEATHER],
        tool_choice=ToolChoice(mode="required"),
    )
    assert "thinking" not in AnthropicProvider._params(forced, "claude-sonnet-4-6")


def test_a_thinking_budget_must_leave_room_for_the_answer() -> None:
    with pytest.raises(ValueError, match="thinking_budget"):
        CompletionRequest(messages=ASK, max_tokens=2048, thinking_budget=2048)


def test_claudes_stop_sequence_is_kept_in_the_completion() -> None:
    from anthropic.types import Message

    message = Message.model_validate(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-6",
            "content": [{"type": "text", "text": "One, two"}],
            "stop_reason": "stop_sequence",
            "stop_sequence": "three",
            "usage": {"input_tokens": 10, "output_tokens": 5},
        }
    )
    provider = AnthropicProvider.__new__(AnthropicProvider)
    provider.config = ProviderConfig(name="anthropic", api_key="unused")
    completion = provider._completion(message, "m", None, _request(stop=["four", "three"]))
    assert completion.stop_reason == "stop_sequence" and completion.stop_sequence == "three"


def test_gemini_keeps_one_call_when_parallel_calls_are_off() -> None:
    response = types.GenerateContentResponse.model_validate(
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [
                            {"function_call": {"name": "get_weather", "args": {"city": "Paris"}}},
                            {"function_call": {"name": "get_time", "args": {}}},
                        ],
                    },
                    "finish_reason": "STOP",
                }
            ]
        }
    )
    provider = GoogleProvider.__new__(GoogleProvider)
    both = provider._completion(response, "", "gemini-2.5-pro")
    assert [c.name for c in both.tool_calls] == ["get_weather", "get_time"]
    one = provider._completion(response, "", "gemini-2.5-pro", parallel=False)
    assert [c.name for c in one.tool_calls] == ["get_weather"]
