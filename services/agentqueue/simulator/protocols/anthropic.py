"""Anthropic Messages: ``POST /v1/messages`` (whole or SSE) and ``/count_tokens``."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from agentqueue.simulator.deployments import deployment_of
from agentqueue.simulator.engine import (
    Admission,
    Refusal,
    Simulator,
    input_estimate,
    retry_after_header,
)
from agentqueue.simulator.prompt_cache import CacheUsage, PrefixHasher
from agentqueue.simulator.protocols.keys import bearer_token
from agentqueue.simulator.protocols.pacing import paced, paced_calls, whole_answer_delay
from agentqueue.simulator.text import estimate_tokens
from agentqueue.simulator.tool_turns import Extras, Tool, ToolResult, call_spans

PROVIDER = "anthropic"
_ERROR_TYPES = {
    "auth": "authentication_error",
    "rate_limit": "rate_limit_error",
    "overloaded": "overloaded_error",
    "server_error": "api_error",
    "too_long": "invalid_request_error",
}


def _error(kind: str, message: str) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": _ERROR_TYPES.get(kind, "api_error"), "message": message},
    }


def _refuse(r: Refusal, headers: dict[str, str]) -> Response:
    return JSONResponse(
        _error(r.kind, r.message),
        status_code=r.status,
        headers={**headers, **retry_after_header(r)},
    )


def _key(request: Request) -> str | None:
    """``x-api-key``, or ``Authorization: Bearer`` as newer SDKs send the key."""
    return request.headers.get("x-api-key") or bearer_token(request)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(_block_text(b) for b in content or [] if isinstance(b, dict))


def _block_text(block: dict[str, Any]) -> str:
    """A block's text; a tool call's and a tool result's count as text too."""
    if block.get("type") == "tool_use":
        return f"{block.get('name', '')}({json.dumps(block.get('input'), sort_keys=True)})"
    if block.get("type") == "tool_result":
        return _text_of(block.get("content"))
    return str(block.get("text", ""))


def _images(content: Any) -> int:
    """Images and documents in a turn, those inside tool results too."""
    if not isinstance(content, list):
        return 0
    return sum(
        1 if b.get("type") in ("image", "document") else _images(b.get("content"))
        for b in content
        if isinstance(b, dict)
    )


def _extras(body: dict[str, Any]) -> Extras:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    raw_tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
    choice = body.get("tool_choice") or {}
    names = {
        b.get("id"): b.get("name")
        for m in messages
        if isinstance(m.get("content"), list)
        for b in m["content"]
        if isinstance(b, dict) and b.get("type") == "tool_use"
    }
    last = messages[-1] if messages else {}
    results = tuple(
        ToolResult(
            names.get(b.get("tool_use_id")) or str(b.get("tool_use_id", "")),
            _text_of(b.get("content")),
            bool(b.get("is_error")),
        )
        for b in (last.get("content") if last.get("role") == "user" else None) or []
        if isinstance(b, dict) and b.get("type") == "tool_result"
    )
    return Extras(
        tools=tuple(
            Tool(t["name"], t.get("input_schema") or {}) for t in raw_tools if t.get("name")
        ),
        no_tools=choice.get("type") == "none",
        forced_tool=choice.get("name") if choice.get("type") == "tool" else None,
        parallel=not choice.get("disable_parallel_tool_use"),
        results=results,
        stop=tuple(body.get("stop_sequences") or ()),
        images=sum(_images(m.get("content")) for m in messages),
        tools_text=json.dumps(raw_tools, sort_keys=True) if raw_tools else "",
    )


def _stop_reason(a: Admission) -> str:
    if a.tool_call is not None:
        return "tool_use"
    if a.stop_sequence is not None:
        return "stop_sequence"
    return "max_tokens" if a.stop_reason_max else "end_turn"


def _content(a: Admission) -> list[dict[str, Any]]:
    if not a.tool_calls:
        return [{"type": "text", "text": "".join(a.reply)}]
    return [
        {"type": "tool_use", "id": f"toolu_{call.id}", "name": call.name, "input": call.args}
        for call in a.tool_calls
    ]


def _parse(body: dict[str, Any]) -> tuple[str, str | None, list[str], int]:
    system = body.get("system")
    if isinstance(system, list):
        system = _text_of(system)
    turns = [_text_of(m.get("content")) for m in body.get("messages", [])]
    return str(body.get("model", "")), system, turns, int(body.get("max_tokens", 1024))


def _marked(content: Any) -> bool:
    return isinstance(content, list) and any(
        isinstance(b, dict) and b.get("cache_control") for b in content
    )


def _prompt_cache(sim: Simulator, a: Admission, body: dict[str, Any]) -> CacheUsage:
    """Split the input into plain, cache-written and cache-read tokens (tools count too)."""
    prefixes = PrefixHasher()
    counter = sim.counter(PROVIDER, a.model)
    tools = body.get("tools") or []
    if tools:
        text = json.dumps(tools, sort_keys=True)
        prefixes.add(text, estimate_tokens([text], counter), _marked(tools))
    system = body.get("system")
    if system:
        text = _text_of(system)
        prefixes.add(text, estimate_tokens([text], counter), _marked(system))
    for message in body.get("messages", []):
        text = _text_of(message.get("content"))
        prefixes.add(text, estimate_tokens([text], counter), _marked(message.get("content")))
    # the admission's estimate: the same texts and tool definitions, plus images
    return sim.prompt_cache.account(a.key, a.model, prefixes.marks, a.input_tokens)


def _usage(a: Admission, output_tokens: int, cache: CacheUsage | None = None) -> dict[str, int]:
    cache = cache or CacheUsage(a.input_tokens, 0, 0)
    return {
        "input_tokens": cache.input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": cache.cache_write_tokens,
        "cache_read_input_tokens": cache.cache_read_tokens,
    }


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def router(sim: Simulator) -> APIRouter:
    api = APIRouter()

    @api.post("/v1/messages/count_tokens")
    async def count_tokens(request: Request) -> dict[str, int]:
        body = await request.json()
        model, system, turns, _ = _parse(body)
        counter = sim.counter(PROVIDER, model)
        return {"input_tokens": input_estimate(system, turns, _extras(body), counter)}

    @api.post("/v1/messages")
    async def messages(request: Request) -> Response:
        body = await request.json()
        return await message(sim, body, _key(request), deployment_of(request))

    return api


async def message(
    sim: Simulator, body: dict[str, Any], key: str | None, deployment: str | None = None
) -> Response:
    """One Messages call, whole or SSE, as Anthropic answers it: the route's, and Bedrock's
    and Vertex's (``protocols/bedrock.py``, ``protocols/vertex.py``) through it."""
    model, system, turns, max_tokens = _parse(body)
    stream = bool(body.get("stream"))
    decision = sim.admit(
        PROVIDER,
        key,
        model,
        system,
        turns,
        max_tokens,
        stream=stream,
        extras=_extras(body),
        deployment=deployment,
    )
    if isinstance(decision, Refusal):
        headers = sim.limits(PROVIDER, key, model, deployment).anthropic_headers() if key else {}
        return _refuse(decision, headers)
    headers = decision.limits.anthropic_headers()
    cache = _prompt_cache(sim, decision, body)
    if stream:
        return StreamingResponse(
            _stream(sim, decision, cache), media_type="text/event-stream", headers=headers
        )
    await whole_answer_delay(decision)
    sim.finish(decision)
    # a whole answer's headers describe the key as the answer leaves, as providers do
    headers = sim.limits(PROVIDER, decision.key, model, deployment).anthropic_headers()
    return JSONResponse(message_body(decision, cache), headers=headers)


def message_body(a: Admission, cache: CacheUsage) -> dict[str, Any]:
    """A whole ``message`` object: the route's answer, and a batch request's."""
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": a.model,
        "content": _content(a),
        "stop_reason": _stop_reason(a),
        "stop_sequence": a.stop_sequence,
        "usage": _usage(a, a.output_tokens, cache),
    }


async def _stream(sim: Simulator, a: Admission, cache: CacheUsage) -> AsyncIterator[bytes]:
    yield _sse(
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": f"msg_{uuid.uuid4().hex[:24]}",
                "type": "message",
                "role": "assistant",
                "model": a.model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": _usage(a, 1, cache),
            },
        },
    )

    def start(index: int) -> bytes:
        block: dict[str, Any] = {"type": "text", "text": ""}
        if a.tool_calls:
            call = a.tool_calls[index]
            block = {"type": "tool_use", "id": f"toolu_{call.id}", "name": call.name, "input": {}}
        return _sse(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": block},
        )

    def stop(index: int) -> bytes:
        return _sse("content_block_stop", {"type": "content_block_stop", "index": index})

    calls = bool(a.tool_calls)
    pieces = paced_calls(a, call_spans(a.tool_calls)) if calls else _as_text(paced(a))
    blocks = max(1, len(a.tool_calls))
    yield start(0)
    opened = 1  # blocks started; each one before the last is stopped when the next starts
    sent = 0
    fail = sim.mid_stream_failure(a)
    async for k, piece, tokens in pieces:
        while opened <= k:
            if opened:
                yield stop(opened - 1)
            yield start(opened)
            opened += 1
        delta = (
            {"type": "input_json_delta", "partial_json": piece}
            if a.tool_calls
            else {"type": "text_delta", "text": piece}
        )
        yield _sse(
            "content_block_delta", {"type": "content_block_delta", "index": k, "delta": delta}
        )
        sent += tokens
        if fail:
            sim.finish(a, status=529, output_tokens=sent)
            yield _sse("error", _error("overloaded", "Overloaded (simulated, mid-stream)"))
            return
    while opened < blocks:
        if opened:
            yield stop(opened - 1)
        yield start(opened)
        opened += 1
    yield stop(blocks - 1)
    yield _sse(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": _stop_reason(a), "stop_sequence": a.stop_sequence},
            "usage": {"output_tokens": a.output_tokens},
        },
    )
    yield _sse("message_stop", {"type": "message_stop"})
    sim.finish(a)


async def _as_text(pieces: AsyncIterator[tuple[str, int]]) -> AsyncIterator[tuple[int, str, int]]:
    async for piece, tokens in pieces:
        yield 0, piece, tokens
