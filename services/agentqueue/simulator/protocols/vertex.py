"""Vertex AI: Anthropic's models (``…/publishers/anthropic/models/{model}:rawPredict`` and
``:streamRawPredict``, as ``AsyncAnthropicVertex`` calls them) and Gemini
(``…/publishers/google/models/{model}:generateContent`` and ``:streamGenerateContent``, as
``google.genai.Client(vertexai=True)`` does), under ``/v1`` and ``/v1beta1``, with a
project and location in the path, or without them (Vertex's express mode).

Thin shapes over the Anthropic and Gemini routes (:func:`anthropic.message`,
:func:`gemini.generate`): the model comes from the path, the key is the OAuth access token
(``Authorization: Bearer``; the API key header in express mode), not checked beyond the
simulator's usual rule. Vertex enforces its own quotas and sends no rate-limit headers:
Anthropic's are dropped, and a 429 or 401 from Vertex itself has Google's error body
(``RESOURCE_EXHAUSTED``, no ``retry-after``); the model's own errors (an overload, a prompt
too long) pass in Anthropic's shape.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from agentqueue.simulator.deployments import deployment_of
from agentqueue.simulator.engine import Simulator
from agentqueue.simulator.protocols import anthropic, gemini
from agentqueue.simulator.protocols.keys import bearer_token

_GOOGLE_STATUS = {401: "UNAUTHENTICATED", 429: "RESOURCE_EXHAUSTED"}


def _google_error(response: Response, model: str) -> Response:
    status = response.status_code
    if status == 429:
        message = (
            "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model"
            f" with base model: {model}. Please submit a quota increase request."
        )
    else:
        try:
            message = str(json.loads(bytes(response.body))["error"]["message"])
        except (ValueError, KeyError, TypeError):
            message = "Request had invalid authentication credentials."
    error = {"code": status, "message": message, "status": _GOOGLE_STATUS[status]}
    return JSONResponse({"error": error}, status_code=status)


async def _anthropic(sim: Simulator, model_action: str, request: Request) -> Response:
    model, _, action = model_action.partition(":")
    if action not in ("rawPredict", "streamRawPredict"):
        error = {"code": 404, "message": f"unknown action {action!r}", "status": "NOT_FOUND"}
        return JSONResponse({"error": error}, status_code=404)
    body = await request.json()
    body = {**(body if isinstance(body, dict) else {}), "model": model}
    if action == "streamRawPredict":
        body["stream"] = True
    response = await anthropic.message(sim, body, bearer_token(request), deployment_of(request))
    if response.status_code in _GOOGLE_STATUS:
        return _google_error(response, model)
    for name in [k for k in response.headers if k.startswith("anthropic-ratelimit-")]:
        del response.headers[name]
    return response


async def _gemini(sim: Simulator, model_action: str, request: Request) -> Response:
    model, _, action = model_action.partition(":")
    key = bearer_token(request) or request.headers.get("x-goog-api-key")
    body = await request.json()
    return await gemini.generate(sim, model, action, body, key, deployment_of(request))


def router(sim: Simulator) -> APIRouter:
    api = APIRouter()

    @api.post("/v1/projects/{project}/locations/{location}/publishers/anthropic/models/{action}")
    @api.post(
        "/v1beta1/projects/{project}/locations/{location}/publishers/anthropic/models/{action}"
    )
    async def anthropic_predict(
        project: str, location: str, action: str, request: Request
    ) -> Response:
        return await _anthropic(sim, action, request)

    @api.post("/v1/projects/{project}/locations/{location}/publishers/google/models/{action}")
    @api.post("/v1beta1/projects/{project}/locations/{location}/publishers/google/models/{action}")
    async def gemini_generate(
        project: str, location: str, action: str, request: Request
    ) -> Response:
        return await _gemini(sim, action, request)

    @api.post("/v1/publishers/google/models/{action}")
    @api.post("/v1beta1/publishers/google/models/{action}")
    async def gemini_express(action: str, request: Request) -> Response:
        return await _gemini(sim, action, request)

    return api
