"""Gemini embeddings: ``POST /v1beta/models/{model}:batchEmbedContents`` and
``:embedContent`` (under ``/v1`` too).

The google-genai SDK's ``client.aio.models.embed_content`` calls ``batchEmbedContents``
against the Gemini Developer API, one request per content (``requests[].content``,
``requests[].outputDimensionality``); ``embedContent`` is the single-content REST call
other clients make. Vectors are :func:`~.openai_embeddings.vector`'s, so a text has the
same simulated vector from either protocol's route for the same model. This router must
be included before :mod:`.gemini`'s, whose ``{model_action}`` route matches any action.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from agentqueue.simulator.deployments import deployment_of
from agentqueue.simulator.engine import Admission, Refusal, Simulator
from agentqueue.simulator.protocols.gemini import _error
from agentqueue.simulator.protocols.openai_embeddings import (
    embedding_delay,
    model_dimensions,
    vector,
)

PROVIDER = "google"


def _invalid(message: str) -> JSONResponse:
    error = {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}
    return JSONResponse({"error": error}, status_code=400)


def _text(content: Any) -> str:
    parts = content.get("parts") if isinstance(content, dict) else None
    return "".join(str(p.get("text", "")) for p in parts or [] if isinstance(p, dict))


def _dimensions(item: dict[str, Any]) -> Any:
    return item.get("outputDimensionality", item.get("output_dimensionality"))


def _parse(model: str, items: list[Any]) -> list[tuple[str, int | None]] | str:
    """Each request's (text, dimensions), or the problem with them."""
    out: list[tuple[str, int | None]] = []
    full = model_dimensions(model)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            return f"requests[{i}] must be an object"
        text, dimensions = _text(item.get("content")), _dimensions(item)
        if not text:
            return f"requests[{i}].content must hold text"
        if dimensions is not None and not (isinstance(dimensions, int) and 1 <= dimensions <= full):
            return f"requests[{i}].outputDimensionality must be 1 to {full}"
        out.append((text, dimensions))
    return out or "requests must not be empty"


def _key(request: Request) -> str | None:
    return request.headers.get("x-goog-api-key") or request.query_params.get("key")


async def _admit(
    sim: Simulator, request: Request, model: str, texts: list[str]
) -> Admission | JSONResponse:
    decision = sim.admit(
        PROVIDER, _key(request), model, None, texts, 0, deployment=deployment_of(request)
    )
    if isinstance(decision, Refusal):
        return JSONResponse(_error(decision), status_code=decision.status)
    await embedding_delay(decision)
    sim.finish(decision, output_tokens=0)
    return decision


def router(sim: Simulator) -> APIRouter:
    api = APIRouter()

    @api.post("/v1beta/models/{model}:batchEmbedContents")
    @api.post("/v1/models/{model}:batchEmbedContents")
    async def batch_embed_contents(model: str, request: Request) -> Response:
        body = await request.json()
        items = body.get("requests") if isinstance(body, dict) else None
        parsed = _parse(model, items if isinstance(items, list) else [])
        if isinstance(parsed, str):
            return _invalid(parsed)
        decision = await _admit(sim, request, model, [t for t, _ in parsed])
        if isinstance(decision, JSONResponse):
            return decision
        return JSONResponse(
            {
                "embeddings": [{"values": vector(model, t, d)} for t, d in parsed],
                "usageMetadata": {"promptTokenCount": decision.input_tokens},
            }
        )

    @api.post("/v1beta/models/{model}:embedContent")
    @api.post("/v1/models/{model}:embedContent")
    async def embed_content(model: str, request: Request) -> Response:
        body = await request.json()
        parsed = _parse(model, [body])
        if isinstance(parsed, str):
            return _invalid(parsed.replace("requests[0].", ""))
        decision = await _admit(sim, request, model, [parsed[0][0]])
        if isinstance(decision, JSONResponse):
            return decision
        text, dimensions = parsed[0]
        return JSONResponse({"embedding": {"values": vector(model, text, dimensions)}})

    return api
