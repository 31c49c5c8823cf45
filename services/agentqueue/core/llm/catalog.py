"""The model catalog: which models exist, their tier, window and price.

Prices and context windows change monthly, so they live in a dated data file
(``catalog.json`` beside this module, or the file named by ``AGENTQUEUE_CATALOG``), never
in code. Cost is computed here and only here.

Each model also lists what it can do (``capabilities``: "tools", "vision",
"json_schema", "thinking"), so that fallback never sends a request to a model that would
have to drop part of it; :func:`capabilities_needed` says what a request asks for.

Embedding models are entries of ``"kind": "embedding"`` (chat is the default kind): they
have no tier and no output, only an input price, a default vector size and an input
limit. They are kept apart (:attr:`Catalog.embedding_models`) so that nothing choosing a
chat model — :meth:`Catalog.default_model`, :meth:`Catalog.get`, routing — can pick one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from agentqueue.core.llm.messages import CompletionRequest, Tier, Usage

_PER_TOKEN = Decimal(1_000_000)
#: The capabilities a catalog entry may list (another word is a typo, refused on load).
CAPABILITIES = frozenset({"tools", "vision", "json_schema", "thinking"})


@dataclass(frozen=True)
class ModelInfo:
    """One model's entry; prices are USD per million tokens."""

    provider: str
    model: str
    tier: Tier
    context_window: int
    max_output_tokens: int
    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    #: What the model can do; None when its entry does not say (a catalog file written
    #: before capabilities were listed), which is taken as able to do anything.
    capabilities: frozenset[str] | None = None

    def supports(self, needed: Iterable[str]) -> bool:
        """Whether the model has every capability in ``needed``."""
        return self.capabilities is None or self.capabilities.issuperset(needed)

    def cost_usd(self, usage: Usage) -> Decimal:
        """What ``usage`` costs on this model, in USD (exact decimal, not float)."""
        return (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_read_tokens * self.cache_read
            + usage.cache_write_tokens * self.cache_write
        ) / _PER_TOKEN


@dataclass(frozen=True)
class EmbeddingModelInfo:
    """One embedding model's entry; ``input`` is USD per million input tokens."""

    provider: str
    model: str
    #: The length of its vectors unless a call asks for fewer.
    dimensions: int
    #: The most tokens one input may have.
    max_input_tokens: int
    input: Decimal

    def cost_usd(self, input_tokens: int) -> Decimal:
        """What embedding ``input_tokens`` costs on this model, in USD."""
        return input_tokens * self.input / _PER_TOKEN


def _embedding_model(m: dict[str, Any]) -> EmbeddingModelInfo:
    return EmbeddingModelInfo(
        provider=m["provider"],
        model=m["model"],
        dimensions=int(m["dimensions"]),
        max_input_tokens=int(m["max_input_tokens"]),
        input=Decimal(str(m["input"])),
    )


class UnknownModel(LookupError):
    """The catalog has no such model, or no model for that provider and tier."""


class Catalog:
    """Lookup over the catalog file's entries."""

    def __init__(
        self,
        models: list[ModelInfo],
        prices_as_of: str,
        embedding_models: list[EmbeddingModelInfo] | None = None,
    ) -> None:
        #: The chat models (every tier); embedding models are not among them.
        self.models = models
        self.prices_as_of = prices_as_of
        self._by_name = {m.model: m for m in models}
        self.embedding_models = embedding_models or []
        self._embedding_by_name = {m.model: m for m in self.embedding_models}

    @classmethod
    def from_json(cls, text: str) -> Catalog:
        data = json.loads(text)
        entries = [m for m in data["models"] if m.get("kind", "chat") == "chat"]
        embedding = [m for m in data["models"] if m.get("kind") == "embedding"]
        kinds = {m.get("kind", "chat") for m in data["models"]} - {"chat", "embedding"}
        if kinds:
            raise ValueError(f"unknown model kinds {sorted(kinds)}")
        models = [
            ModelInfo(
                provider=m["provider"],
                model=m["model"],
                tier=Tier(m["tier"]),
                context_window=int(m["context_window"]),
                max_output_tokens=int(m["max_output_tokens"]),
                **{k: Decimal(str(m[k])) for k in ("input", "output", "cache_read", "cache_write")},
                capabilities=frozenset(m["capabilities"]) if "capabilities" in m else None,
            )
            for m in entries
        ]
        for m in models:
            unknown = (m.capabilities or frozenset()) - CAPABILITIES
            if unknown:
                raise ValueError(f"{m.model}: unknown capabilities {sorted(unknown)}")
        return cls(
            models,
            prices_as_of=data["prices_as_of"],
            embedding_models=[_embedding_model(m) for m in embedding],
        )

    def get(self, model: str) -> ModelInfo:
        try:
            return self._by_name[model]
        except KeyError:
            raise UnknownModel(f"model {model!r} is not in the catalog") from None

    def embedding_model(self, model: str) -> EmbeddingModelInfo:
        """The embedding model named ``model``; :class:`UnknownModel` for any other name
        (a chat model's included: it cannot embed)."""
        try:
            return self._embedding_by_name[model]
        except KeyError:
            raise UnknownModel(f"{model!r} is not an embedding model of the catalog") from None

    def default_model(self, provider: str, tier: Tier) -> ModelInfo:
        """The first catalog entry of ``provider`` at ``tier`` (file order is preference)."""
        for m in self.models:
            if m.provider == provider and m.tier == tier:
                return m
        raise UnknownModel(f"no {tier.value} model for provider {provider!r}")

    def cost_usd(self, model: str, usage: Usage) -> Decimal:
        return self.get(model).cost_usd(usage)


def capabilities_needed(request: CompletionRequest) -> frozenset[str]:
    """The capabilities a model needs to answer ``request`` whole: "tools" for tools,
    "vision" for images, "json_schema" for a JSON-schema response format, "thinking" for
    a thinking budget."""
    needed: set[str] = set()
    if request.tools:
        needed.add("tools")
    if any(m.images for m in request.messages):
        needed.add("vision")
    if request.response_format is not None and request.response_format.type == "json_schema":
        needed.add("json_schema")
    if request.thinking_budget is not None:
        needed.add("thinking")
    return frozenset(needed)


@cache
def load_catalog(path: str | None = None) -> Catalog:
    """The catalog from ``path``, or the packaged ``catalog.json``."""
    if path:
        return Catalog.from_json(Path(path).read_text())
    text = resources.files("agentqueue.core.llm").joinpath("catalog.json").read_text()
    return Catalog.from_json(text)
