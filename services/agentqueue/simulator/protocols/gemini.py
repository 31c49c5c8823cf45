"""Gemini: ``POST /v1beta/models/{model}:generateContent``, ``:streamGenerateContent``
(``alt=sse``) and ``:countTokens`` — under ``/v1`` too, which newer SDKs call."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from agentqueue.simulator.deployments import deployment_of
from agentqueue.simulator.engine import Admission, Refusal, Simulator, input_estimate
from agentqueue.simulator.protocols.pacing import paced, whole_answer_delay
from agentqueue.simulator.tool_turns import Extras, Tool, ToolResult

PROVIDER = "google"
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def _error(r: Refusal) -> dict[str, Any]:
    error: dict[str, Any] = {
        "code": r.status,
        "message": r.message,
        "status": _STATUS.get(r.status, "UNKNOWN"),
    }
    if r.retry_after is not None:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": f"{max(1, round(r.retry_after + 0.5))}s",
            }
        ]
    return {"error": error}


def _get(data: dict[str, Any], camel: str, snake: str) -> Any:
    """A field as the REST API names it, or as a client that sends snake case does."""
    return data.get(camel, data.get(snake))


def _parts(content: Any) -> list[dict[str, Any]]:
    if not isinstance(content, dict):
        return []
    return [p for p in content.get("parts") or [] if isinstance(p, dict)]


def _part_text(part: dict[str, Any]) -> str:
    """A part's text; a function call's and a function response's count as text too."""
    call = _get(part, "functionCall", "function_call")
    if isinstance(call, dict):
        return f"{call.get('name', '')}({json.dumps(call.get('args'), sort_keys=True)})"
    response = _get(part, "functionResponse", "function_response")
    if isinstance(response, dict):
        return f"{response.get('name', '')}: {_response_text(response.get('response'))}"
    return str(part.get("text", ""))


def _response_text(response: Any) -> str:
    """A function's response as text: its one string value, else its JSON."""
    if isinstance(response, dict) and len(response) == 1:
        (value,) = response.values()
        if isinstance(value, str):
            return value
    return json.dumps(response)


def _text_of(content: Any) -> str:
    return "".join(_part_text(p) for p in _parts(content))


def _extras(body: dict[str, Any]) -> Extras:
    contents = body.get("contents") or []
    raw_tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
    declarations = [
        d
        for t in raw_tools
        for d in _get(t, "functionDeclarations", "function_declarations") or []
        if isinstance(d, dict) and d.get("name")
    ]
    tools = tuple(
        Tool(
            d["name"],
            _get(d, "parametersJsonSchema", "parameters_json_schema") or d.get("parameters") or {},
        )
        for d in declarations
    )
    tool_config = _get(body, "toolConfig", "tool_config") or {}
    calling = _get(tool_config, "functionCallingConfig", "function_calling_config") or {}
    allowed = _get(calling, "allowedFunctionNames", "allowed_function_names") or []
    responses = [
        _get(p, "functionResponse", "function_response")
        for p in _parts(contents[-1] if contents else None)
    ]
    results = tuple(
        ToolResult(str(r.get("name", "")), _response_text(r.get("response")))
        for r in responses
        if isinstance(r, dict)
    )
    config = _get(body, "generationConfig", "generation_config") or {}
    schema = _get(config, "responseJsonSchema", "response_json_schema") or _get(
        config, "responseSchema", "response_schema"
    )
    images = sum(
        1
        for c in contents
        for p in _parts(c)
        if _get(p, "inlineData", "inline_data") or _get(p, "fileData", "file_data")
    )
    return Extras(
        tools=tools,
        no_tools=str(calling.get("mode", "")).upper() == "NONE",
        forced_tool=str(allowed[0]) if allowed else None,
        results=results,
        json_output=_get(config, "responseMimeType", "response_mime_type") == "application/json",
        output_schema=schema,
        stop=tuple(_get(config, "stopSequences", "stop_sequences") or ()),
        images=images,
        tools_text=json.dumps(raw_tools, sort_keys=True) if raw_tools else "",
    )


def _parse(body: dict[str, Any]) -> tuple[str | None, list[str], int]:
    system = _text_of(body.get("systemInstruction") or body.get("system_instruction")) or None
    turns = [_text_of(c) for c in body.get("contents", [])]
    config = body.get("generationConfig") or body.get("generation_config") or {}
    max_tokens = config.get("maxOutputTokens") or config.get("max_output_tokens") or 1024
    return system, turns, int(max_tokens)


def _usage(a: Admission, output_tokens: int) -> dict[str, int]:
    return {
        "promptTokenCount": a.input_tokens,
        "candidatesTokenCount": output_tokens,
        "totalTokenCount": a.input_tokens + output_tokens,
    }


def _finish(a: Admission) -> str:
    return "MAX_TOKENS" if a.stop_reason_max else "STOP"


def _answer_parts(a: Admission) -> list[dict[str, Any]]:
    if not a.tool_calls:
        return [{"text": "".join(a.reply)}]
    # Gemini has no switch for parallel calls: several come as several parts
    return [{"functionCall": {"name": c.name, "args": c.args}} for c in a.tool_calls]


def _response(
    a: Admission, parts: list[dict[str, Any]], finish: str | None, output_tokens: int
) -> dict[str, Any]:
    candidate: dict[str, Any] = {
        "content": {"role": "model", "parts": parts},
        "index": 0,
    }
    if finish:
        candidate["finishReason"] = finish
    return {
        "candidates": [candidate],
        "usageMetadata": _usage(a, output_tokens),
        "modelVersion": a.model,
    }


def router(sim: Simulator) -> APIRouter:
    api = APIRouter()

    @api.post("/v1beta/models/{model_action}")
    @api.post("/v1/models/{model_action}")
    async def model_action(model_action: str, request: Request) -> Response:
        model, _, action = model_action.partition(":")
        body = await request.json()
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        return await generate(sim, model, action, body, key, deployment_of(request))

    return api


async def generate(
    sim: Simulator,
    model: str,
    action: str,
    body: dict[str, Any],
    key: str | None,
    deployment: str | None = None,
) -> Response:
    """``{model}:{action}`` as Gemini answers it (``generateContent``,
    ``streamGenerateContent``, ``countTokens``): the Gemini API's routes, and Vertex AI's
    (``protocols/vertex.py``) through it."""
    system, turns, max_tokens = _parse(body)
    extras = _extras(body)
    if action == "countTokens":
        counted = input_estimate(system, turns, extras, sim.counter(PROVIDER, model))
        return JSONResponse({"totalTokens": counted})
    if action not in ("generateContent", "streamGenerateContent"):
        return JSONResponse(
            {
                "error": {
                    "code": 404,
                    "message": f"unknown action {action!r}",
                    "status": "NOT_FOUND",
                }
            },
            status_code=404,
        )
    stream = action == "streamGenerateContent"
    decision = sim.admit(
        PROVIDER,
        key,
        model,
        system,
        turns,
        max_tokens,
        stream=stream,
        extras=extras,
        deployment=deployment,
    )
    if isinstance(decision, Refusal):
        return JSONResponse(_error(decision), status_code=decision.status)
    if stream:
        return StreamingResponse(_stream(sim, decision), media_type="text/event-stream")
    await whole_answer_delay(decision)
    sim.finish(decision)
    return JSONResponse(
        _response(decision, _answer_parts(decision), _finish(decision), decision.output_tokens)
    )


def _event(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data)}\r\n\r\n".encode()


async def _stream(sim: Simulator, a: Admission) -> AsyncIterator[bytes]:
    """Text in pieces as paced; function calls whole, in the last chunk, as Gemini does."""
    sent = 0
    fail = sim.mid_stream_failure(a)
    async for piece, tokens in paced(a):
        sent += tokens
        last = sent >= a.output_tokens
        finish = _finish(a) if last else None
        if not a.tool_calls:
            yield _event(_response(a, [{"text": piece}], finish, sent))
        elif last:
            yield _event(_response(a, _answer_parts(a), finish, sent))
        if fail and not last:
            sim.finish(a, status=500, output_tokens=sent)
            error = {
                "error": {
                    "code": 500,
                    "message": "internal error (simulated, mid-stream)",
                    "status": "INTERNAL",
                }
            }
            yield _event(error)
            return
    if sent == 0:  # a stop sequence left nothing to say: still one, final, chunk
        yield _event(_response(a, [{"text": ""}], _finish(a), 0))
    sim.finish(a)
