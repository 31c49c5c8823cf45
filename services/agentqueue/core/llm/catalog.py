"""The model catalog: which models exist, their tier, window and price.

Prices and context windows change monthly, so they live in a dated data file
(``catalog.json`` beside this module, or the file named by ``AGENTQUEUE_CATALOG``), never
in code. Cost is computed here and only here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path

from agentqueue.core.llm.messages import Tier, Usage

_PER_TOKEN = Decimal(1_000_000)


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

    def cost_usd(self, usage: Usage) -> Decimal:
        """What ``usage`` costs on this model, in USD (exact decimal, not float)."""
        return (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_read_tokens * self.cache_read
            + usage.cache_write_tokens * self.cache_write
        ) / _PER_TOKEN


class UnknownModel(LookupError):
    """The catalog has no such model, or no model for that provider and tier."""


class Catalog:
    """Lookup over the catalog file's entries."""

    def __init__(self, models: list[ModelInfo], prices_as_of: str) -> None:
        self.models = models
        self.prices_as_of = prices_as_of
        self._by_name = {m.model: m for m in models}

    @classmethod
    def from_json(cls, text: str) -> Catalog:
        data = json.loads(text)
        models = [
            ModelInfo(
                provider=m["provider"],
                model=m["model"],
                tier=Tier(m["tier"]),
                context_window=int(m["context_window"]),
                max_output_tokens=int(m["max_output_tokens"]),
                **{k: Decimal(str(m[k])) for k in ("input", "output", "cache_read", "cache_write")},
            )
            for m in data["models"]
        ]
        return cls(models, prices_as_of=data["prices_as_of"])

    def get(self, model: str) -> ModelInfo:
        try:
            return self._by_name[model]
        except KeyError:
            raise UnknownModel(f"model {model!r} is not in the catalog") from None

    def default_model(self, provider: str, tier: Tier) -> ModelInfo:
        """The first catalog entry of ``provider`` at ``tier`` (file order is preference)."""
        for m in self.models:
            if m.provider == provider and m.tier == tier:
                return m
        raise UnknownModel(f"no {tier.value} model for provider {provider!r}")

    def cost_usd(self, model: str, usage: Usage) -> Decimal:
        return self.get(model).cost_usd(usage)


@cache
def load_catalog(path: str | None = None) -> Catalog:
    """The catalog from ``path``, or the packaged ``catalog.json``."""
    if path:
        return Catalog.from_json(Path(path).read_text())
    text = resources.files("agentqueue.core.llm").joinpath("catalog.json").read_text()
    return Catalog.from_json(text)
