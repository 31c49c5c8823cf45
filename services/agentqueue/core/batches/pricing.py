"""Batch prices: what a batch answer costs, for the task's call record.

genai-prices lists batch variants (``when={'processing': 'batch'}``) for some models; the
ratio of its batch to its standard price is applied to the catalog's cost of the call, so
that the catalog's own prices (and a user's overrides) stay the base. A model without a
batch variant there is charged the providers' documented batch rate: 50% of standard
(OpenAI Batch API, Anthropic Message Batches, Gemini Batch Mode).
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from agentqueue.core.llm.catalog import Catalog
from agentqueue.core.llm.messages import Usage

#: The providers' documented batch discount, when genai-prices has no batch variant.
DOCUMENTED_RATIO = Decimal("0.5")

_PROVIDER_IDS = {"anthropic": "anthropic", "openai": "openai", "google": "google"}


@lru_cache(maxsize=256)
def batch_ratio(provider: str, model: str) -> Decimal:
    """Batch input price / standard input price for ``model`` (0.5 when not listed)."""
    try:
        from genai_prices import calc_price
        from genai_prices.types import Usage as PriceUsage

        usage = PriceUsage(input_tokens=1_000_000)
        provider_id = _PROVIDER_IDS.get(provider)
        standard = calc_price(usage, model, provider_id=provider_id)
        batch = calc_price(
            usage, model, provider_id=provider_id, price_context={"processing": "batch"}
        )
    except Exception:  # unknown model or provider, or no context support: documented rate
        return DOCUMENTED_RATIO
    if not standard.total_price or batch.total_price >= standard.total_price:
        return DOCUMENTED_RATIO  # no batch variant in the data
    return Decimal(batch.total_price) / Decimal(standard.total_price)


def batch_cost_usd(catalog: Catalog, provider: str, model: str, usage: Usage) -> Decimal:
    """The cost of one batch answer: the catalog's cost times the batch ratio."""
    return catalog.cost_usd(model, usage) * batch_ratio(provider, model)
