"""Azure OpenAI: ``POST /openai/deployments/{deployment}/chat/completions`` and
``/embeddings``, with ``?api-version=`` — the URLs ``openai.AsyncAzureOpenAI`` builds.

A thin shape over the OpenAI routes (:func:`openai.chat_completion`,
:func:`openai_embeddings.embed`): the Azure deployment's name is the model, the key comes
in the ``api-key`` header, the answers carry the same ``x-ratelimit-*`` headers, and an
error the service itself raises (401, 429, 5xx) has Azure's body, ``{"error": {"code":
"429", "message": …}}``, with ``retry-after`` and ``retry-after-ms`` on a 429. A missing
``api-version`` is refused as Azure refuses it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from agentqueue.simulator.deployments import deployment_of
from agentqueue.simulator.engine import Simulator
from agentqueue.simulator.protocols import openai, openai_embeddings
from agentqueue.simulator.protocols.keys import azure_key

Handler = Callable[[Simulator, dict[str, Any], str | None, str | None], Awaitable[Response]]


def _azure_error(response: Response) -> Response:
    """Azure's own error body for what the service refuses (auth, limits, faults); an
    OpenAI-shaped model error (a context too long) passes as it is, as Azure's does."""
    if response.status_code not in (401, 429) and response.status_code < 500:
        return response
    try:
        message = json.loads(bytes(response.body))["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = "error"
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.startswith("x-ratelimit-") or k == "retry-after"
    }
    if "retry-after" in headers:
        headers["retry-after-ms"] = str(int(headers["retry-after"]) * 1000)
    if response.status_code == 429:
        message = f"{message}. Please retry after {headers.get('retry-after', '1')} seconds."
    return JSONResponse(
        {"error": {"code": str(response.status_code), "message": message}},
        status_code=response.status_code,
        headers=headers,
    )


async def _call(sim: Simulator, handler: Handler, deployment: str, request: Request) -> Response:
    if not request.query_params.get("api-version"):
        return JSONResponse(
            {
                "error": {
                    "code": "MissingApiVersionParameter",
                    "message": "The api-version query parameter (?api-version=) is required "
                    "for all requests.",
                }
            },
            status_code=400,
        )
    body = await request.json()
    body = {**body, "model": deployment} if isinstance(body, dict) else {"model": deployment}
    response = await handler(sim, body, azure_key(request), deployment_of(request))
    return _azure_error(response)


def router(sim: Simulator) -> APIRouter:
    api = APIRouter()

    @api.post("/openai/deployments/{deployment}/chat/completions")
    async def chat_completions(deployment: str, request: Request) -> Response:
        return await _call(sim, openai.chat_completion, deployment, request)

    @api.post("/openai/deployments/{deployment}/embeddings")
    async def embeddings(deployment: str, request: Request) -> Response:
        return await _call(sim, openai_embeddings.embed, deployment, request)

    return api
