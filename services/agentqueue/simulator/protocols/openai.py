"""OpenAI Chat Completions: ``POST /v1/chat/completions``, whole or streamed.

:func:`chat_completion` answers it for the route and for Azure's deployment routes
(``protocols/azure.py``)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from agentqueue.simulator.deployments import deployment_of
from agentqueue.simulator.engine import Admission, Refusal, Simulator, retry_after_header
from agentqueue.simulator.protocols.keys import bearer_token
from agentqueue.simulator.protocols.pacing import paced, paced_calls, whole_answer_delay
from agentqueue.simulator.tool_turns import Extras, Tool, ToolResult, call_spans

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


def _turn_text(message: dict[str, Any]) -> str:
    """A message's text with the tool calls it makes, as the prompt holds them."""
    calls = [c.get("function") or {} for c in message.get("tool_calls") or []]
    said = "".join(f"{c.get('name', '')}({c.get('arguments', '')})" for c in calls)
    return _text_of(message.get("content")) + said


def _parse(body: dict[str, Any]) -> tuple[str, str | None, list[str], int]:
    system_parts: list[str] = []
    turns: list[str] = []
    for m in body.get("messages", []):
        text = _turn_text(m)
        (system_parts if m.get("role") in ("system", "developer") else turns).append(text)
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or 1024
    return (str(body.get("model", "")), "\n".join(system_parts) or None, turns, int(max_tokens))


def _extras(body: dict[str, Any]) -> Extras:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    functions = [t.get("function") or {} for t in body.get("tools") or [] if isinstance(t, dict)]
    tools = tuple(Tool(f["name"], f.get("parameters") or {}) for f in functions if f.get("name"))
    choice = body.get("tool_choice")
    forced = (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
    names = {
        call.get("id"): (call.get("function") or {}).get("name")
        for m in messages
        for call in m.get("tool_calls") or []
    }
    results: list[ToolResult] = []
    for m in reversed(messages):
        if m.get("role") != "tool":
            break
        call_id = str(m.get("tool_call_id", ""))
        results.insert(0, ToolResult(names.get(call_id) or call_id, _text_of(m.get("content"))))
    fmt = body.get("response_format") or {}
    stop = body.get("stop") or ()
    images = sum(
        1
        for m in messages
        if isinstance(m.get("content"), list)
        for part in m["content"]
        if isinstance(part, dict) and part.get("type") in ("image_url", "input_image", "file")
    )
    return Extras(
        tools=tools,
        no_tools=choice == "none",
        forced_tool=forced,
        parallel=body.get("parallel_tool_calls") is not False,
        results=tuple(results),
        json_output=fmt.get("type") in ("json_object", "json_schema"),
        output_schema=(fmt.get("json_schema") or {}).get("schema"),
        stop=(stop,) if isinstance(stop, str) else tuple(stop),
        images=images,
        tools_text=json.dumps(body["tools"], sort_keys=True) if body.get("tools") else "",
    )


def _finish_reason(a: Admission) -> str:
    return "tool_calls" if a.tool_call else "length" if a.stop_reason_max else "stop"


def _message(a: Admission) -> dict[str, Any]:
    if not a.tool_calls:
        return {"role": "assistant", "content": "".join(a.reply), "refusal": None}
    return {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "tool_calls": [
            {
                "id": f"call_{call.id}",
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in a.tool_calls
        ],
    }


def _usage(a: Admission, output_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": a.input_tokens,
        "completion_tokens": output_tokens,
        "total_tokens": a.input_tokens + output_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


async def chat_completion(
    sim: Simulator, body: dict[str, Any], key: str | None, deployment: str | None = None
) -> Response:
    """One Chat Completions call, whole or streamed, as the provider answers it: the
    route's, and Azure's (whose deployment name is the model) through it."""
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
        headers = sim.limits(PROVIDER, key, model, deployment).openai_headers() if key else {}
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
    headers = sim.limits(PROVIDER, decision.key, model, deployment).openai_headers()
    return JSONResponse(completion(decision), headers=headers)


def completion(a: Admission) -> dict[str, Any]:
    """A whole ``chat.completion`` object: the route's answer, and a batch request's."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": a.model,
        "choices": [
            {
                "index": 0,
                "logprobs": None,
                "finish_reason": _finish_reason(a),
                "message": _message(a),
            }
        ],
        "usage": _usage(a, a.output_tokens),
    }


def router(sim: Simulator) -> APIRouter:
    api = APIRouter()

    @api.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        body = await request.json()
        return await chat_completion(sim, body, bearer_token(request), deployment_of(request))

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

    def announce(k: int) -> bytes:
        """A call's first delta: its index, id and name (the first with the role)."""
        call = a.tool_calls[k]
        head = {"index": k, "id": f"call_{call.id}", "type": "function"}
        function = {"name": call.name, "arguments": ""}
        delta: dict[str, Any] = {"tool_calls": [{**head, "function": function}]}
        if k == 0:
            delta = {"role": "assistant", "content": None, **delta}
        return chunk(delta)

    if not a.tool_calls:
        yield chunk({"role": "assistant", "content": ""})
        pieces: AsyncIterator[tuple[int, str, int]] = _as_text(paced(a))
        announced = 0
    else:
        yield announce(0)
        pieces = paced_calls(a, call_spans(a.tool_calls))
        announced = 1  # calls whose first delta has been sent

    sent = 0
    fail = sim.mid_stream_failure(a)
    async for k, piece, tokens in pieces:
        if not a.tool_calls:
            yield chunk({"content": piece})
        else:
            while announced <= k:
                yield announce(announced)
                announced += 1
            yield chunk({"tool_calls": [{"index": k, "function": {"arguments": piece}}]})
        sent += tokens
        if fail:
            sim.finish(a, status=500, output_tokens=sent)
            error = _error("server_error", "the server had an error (simulated, mid-stream)")
            yield f"data: {json.dumps(error)}\n\n".encode()
            return
    while announced < len(a.tool_calls):
        yield announce(announced)
        announced += 1
    yield chunk({}, _finish_reason(a))
    if include_usage:
        yield f"data: {json.dumps({**base, 'choices': [], 'usage': _usage(a, sent)})}\n\n".encode()
    yield b"data: [DONE]\n\n"
    sim.finish(a)


async def _as_text(pieces: AsyncIterator[tuple[str, int]]) -> AsyncIterator[tuple[int, str, int]]:
    async for piece, tokens in pieces:
        yield 0, piece, tokens
