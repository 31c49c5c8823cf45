"""Forwarding a provider's SSE bytes (``core/llm/providers/passthrough.py``), read by hand.

The gateway-level behaviour is in ``tests/gateway/test_stream_passthrough.py``; these pin
what the simulator cannot provoke: reads split anywhere, CRLF events, an error event
before the first token (nothing forwarded, so the chain may fall back).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agentqueue.core.llm.providers.passthrough import (
    OPENAI_USAGE_EVENT,
    StreamError,
    anthropic_answer,
    anthropic_opening,
    anthropic_text,
    forward,
    openai_answer,
    openai_opening,
    openai_text,
)


def _sse(*chunks: dict[str, Any], sep: str = "\n\n") -> bytes:
    return "".join(f"data: {json.dumps(c)}{sep}" for c in chunks).encode() + b"data: [DONE]\n\n"


ROLE = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
HELLO = {"choices": [{"index": 0, "delta": {"content": "Hello"}}]}
END = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
USAGE = {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 1}}


async def _reads(raw: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(raw), size):
        yield raw[i : i + size]


async def _forwarded(raw: bytes, size: int, **how: Any) -> tuple[bytes, list[bytes]]:
    kept: list[bytes] = []
    out = [d async for d in forward(_reads(raw, size), kept, **how)]
    return b"".join(out), kept


@pytest.mark.parametrize("size", [1, 7, 64, 10_000])
@pytest.mark.parametrize("sep", ["\n\n", "\r\n\r\n"])
async def test_the_usage_event_is_cut_out_wherever_reads_split(size: int, sep: str) -> None:
    raw = _sse(ROLE, HELLO, END, USAGE, sep=sep)
    out, kept = await _forwarded(raw, size, opening=openai_opening, cut=OPENAI_USAGE_EVENT)
    assert b"".join(kept) == raw  # everything read is kept for the end
    assert b"usage" not in out and out.endswith(b"data: [DONE]\n\n") and b"Hello" in out
    answer = openai_answer(raw, "gpt-4.1", lambda: "call_x")
    assert answer.text == "Hello" and answer.usage.output_tokens == 1


@pytest.mark.parametrize("size", [3, 10_000])
async def test_without_a_cut_every_byte_is_forwarded(size: int) -> None:
    raw = _sse(ROLE, HELLO, END, USAGE)
    out, _ = await _forwarded(raw, size, opening=openai_opening)
    assert out == raw


async def test_an_error_before_the_first_token_forwards_nothing() -> None:
    error = {"error": {"message": "overloaded", "type": "server_error"}}
    kept: list[bytes] = []
    out: list[bytes] = []
    with pytest.raises(StreamError) as info:
        async for data in forward(_reads(_sse(ROLE, error), 5), kept, opening=openai_opening):
            out.append(data)
    assert out == [] and not info.value.forwarded and info.value.message == "overloaded"
    claude = (
        b'event: message_start\ndata: {"type": "message_start", "message": {}}\n\n'
        b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", '
        b'"message": "busy"}}\n\n'
    )
    with pytest.raises(StreamError):
        async for data in forward(_reads(claude, 11), [], opening=anthropic_opening):
            out.append(data)
    assert out == []


async def test_an_error_after_the_first_token_is_forwarded_and_raised_at_the_end() -> None:
    error = {"error": {"message": "mid-stream", "type": "server_error"}}
    raw = _sse(ROLE, HELLO, error)
    out, kept = await _forwarded(raw, 9, opening=openai_opening)
    assert b"mid-stream" in out
    with pytest.raises(StreamError) as info:
        openai_answer(b"".join(kept), "gpt-4.1", lambda: "call_x")
    assert info.value.forwarded


TOOL_PIECES = [
    {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "c1",
        "function": {"name": "f", "arguments": '{"a": '}}]}}]},
    {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0,
        "function": {"arguments": "1}"}}]}, "finish_reason": "tool_calls"}]},
]  # fmt: skip


@pytest.mark.parametrize("size", [1, 9, 10_000])
async def test_a_translated_openai_stream_yields_its_content_wherever_reads_split(
    size: int,
) -> None:
    raw = _sse(ROLE, HELLO, {"choices": [{"index": 0, "delta": {"content": " 世界"}}]},
               *TOOL_PIECES, USAGE)  # fmt: skip
    kept: list[bytes] = []
    texts = [d.text async for d in openai_text(_reads(raw, size), kept)]
    assert texts == ["Hello", " 世界"]  # the role chunk's "" and the tool pieces: no text
    assert b"".join(kept) == raw
    answer = openai_answer(raw, "gpt-4.1", lambda: "call_x")
    assert answer.text == "Hello 世界" and answer.usage.output_tokens == 1
    assert [(c.id, c.name, c.arguments) for c in answer.tool_calls] == [("c1", "f", {"a": 1})]


async def test_a_translated_openai_stream_raises_the_providers_error_chunk() -> None:
    failed = {"error": {"message": "The server had an error", "type": "server_error"}}
    raw = _sse(ROLE, HELLO, failed)
    texts: list[str] = []
    with pytest.raises(StreamError) as raised:
        async for delta in openai_text(_reads(raw, 5), []):
            texts.append(delta.text)
    assert texts == ["Hello"] and raised.value.message == "The server had an error"
    assert not raised.value.forwarded


ANTHROPIC_EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("message_start", {"message": {"model": "claude-x", "usage": {"input_tokens": 9}}}),
    ("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
    ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
    ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": " — 你好"}}),
    ("content_block_stop", {"index": 0}),
    (
        "content_block_start",
        {"index": 1, "content_block": {"type": "tool_use", "id": "t1", "name": "f"}},
    ),
    (
        "content_block_delta",
        {"index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"a": "Hi"}'}},
    ),
    ("message_delta", {"delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 5}}),
    ("message_stop", {}),
]


def _anthropic_sse(events: list[tuple[str, dict[str, Any]]], *, named: bool = True) -> bytes:
    return "".join(
        (f"event: {name}\n" if named else "") + f"data: {json.dumps({'type': name, **data})}\n\n"
        for name, data in events
    ).encode()


@pytest.mark.parametrize("size", [1, 5, 64, 10_000])
@pytest.mark.parametrize("named", [True, False])
async def test_a_translated_anthropic_stream_yields_its_text_wherever_reads_split(
    size: int, named: bool
) -> None:
    """Only text deltas become text (not a tool's input JSON, not a block's start);
    a multi-byte character split between two reads arrives whole; every read is kept
    for the answer at the end."""
    raw = _anthropic_sse(ANTHROPIC_EVENTS, named=named)
    kept: list[bytes] = []
    texts = [d.text async for d in anthropic_text(_reads(raw, size), kept)]
    assert texts == ["Hi", " — 你好"]
    assert b"".join(kept) == raw
    answer = anthropic_answer(raw, "claude-sonnet-4-6", lambda: "call_x")
    assert answer.text == "Hi — 你好" and answer.tool_calls[0].arguments == {"a": "Hi"}


async def test_a_translated_anthropic_stream_raises_the_providers_error_event() -> None:
    events = [
        *ANTHROPIC_EVENTS[:3],
        ("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}}),
    ]
    texts: list[str] = []
    with pytest.raises(StreamError) as raised:
        async for delta in anthropic_text(_reads(_anthropic_sse(events), 7), []):
            texts.append(delta.text)
    assert texts == ["Hi"]  # what came before the error was the caller's already
    assert raised.value.message == "Overloaded" and not raised.value.forwarded


def test_an_anthropic_stream_is_read_whole_with_its_tool_call() -> None:
    events = [
        ("message_start", {"message": {"model": "claude-x", "usage": {"input_tokens": 9}}}),
        ("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
        ("content_block_stop", {"index": 0}),
        (
            "content_block_start",
            {"index": 1, "content_block": {"type": "tool_use", "id": "t1", "name": "f"}},
        ),
        (
            "content_block_delta",
            {"index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"a": '}},
        ),
        (
            "content_block_delta",
            {"index": 1, "delta": {"type": "input_json_delta", "partial_json": "1}"}},
        ),
        ("message_delta", {"delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 5}}),
        ("message_stop", {}),
    ]
    raw = "".join(
        f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n" for name, data in events
    ).encode()
    answer = anthropic_answer(raw, "claude-sonnet-4-6", lambda: "call_x")
    assert answer.text == "Hi" and answer.model == "claude-x"
    assert [(c.id, c.name, c.arguments) for c in answer.tool_calls] == [("t1", "f", {"a": 1})]
    assert answer.usage.input_tokens == 9 and answer.usage.output_tokens == 5
    assert answer.stop_reason == "tool_use"


async def test_the_anthropic_body_carries_sampling_fields_not_extra_body() -> None:
    """The SDK merges ``extra_body`` into the JSON it sends; a pass-through body must do
    the same — a literal ``extra_body`` field is refused by the real Messages API (400,
    no fallback), although a lenient simulator takes it."""
    from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
    from agentqueue.core.llm.providers.anthropic import AnthropicProvider
    from agentqueue.core.llm.providers.base import Passthrough, ProviderConfig

    provider = AnthropicProvider(ProviderConfig("anthropic", api_key="k"))
    sent: dict[str, Any] = {}

    async def post(path: str, *, body: dict[str, Any], **_: Any) -> Any:
        sent.update(body)
        raise RuntimeError("stop here")

    provider._client.post = post  # type: ignore[method-assign]
    request = CompletionRequest(
        messages=[ChatMessage(role="user", content="hi")], temperature=0.2, top_p=0.9
    )
    with pytest.raises(RuntimeError):
        async for _ in provider.stream_raw(request, "claude-sonnet-4-6", Passthrough("anthropic")):
            pass
    assert "extra_body" not in sent
    assert sent["temperature"] == 0.2 and sent["stream"] is True
    await provider.aclose()


def test_a_malformed_event_is_the_providers_failure_not_an_escaped_exception() -> None:
    """Some OpenAI-compatible servers send a non-JSON ``data:`` line: that is a failed
    stream (translated, fallback before the first byte), not a JSONDecodeError."""
    with pytest.raises(StreamError):
        openai_opening(None, "not json {")
