"""What the two batch pass-throughs share: who owns an id, which deployment answers,
and the once-only usage record of a batch's results.

The batch routes (:mod:`.openai_batches`, :mod:`.anthropic_batches`) forward a client's
own batch to the provider under the gateway's single provider account, so every tenant's
files and batches live side by side there. The gateway keeps the boundary: an id created
through it is recorded in Redis as its tenant's (``aq:batch-owner:<kind>:<id>``, kept
:data:`OWNER_TTL_S`, as long as a provider keeps a batch's files), and any id the caller's
tenant does not own answers 404, exactly as an unknown one (never 403, which would say it
exists). Lists are the provider's, filtered to the caller's ids.

A batch's usage is known only from its results: the first time they are fetched, each
succeeded request's usage is added to the tenant's ledger at batch prices. A ``SET NX``
marker per batch (``aq:batch-usage:<id>``) makes that happen once, however often the
results are read; it is removed again if recording fails, so a later read retries.

Batch prices: genai-prices 0.2.3 (the catalog's source) lists no batch variants, so a
batched token costs :data:`BATCH_DISCOUNT` of the catalog's online price — the 50% both
OpenAI's and Anthropic's batch APIs document.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import redis.asyncio as aioredis
from fastapi import Request

from agentqueue.core.apikeys import ApiKeyRecord
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.llm.catalog import Catalog, ModelInfo, UnknownModel
from agentqueue.core.llm.messages import Usage
from agentqueue.core.llm.providers.base import Provider
from agentqueue.core.ratelimit.quotas import TenantQuotas

#: How long an id's owner is remembered: OpenAI keeps a batch's files 30 days, Anthropic
#: a batch's results 29.
OWNER_TTL_S = 30 * 24 * 3600
#: Batch price as a share of the online price (both providers document 50% off).
BATCH_DISCOUNT = Decimal("0.5")
_OWNER_PREFIX = "aq:batch-owner:"
_USAGE_PREFIX = "aq:batch-usage:"
_OUTPUT_PREFIX = "aq:batch-output:"

#: The deployment kinds whose SDK client speaks each batch API (Azure, Bedrock, Vertex:
#: other paths or none; not forwarded to).
BATCH_KINDS = {"openai": ("openai",), "anthropic": ("anthropic",)}


@dataclass(frozen=True)
class Owner:
    """Who created an id through the gateway: the tenant, and the key it used."""

    tenant: str
    key_id: str


def batch_provider(request: Request, family: str) -> Provider | None:
    """The first configured deployment of ``family`` whose SDK client has the batch
    API (the chain's order), or None."""
    chain: FallbackChain = request.app.state.chain
    for provider in chain.providers:
        kind_ok = provider.name == family and provider.config.kind in BATCH_KINDS[family]
        if kind_ok and getattr(provider, "_client", None) is not None:
            return provider
    return None


def sdk_client(provider: Provider) -> Any:
    """The adapter's official SDK client (``AsyncOpenAI`` or ``AsyncAnthropic``)."""
    return provider._client  # type: ignore[attr-defined]


def catalog_of(request: Request) -> Catalog:
    chain: FallbackChain = request.app.state.chain
    return chain.catalog


class BatchOwners:
    """Ownership of batch and file ids, and the once-per-batch usage marker."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    @staticmethod
    def _key(kind: str, object_id: str) -> str:
        return f"{_OWNER_PREFIX}{kind}:{object_id}"

    async def claim(self, kind: str, object_id: str, caller: ApiKeyRecord) -> None:
        """Record ``object_id`` (a ``file`` or ``batch``) as the caller's tenant's."""
        value = json.dumps({"tenant": caller.tenant, "key": caller.key_id})
        await self.redis.set(self._key(kind, object_id), value, ex=OWNER_TTL_S)

    async def claim_for(self, kind: str, object_id: str, owner: Owner) -> None:
        value = json.dumps({"tenant": owner.tenant, "key": owner.key_id})
        await self.redis.set(self._key(kind, object_id), value, ex=OWNER_TTL_S)

    async def owner(self, kind: str, object_id: str) -> Owner | None:
        raw = await self.redis.get(self._key(kind, object_id))
        return None if raw is None else _owner_of(raw)

    async def owned(self, kind: str, object_id: str, tenant: str) -> Owner | None:
        """The id's owner if it is ``tenant``, else None (unknown and foreign alike)."""
        found = await self.owner(kind, object_id)
        return found if found is not None and found.tenant == tenant else None

    async def owned_ids(self, kind: str, ids: Iterable[str], tenant: str) -> set[str]:
        """Which of ``ids`` belong to ``tenant``."""
        wanted = list(ids)
        if not wanted:
            return set()
        raws = await self.redis.mget([self._key(kind, i) for i in wanted])
        return {
            i
            for i, raw in zip(wanted, raws, strict=True)
            if raw is not None and _owner_of(raw).tenant == tenant
        }

    async def forget(self, kind: str, object_id: str) -> None:
        await self.redis.delete(self._key(kind, object_id))

    async def mark_output(self, file_id: str, batch_id: str) -> None:
        """Remember that ``file_id`` holds ``batch_id``'s results (OpenAI)."""
        await self.redis.set(f"{_OUTPUT_PREFIX}{file_id}", batch_id, ex=OWNER_TTL_S)

    async def batch_of_output(self, file_id: str) -> str | None:
        raw = await self.redis.get(f"{_OUTPUT_PREFIX}{file_id}")
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    async def first_fetch(self, batch_id: str) -> bool:
        """True once per batch: whether this read of its results records its usage."""
        return bool(
            await self.redis.set(f"{_USAGE_PREFIX}{batch_id}", "1", nx=True, ex=OWNER_TTL_S)
        )

    async def unmark(self, batch_id: str) -> None:
        """Undo :meth:`first_fetch` (recording failed: a later read records)."""
        await self.redis.delete(f"{_USAGE_PREFIX}{batch_id}")


def _owner_of(raw: bytes | str) -> Owner:
    data = json.loads(raw)
    return Owner(tenant=str(data["tenant"]), key_id=str(data.get("key") or ""))


def owners(request: Request) -> BatchOwners:
    return BatchOwners(request.app.state.redis)


def served_model(catalog: Catalog, family: str, name: object) -> ModelInfo | None:
    """The catalog model ``name`` names (aliases resolved) if ``family`` serves it."""
    if not isinstance(name, str) or not name:
        return None
    try:
        info = catalog.get(name)
    except UnknownModel:
        return None
    return info if info.provider == family else None


def reverse_names(catalog: Catalog, provider: Provider) -> dict[str, str]:
    """The deployment's id of each of its family's catalog models → the catalog name."""
    out = {}
    for m in catalog.models:
        if m.provider == provider.name:
            out[provider.config.remote_model(m.model)] = m.model
            out.setdefault(m.model, m.model)
    return out


def catalog_name(names: Mapping[str, str], answered: object) -> str | None:
    """The catalog model a result's ``model`` is: exact, else the longest catalog id it
    starts with (a dated snapshot: ``gpt-4o-mini-2024-07-18``)."""
    if not isinstance(answered, str):
        return None
    if answered in names:
        return names[answered]
    prefixes = [n for n in names if answered.startswith(f"{n}-")]
    return names[max(prefixes, key=len)] if prefixes else None


def batch_cost(info: ModelInfo, usage: Usage) -> Decimal:
    """What ``usage`` costs at batch prices (see the module docstring)."""
    return info.cost_usd(usage) * BATCH_DISCOUNT


async def record_results(
    request: Request, owner: Owner, entries: Iterable[tuple[str, Usage, Decimal]]
) -> int:
    """Add each (catalog model, usage, cost) to the owner's ledger as one call each, in
    one transaction (all or none: the batch's marker is undone if it fails); how many."""
    quotas: TenantQuotas = request.app.state.quotas
    count = 0
    async with quotas.redis.pipeline(transaction=True) as pipe:
        for model, usage, cost in entries:
            quotas.ledger.record_in(
                pipe, owner.tenant, model, usage, cost, key_id=owner.key_id or None
            )
            count += 1
        if count:
            await pipe.execute()
    return count


async def record_once(
    request: Request,
    batch_id: str,
    owner: Owner,
    entries: Iterable[tuple[str, Usage, Decimal]],
) -> None:
    """:func:`record_results` the first time a batch's results are read, never again."""
    marks = owners(request)
    if not await marks.first_fetch(batch_id):
        return
    try:
        await record_results(request, owner, entries)
    except BaseException:
        await marks.unmark(batch_id)
        raise
