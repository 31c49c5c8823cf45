"""OpenAI embeddings: ``POST /v1/embeddings``, and the simulated vectors Gemini's share.

A simulated vector is deterministic in (model, text): the same text always gives the same
vector, so caches and "same text, same vector" tests can be checked; and it is built by
feature hashing — each word adds ±1 at a few positions chosen by its hash, over a little
noise seeded by the whole text — so texts that share words are closer (by cosine) than
texts that share none, and any two different texts differ. Vectors are unit length. A
call asking fewer ``dimensions`` gets the first ones renormalised, as OpenAI's shortened
embeddings are.

Calls go through :meth:`Simulator.admit` like completions (key, outage, rate limits,
faults), with their inputs as the prompt and no output tokens.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import math
import re
import struct
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from agentqueue.simulator.deployments import deployment_of
from agentqueue.simulator.engine import Admission, Refusal, Simulator, retry_after_header
from agentqueue.simulator.protocols.keys import bearer_token
from agentqueue.simulator.protocols.openai import _error

PROVIDER = "openai"
#: The models' vector sizes; any other name gets :data:`DEFAULT_DIMENSIONS`.
MODEL_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
    "gemini-embedding-001": 3072,
    "text-embedding-004": 768,
}
DEFAULT_DIMENSIONS = 1536
#: Positions each word sets, and the noise's amplitude beside a word's ±1.
_WORD_POSITIONS = 8
_NOISE = 0.03
_WORD = re.compile(r"\w+")


def model_dimensions(model: str) -> int:
    return MODEL_DIMENSIONS.get(model.removeprefix("models/"), DEFAULT_DIMENSIONS)


def vector(model: str, text: str, dimensions: int | None = None) -> list[float]:
    """``text``'s unit vector from ``model``, of ``dimensions`` (the model's by default)."""
    full = model_dimensions(model)
    seed = hashlib.sha256(f"{model}\x1f{text}".encode()).digest()
    noise = hashlib.shake_256(seed).digest(full)
    values = [(b - 127.5) / 127.5 * _NOISE for b in noise]
    for word in _WORD.findall(text.lower()):
        h = hashlib.sha256(f"{model}\x1f{word}".encode()).digest()
        for j in range(_WORD_POSITIONS):
            position = int.from_bytes(h[3 * j : 3 * j + 2], "big") % full
            values[position] += 1.0 if h[3 * j + 2] & 1 else -1.0
    values = values[: dimensions or full]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def as_base64(values: list[float]) -> str:
    """float32 little-endian bytes, base64: OpenAI's ``encoding_format: "base64"``."""
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def _invalid(message: str, param: str) -> JSONResponse:
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": None}
    return JSONResponse({"error": error}, status_code=400)


def _inputs(value: Any) -> list[str] | str:
    """The texts of ``input``, or the problem with it."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        return "'input' must be a non-empty string or list of strings"
    if not all(isinstance(i, str) and i for i in items):
        return "each item of 'input' must be a non-empty string (token arrays: not simulated)"
    return items


async def embedding_delay(admission: Admission) -> None:
    """An embedding takes about a first token's time."""
    if admission.behaviour.first_token_s > 0:
        await asyncio.sleep(admission.behaviour.first_token_s)


async def embed(
    sim: Simulator, body: dict[str, Any], key: str | None, deployment: str | None = None
) -> Response:
    """One embeddings call: the route's, and Azure's (whose deployment name is the model)."""
    model = str(body.get("model", ""))
    texts = _inputs(body.get("input"))
    if isinstance(texts, str):
        return _invalid(texts, "input")
    dimensions = body.get("dimensions")
    if dimensions is not None and not (
        isinstance(dimensions, int) and 1 <= dimensions <= model_dimensions(model)
    ):
        return _invalid(f"'dimensions' must be 1 to {model_dimensions(model)}", "dimensions")
    decision = sim.admit(PROVIDER, key, model, None, texts, 0, deployment=deployment)
    if isinstance(decision, Refusal):
        headers = sim.limits(PROVIDER, key, model, deployment).openai_headers() if key else {}
        return JSONResponse(
            _error(decision.kind, decision.message),
            status_code=decision.status,
            headers={**headers, **retry_after_header(decision)},
        )
    await embedding_delay(decision)
    sim.finish(decision, output_tokens=0)
    encode = as_base64 if body.get("encoding_format") == "base64" else None
    data = []
    for i, text in enumerate(texts):
        values = vector(model, text, dimensions)
        embedding = encode(values) if encode else values
        data.append({"object": "embedding", "index": i, "embedding": embedding})
    tokens = decision.input_tokens
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        },
        headers=decision.limits.openai_headers(),
    )


def router(sim: Simulator) -> APIRouter:
    api = APIRouter()

    @api.post("/v1/embeddings")
    async def embeddings(request: Request) -> Response:
        body = await request.json()
        return await embed(sim, body, bearer_token(request), deployment_of(request))

    return api
