"""Anthropic Messages: ``POST /v1/messages`` (whole or SSE) and ``/count_tokens``."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from agentqueue.simulator.engine import Admission, Refusal, Simulator, retry_after_header
from agentqueue.simulator.prompt_cache import CacheUsage, PrefixHasher
from agentqueue.simulator.protocols.keys import bearer_token
from agentqueue.simulator.protocols.pacing import paced, whole_answer_delay
from agentqueue.simulator.text import estimate_tokens

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
    return "".join(b.get("text", "") for b in content or [] if isinstance(b, dict))


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
    tools = body.get("tools") or []
    if tools:
        text = json.dumps(tools, sort_keys=True)
        prefixes.add(text, estimate_tokens([text]), _marked(tools))
    system = body.get("system")
    if system:
        text = _text_of(system)
        prefixes.add(text, estimate_tokens([text]), _marked(system))
    for message in body.get("messages", []):
        text = _text_of(message.get("content"))
        prefixes.add(text, estimate_tokens([text]), _marked(message.get("content")))
    # the same estimate as the admission's, plus the tool definitions
    return sim.prompt_cache.account(a.key, a.model, prefixes.marks, prefixes.tokens)


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
        _, system, turns, _ = _parse(await request.json())
        return {"input_tokens": estimate_tokens([system, *turns] if system else turns)}

    @api.post("/v1/messages")
    async def messages(request: Request) -> Response:
        body = await request.json()
        model, system, turns, max_tokens = _parse(body)
        stream = bool(body.get("stream"))
        key = _key(request)
        decision = sim.admit(PROVIDER, key, model, system, turns, max_tokens, stream=stream)
        if isinstance(decision, Refusal):
            headers = sim.limits(PROVIDER, key, model).anthropic_headers() if key else {}
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
        headers = sim.limits(PROVIDER, decision.key, model).anthropic_headers()
        return JSONResponse(
            {
                "id": f"msg_{uuid.uuid4().hex[:24]}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": "".join(decision.reply)}],
                "stop_reason": "max_tokens" if decision.stop_reason_max else "end_turn",
                "stop_sequence": None,
                "usage": _usage(decision, decision.output_tokens, cache),
            },
            headers=headers,
        )

    return api


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
    yield _sse(
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    )
    sent = 0
    fail = sim.mid_stream_failure(a)
    async for piece, tokens in paced(a):
        yield _sse(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": piece},
            },
        )
        sent += tokens
        if fail:
            sim.finish(a, status=529, output_tokens=sent)
            yield _sse("error", _error("overloaded", "Overloaded (simulated, mid-stream)"))
            return
    yield _sse("content_block_stop", {"type": "content_block_stop", "index": 0})
    yield _sse(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {
                "stop_reason": "max_tokens" if a.stop_reason_max else "end_turn",
                "stop_sequence": None,
            },
            "usage": {"output_tokens": a.output_tokens},
        },
    )
    yield _sse("message_stop", {"type": "message_stop"})
    sim.finish(a)
