"""Gemini: ``POST /v1beta/models/{model}:generateContent``, ``:streamGenerateContent``
(``alt=sse``) and ``:countTokens`` — under ``/v1`` too, which newer SDKs call."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from agentqueue.simulator.engine import Admission, Refusal, Simulator
from agentqueue.simulator.protocols.pacing import paced, whole_answer_delay
from agentqueue.simulator.text import estimate_tokens

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


def _text_of(content: Any) -> str:
    if not isinstance(content, dict):
        return ""
    return "".join(p.get("text", "") for p in content.get("parts", []) if isinstance(p, dict))


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


def _response(a: Admission, text: str, finish: str | None, output_tokens: int) -> dict[str, Any]:
    candidate: dict[str, Any] = {
        "content": {"role": "model", "parts": [{"text": text}]},
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
        system, turns, max_tokens = _parse(body)
        if action == "countTokens":
            texts = [system, *turns] if system else turns
            return JSONResponse({"totalTokens": estimate_tokens(texts)})
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
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        decision = sim.admit(PROVIDER, key, model, system, turns, max_tokens, stream=stream)
        if isinstance(decision, Refusal):
            return JSONResponse(_error(decision), status_code=decision.status)
        if stream:
            return StreamingResponse(_stream(sim, decision), media_type="text/event-stream")
        await whole_answer_delay(decision)
        sim.finish(decision)
        finish = "MAX_TOKENS" if decision.stop_reason_max else "STOP"
        return JSONResponse(
            _response(decision, "".join(decision.reply), finish, decision.output_tokens)
        )

    return api


async def _stream(sim: Simulator, a: Admission) -> AsyncIterator[bytes]:
    sent = 0
    fail = sim.mid_stream_failure(a)
    async for piece, tokens in paced(a):
        sent += tokens
        last = sent >= a.output_tokens
        finish = ("MAX_TOKENS" if a.stop_reason_max else "STOP") if last else None
        yield f"data: {json.dumps(_response(a, piece, finish, sent))}\r\n\r\n".encode()
        if fail and not last:
            sim.finish(a, status=500, output_tokens=sent)
            error = {
                "error": {
                    "code": 500,
                    "message": "internal error (simulated, mid-stream)",
                    "status": "INTERNAL",
                }
            }
            yield f"data: {json.dumps(error)}\r\n\r\n".encode()
            return
    sim.finish(a)
