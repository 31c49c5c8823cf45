"""``POST /v1/embeddings``, as OpenAI's API speaks it.

Agent frameworks (LangChain, LlamaIndex, the ``openai`` SDK itself) call
``client.embeddings.create(model=..., input=...)``; pointed at ``<gateway>/v1`` they get
OpenAI's answer from any catalog embedding model, OpenAI's or Gemini's, through the same
limiter, quotas, usage and cost as chat, with each input's vector cached per tenant
(:mod:`agentqueue.core.calls.embeddings`). The official SDK asks for
``encoding_format: "base64"`` unless told otherwise and decodes it itself: float32
little-endian bytes, as OpenAI sends them.

Token-id arrays as input (what LangChain's ``OpenAIEmbeddings`` sends by default) are
decoded back to text with ``cl100k_base`` (:mod:`.token_ids`), for any model.
``usage.prompt_tokens`` counts every input: the
provider's count for those it embedded, the local estimate for those served from the
cache (``x-agentqueue-cache``: ``exact`` when all were, ``partial`` when some were, and
``x-agentqueue-cost-usd`` is then what the call really cost). Errors are OpenAI's envelope
(:mod:`~agentqueue.gateway.compat.openai_errors`): 404 ``model_not_found`` for a name that
is not an embedding model, 400 with ``param`` for a bad field.
"""

from __future__ import annotations

import base64
import sys
from array import array
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from agentqueue.core.calls.embeddings import EmbeddingCaller, EmbeddingResult, InputRefused
from agentqueue.core.llm.catalog import UnknownModel
from agentqueue.core.llm.embeddings import MAX_INPUT_CHARS, MAX_INPUTS, EmbeddingRequest
from agentqueue.gateway.api.deps import CallerDep
from agentqueue.gateway.api.governance import check_model_allowed
from agentqueue.gateway.compat.openai_errors import (
    OpenAIError,
    OpenAIRoute,
    openai_error_responses,
)
from agentqueue.gateway.compat.token_ids import decode, is_token_ids

router = APIRouter(tags=["openai-compatible"], route_class=OpenAIRoute)


class EmbeddingBody(BaseModel):
    """The body of ``POST /v1/embeddings``; an unknown field is 400 naming it."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=200)
    #: A text, a list of texts, one input as token ids, or a list of those.
    input: str | list[Any]
    dimensions: int | None = Field(default=None, ge=1, le=65_536)
    encoding_format: Literal["float", "base64"] = "float"
    #: The end user, for abuse monitoring at OpenAI: accepted and not forwarded.
    user: str | None = Field(default=None, max_length=256)


def _bad(message: str, param: str) -> OpenAIError:
    return OpenAIError(400, message, param=param)


def texts_of(value: str | list[Any]) -> list[str]:
    """The inputs as texts; 400 naming the field for anything else."""
    items = [value] if isinstance(value, str) or is_token_ids(value) else value
    if not items:
        raise _bad("'input' must not be empty.", "input")
    if len(items) > MAX_INPUTS:
        raise _bad(f"'input' holds {len(items)} items; at most {MAX_INPUTS} a call.", "input")
    texts: list[str] = []
    for i, item in enumerate(items):
        param = "input" if items is not value else f"input[{i}]"
        if is_token_ids(item):
            try:
                item = decode(item)
            except ValueError as exc:
                raise _bad(f"'{param}': {exc}.", param) from None
        elif isinstance(item, int | list):
            raise _bad(f"'{param}' must be a string or a list of token ids.", param)
        if not isinstance(item, str):
            raise _bad(f"'{param}' must be a string.", param)
        if not item:
            raise _bad(f"'{param}' must not be empty.", param)
        if len(item) > MAX_INPUT_CHARS:
            raise _bad(f"'{param}' is over {MAX_INPUT_CHARS} characters.", param)
        try:
            item.encode()
        except UnicodeEncodeError:  # a lone surrogate: no provider can be sent it
            raise _bad(f"'{param}' is not valid Unicode text.", param) from None
        texts.append(item)
    return texts


def _base64(vector: list[float]) -> str:
    values = array("f", vector)
    if sys.byteorder == "big":
        values.byteswap()
    return base64.b64encode(values.tobytes()).decode()


def answer(result: EmbeddingResult, encoding: str) -> dict[str, Any]:
    """OpenAI's list of embeddings, in the inputs' order."""
    vectors = result.embeddings.vectors
    tokens = result.embeddings.input_tokens
    return {
        "object": "list",
        "data": [
            {
                "object": "embedding",
                "index": i,
                "embedding": _base64(v) if encoding == "base64" else v,
            }
            for i, v in enumerate(vectors)
        ],
        "model": result.embeddings.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _not_an_embedding_model(caller: EmbeddingCaller, name: str) -> OpenAIError:
    """404 ``model_not_found`` naming ``model``, saying so when ``name`` is a chat model."""
    if any(m.model == name for m in caller.catalog.models):
        message = f"The model {name!r} is a chat model, not an embedding model."
    else:
        message = f"The model {name!r} does not exist or you do not have access to it."
    known = ", ".join(m.model for m in caller.catalog.embedding_models)
    return OpenAIError(
        404, f"{message} Embedding models: {known}.", param="model", code="model_not_found"
    )


@router.post(
    "/v1/embeddings",
    response_model=None,
    responses=openai_error_responses(400, 404, 413, 429, 500, 502),
)
async def embeddings(body: EmbeddingBody, request: Request, caller: CallerDep) -> JSONResponse:
    """Embed one text or a list of texts (OpenAI's ``embeddings.create``)."""
    embedder: EmbeddingCaller = request.app.state.embeddings
    call = EmbeddingRequest(
        model=body.model, inputs=texts_of(body.input), dimensions=body.dimensions
    )
    check_model_allowed(caller, body.model)  # 403 naming the model, in OpenAI's envelope
    try:
        result = await embedder.embed(
            call, caller.highest_allowed(), caller.tenant, key_id=caller.key_id
        )
    except UnknownModel:
        raise _not_an_embedding_model(embedder, body.model) from None
    except InputRefused as exc:
        raise _bad(exc.message, exc.param) from None
    headers = {
        "x-agentqueue-provider": result.embeddings.provider,
        "x-agentqueue-cost-usd": f"{result.cost_usd:.8f}",
    }
    if result.cached:
        headers["x-agentqueue-cache"] = result.cached
    return JSONResponse(answer(result, body.encoding_format), headers=headers)
