"""OpenAI Chat Completions: ``POST /v1/chat/completions``, whole or streamed."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from agentqueue.simulator.engine import Admission, Refusal, Simulator, retry_after_header
from agentqueue.simulator.protocols.keys import bearer_token
from agentqueue.simulator.protocols.pacing import paced, whole_answer_delay

PROVIDER = "openai"
_ERRORS = {
    "auth": ("invalid_request_error", "invalid_api_key"),
    "rate_limit": ("tokens", "rate_limit_exceeded"),
    "overloaded": ("server_error", "overloaded"),
    "server_error": ("server_error", None),
    "too_long": ("invalid_request_error", "context_length_exceeded"),
}


def _error(kind: str, message: str) -> dict[str, Any]:
    type_, code = _ERRORS.get(kind, ("server_error", None))
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content or [] if isinstance(p, dict))


def _parse(body: dict[str, Any]) -> tuple[str, str | None, list[str], int]:
    system_parts: list[str] = []
    turns: list[str] = []
    for m in body.get("messages", []):
        text = _text_of(m.get("content"))
        (system_parts if m.get("role") in ("system", "developer") else turns).append(text)
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or 1024
    return (str(body.get("model", "")), "\n".join(system_parts) or None, turns, int(max_tokens))


def _usage(a: Admission, output_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": a.input_tokens,
        "completion_tokens": output_tokens,
        "total_tokens": a.input_tokens + output_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


def router(sim: Simulator) -> APIRouter:
    api = APIRouter()

    @api.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        body = await request.json()
        model, system, turns, max_tokens = _parse(body)
        stream = bool(body.get("stream"))
        key = bearer_token(request)
        decision = sim.admit(PROVIDER, key, model, system, turns, max_tokens, stream=stream)
        if isinstance(decision, Refusal):
            headers = sim.limits(PROVIDER, key, model).openai_headers() if key else {}
            return JSONResponse(
                _error(decision.kind, decision.message),
                status_code=decision.status,
                headers={**headers, **retry_after_header(decision)},
            )
        headers = decision.limits.openai_headers()
        if stream:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(
                _stream(sim, decision, include_usage),
                media_type="text/event-stream",
                headers=headers,
            )
        await whole_answer_delay(decision)
        sim.finish(decision)
        # a whole answer's headers describe the key as the answer leaves, as providers do
        headers = sim.limits(PROVIDER, decision.key, model).openai_headers()
        return JSONResponse(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "logprobs": None,
                        "finish_reason": "length" if decision.stop_reason_max else "stop",
                        "message": {
                            "role": "assistant",
                            "content": "".join(decision.reply),
                            "refusal": None,
                        },
                    }
                ],
                "usage": _usage(decision, decision.output_tokens),
            },
            headers=headers,
        )

    return api


async def _stream(sim: Simulator, a: Admission, include_usage: bool) -> AsyncIterator[bytes]:
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": a.model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        data = {
            **base,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        return f"data: {json.dumps(data)}\n\n".encode()

    yield chunk({"role": "assistant", "content": ""})
    sent = 0
    fail = sim.mid_stream_failure(a)
    async for piece, tokens in paced(a):
        yield chunk({"content": piece})
        sent += tokens
        if fail:
            sim.finish(a, status=500, output_tokens=sent)
            error = _error("server_error", "the server had an error (simulated, mid-stream)")
            yield f"data: {json.dumps(error)}\n\n".encode()
            return
    yield chunk({}, "length" if a.stop_reason_max else "stop")
    if include_usage:
        yield f"data: {json.dumps({**base, 'choices': [], 'usage': _usage(a, sent)})}\n\n".encode()
    yield b"data: [DONE]\n\n"
    sim.finish(a)
