"""Anthropic on Amazon Bedrock: ``POST /model/{modelId}/invoke`` and
``/model/{modelId}/invoke-with-response-stream`` — the URLs ``AsyncAnthropicBedrock`` builds.

A thin shape over the Anthropic route (:func:`anthropic.message`): the model id is in the
path (the body has none; the stream is asked for by the path, not the body), any SigV4
signature is accepted unchecked (its access key id is the key limits are counted by) as is
a Bedrock API key (``Authorization: Bearer``). The answer is Anthropic's message; a stream
is its events, each base64-encoded in an AWS event-stream ``chunk`` frame
(:mod:`.eventstream`), a mid-stream error an exception frame. Errors have Bedrock's shape:
``{"message": …}`` with the exception named in ``x-amzn-ErrorType``
(``ThrottlingException`` for a 429, with no ``retry-after``, as Bedrock sends none).
Bedrock sends no rate-limit headers: Anthropic's are dropped; the token counts come in
``x-amzn-bedrock-*-token-count`` instead.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterable, AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from agentqueue.simulator.deployments import deployment_of
from agentqueue.simulator.engine import Simulator
from agentqueue.simulator.protocols import anthropic, eventstream
from agentqueue.simulator.protocols.keys import aws_key

#: HTTP status -> (status Bedrock answers, its exception name).
_EXCEPTIONS = {
    400: (400, "ValidationException"),
    401: (403, "UnrecognizedClientException"),
    403: (403, "AccessDeniedException"),
    429: (429, "ThrottlingException"),
    500: (500, "InternalServerException"),
    503: (503, "ServiceUnavailableException"),
    529: (503, "ServiceUnavailableException"),
}
#: Anthropic stream error type -> the exception frame Bedrock sends mid-stream.
_STREAM_EXCEPTIONS = {
    "rate_limit_error": "throttlingException",
    "overloaded_error": "serviceUnavailableException",
    "invalid_request_error": "validationException",
}
_THROTTLED = "Too many requests, please wait before trying again."


def _amzn_headers() -> dict[str, str]:
    return {"x-amzn-requestid": str(uuid.uuid4())}


def _bedrock_error(response: Response) -> Response:
    status, name = _EXCEPTIONS.get(response.status_code, (500, "InternalServerException"))
    try:
        message = str(json.loads(bytes(response.body))["error"]["message"])
    except (ValueError, KeyError, TypeError):
        message = "error"
    if status == 429:
        message = _THROTTLED
    headers = {
        **_amzn_headers(),
        "x-amzn-errortype": f"{name}:http://internal.amazon.com/coral/com.amazon.bedrock/",
    }
    return JSONResponse({"message": message}, status_code=status, headers=headers)


def _without_ratelimit_headers(response: Response) -> dict[str, str]:
    return {
        k: v
        for k, v in response.headers.items()
        if not k.startswith("anthropic-ratelimit-") and k not in ("content-length", "content-type")
    }


async def _frames_of(sse: AsyncIterable[str | bytes | memoryview]) -> AsyncIterator[bytes]:
    """Anthropic's SSE events as event-stream frames, one ``chunk`` per event."""
    buffer = b""
    async for piece in sse:
        buffer += piece.encode() if isinstance(piece, str) else bytes(piece)
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            data = b"".join(
                line[len(b"data: ") :] for line in event.split(b"\n") if line.startswith(b"data: ")
            )
            if not data:
                continue
            payload = json.loads(data)
            if payload.get("type") == "error":
                error = payload.get("error") or {}
                name = _STREAM_EXCEPTIONS.get(str(error.get("type")), "internalServerException")
                yield eventstream.exception(name, str(error.get("message", "")))
            else:
                yield eventstream.chunk(data)


async def invoke(sim: Simulator, model_id: str, request: Request, *, stream: bool) -> Response:
    body = await request.json()
    body = {**(body if isinstance(body, dict) else {}), "model": model_id, "stream": stream}
    response = await anthropic.message(sim, body, aws_key(request), deployment_of(request))
    if response.status_code != 200:
        return _bedrock_error(response)
    headers = {**_without_ratelimit_headers(response), **_amzn_headers()}
    if isinstance(response, StreamingResponse):
        return StreamingResponse(
            _frames_of(response.body_iterator),
            media_type="application/vnd.amazon.eventstream",
            headers=headers,
        )
    usage = json.loads(bytes(response.body)).get("usage") or {}
    headers["x-amzn-bedrock-input-token-count"] = str(usage.get("input_tokens", 0))
    headers["x-amzn-bedrock-output-token-count"] = str(usage.get("output_tokens", 0))
    return Response(response.body, media_type="application/json", headers=headers)


def router(sim: Simulator) -> APIRouter:
    api = APIRouter()

    @api.post("/model/{model_id:path}/invoke")
    async def invoke_model(model_id: str, request: Request) -> Response:
        return await invoke(sim, model_id, request, stream=False)

    @api.post("/model/{model_id:path}/invoke-with-response-stream")
    async def invoke_model_with_response_stream(model_id: str, request: Request) -> Response:
        return await invoke(sim, model_id, request, stream=True)

    return api
