"""Model prices from a maintained source: the ``genai-prices`` package (Pydantic's).

Only the data *bundled* in the installed package is read: never its ``UpdatePrices``
(which fetches from GitHub), never the network. A newer release of the package is the
way newer prices arrive (``scripts/lock --upgrade-package genai-prices``; docs/providers.md).

genai-prices counts ``input_tokens`` *with* the cached ones and prices cache reads and
writes apart; a price it does not list (OpenAI and Gemini list no cache-write price) is
charged at the input price, which is how :func:`lookup` fills it in. Some models cost
more per token once a call's prompt passes a threshold (Gemini 2.5 Pro past 200k
tokens): those thresholds come back as :class:`PriceTier`\\ s, applied to the whole call
as genai-prices and the providers do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from importlib.metadata import version
from typing import Any

#: The price keys of a chat model, in the order :class:`Prices` holds them.
PRICE_KEYS = ("input", "output", "cache_read", "cache_write")
#: Our provider names and genai-prices' ids for them (every other provider: not looked up).
PROVIDER_IDS = {"anthropic": "anthropic", "openai": "openai", "google": "google"}


@dataclass(frozen=True)
class PriceTier:
    """The prices (USD per million tokens) of a call whose prompt (input, cache reads and
    cache writes together) has more than ``above_input_tokens`` tokens."""

    above_input_tokens: int
    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal


@dataclass(frozen=True)
class Prices:
    """A model's prices, USD per million tokens, as genai-prices gives them."""

    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal
    tiers: tuple[PriceTier, ...] = ()
    #: genai-prices' id for the model it matched (``gpt-4.1``).
    matched: str = ""


def package_version() -> str:
    """The installed genai-prices' version (its bundled data is that release's)."""
    return version("genai-prices")


@cache
def _snapshot() -> Any:
    """The bundled data only: a snapshot of it, not the package's current one (which
    ``UpdatePrices`` may have replaced with data fetched from GitHub)."""
    from genai_prices.data import providers
    from genai_prices.data_snapshot import DataSnapshot

    return DataSnapshot(providers=providers, from_auto_update=False)


def _provider_id(provider: str) -> str | None:
    return PROVIDER_IDS.get(provider)


def lookup(provider: str, model: str, at: datetime) -> Prices | None:
    """``model``'s prices at ``provider`` in effect at ``at``, or None when genai-prices
    does not know the model (or the provider is none of the three)."""
    from genai_prices.types import TieredPrices, Usage

    provider_id = _provider_id(provider)
    if provider_id is None:
        return None
    try:
        calc = _snapshot().calc(Usage(), model, provider_id, None, at)
    except LookupError:
        return None
    raw = calc.model_price
    values: dict[str, Any] = {
        "input": raw.input_mtok,
        "output": raw.output_mtok,
        "cache_read": raw.cache_read_mtok,
        "cache_write": raw.cache_write_mtok,
    }
    if values["input"] is None or values["output"] is None:
        return None  # priced per image, per second…: not a chat or embedding price
    # An unlisted cache price is the input price (how genai-prices itself charges it).
    for key in ("cache_read", "cache_write"):
        if values[key] is None:
            values[key] = values["input"]

    def at_tokens(key: str, tokens: int | None) -> Decimal:
        value = values[key]
        if not isinstance(value, TieredPrices):
            return Decimal(value)
        price = Decimal(value.base)
        if tokens is not None:
            for tier in value.tiers:  # ascending; a tier applies above its start
                if tokens >= tier.start:
                    price = Decimal(tier.price)
        return price

    starts = sorted(
        {t.start for v in values.values() if isinstance(v, TieredPrices) for t in v.tiers}
    )
    tiers = tuple(
        PriceTier(start, **{key: at_tokens(key, start) for key in PRICE_KEYS}) for start in starts
    )
    base = {key: at_tokens(key, None) for key in PRICE_KEYS}
    return Prices(**base, tiers=tiers, matched=calc.model.id)


def lookup_embedding(provider: str, model: str, at: datetime) -> Decimal | None:
    """An embedding model's input price (USD per million tokens), or None."""
    from genai_prices.types import TieredPrices, Usage

    provider_id = _provider_id(provider)
    if provider_id is None:
        return None
    try:
        calc = _snapshot().calc(Usage(), model, provider_id, None, at)
    except LookupError:
        return None
    price = calc.model_price.input_mtok
    if price is None or isinstance(price, TieredPrices):
        return None
    return Decimal(price)
