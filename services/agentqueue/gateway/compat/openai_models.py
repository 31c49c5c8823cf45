"""``GET /v1/models`` and ``GET /v1/models/{model}``, as OpenAI lists models.

Clients and agent frameworks list models to fill a picker or to check a name before
calling; they get every catalog model, chat and embedding (``owned_by`` its provider),
and the tier aliases ``frontier`` / ``efficient`` (``owned_by: agentqueue``): each chat
model and alias a valid ``model`` for ``/v1/chat/completions``, each embedding model for
``/v1/embeddings``. ``created`` is the catalog's price date: the catalog does not know
when a model was released, and a fixed value keeps the list stable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.llm.catalog import Catalog
from agentqueue.core.llm.messages import Tier
from agentqueue.gateway.api.deps import CallerDep
from agentqueue.gateway.compat.openai_errors import (
    OpenAIRoute,
    model_not_found,
    openai_error_responses,
)

router = APIRouter(tags=["openai-compatible"], route_class=OpenAIRoute)


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


def _created(catalog: Catalog) -> int:
    try:
        day = datetime.fromisoformat(catalog.prices_as_of)
    except ValueError:
        return 0
    return int(day.replace(tzinfo=day.tzinfo or UTC).timestamp())


def models(catalog: Catalog) -> list[Model]:
    created = _created(catalog)
    # Embedding models too, as OpenAI lists them (for /v1/embeddings; a catalog without
    # the embedding kind has none).
    entries = [*catalog.models, *getattr(catalog, "embedding_models", [])]
    listed = [Model(id=m.model, created=created, owned_by=m.provider) for m in entries]
    listed += [Model(id=t.value, created=created, owned_by="agentqueue") for t in Tier]
    return listed


def _catalog(request: Request) -> Catalog:
    chain: FallbackChain = request.app.state.chain
    return chain.catalog


@router.get("/v1/models", response_model=ModelList, responses=openai_error_responses())
async def list_models(request: Request, caller: CallerDep) -> ModelList:
    """The models a chat completion may name: the catalog's, and the tier aliases."""
    return ModelList(data=models(_catalog(request)))


@router.get("/v1/models/{model:path}", response_model=Model, responses=openai_error_responses(404))
async def retrieve_model(model: str, request: Request, caller: CallerDep) -> Model:
    """One model of the list; 404 (``model_not_found``) for any other name."""
    for entry in models(_catalog(request)):
        if entry.id == model:
            return entry
    raise model_not_found(model)
