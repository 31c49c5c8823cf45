"""The exact cache: one Redis string per (tenant, provider, model, canonical request).

A lookup reads the keys of every fallback candidate in one MGET, in preference order,
and takes the first answer found; an answer is stored under the model that gave it.
The entry repeats the tenant, provider and model it was stored for and is checked on
read, so that even a key computed wrongly could not serve another tenant's answer.

Redis being down makes every lookup a miss and every store a no-op (logged): losing the
cache costs money, never correctness or availability.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from decimal import Decimal

import redis.asyncio as aioredis
from pydantic import BaseModel, ValidationError
from redis.exceptions import RedisError

from agentqueue.core.cache.keys import KEY_VERSION, exact_key, tenant_scope
from agentqueue.core.llm.messages import Completion, CompletionRequest

log = logging.getLogger(__name__)


class CacheEntry(BaseModel):
    """A stored answer: the completion as the provider gave it, and what it cost."""

    v: int = KEY_VERSION
    tenant: str
    provider: str
    model: str
    completion: Completion
    cost_usd: Decimal
    stored_at: float
    #: The prompt that was asked (the last user message), for the semantic guard.
    prompt: str | None = None


class ExactCache:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def lookup(
        self,
        request: CompletionRequest,
        tenant: str | None,
        candidates: Sequence[tuple[str, str]],
    ) -> CacheEntry | None:
        """The answer of the most preferred candidate (provider, model) that has one."""
        if not candidates:
            return None
        keys = [exact_key(request, tenant, provider, model) for provider, model in candidates]
        try:
            values = await self.redis.mget(keys)
        except RedisError as exc:
            log.warning("cache lookup failed (treated as a miss): %s", exc)
            return None
        scope = tenant_scope(tenant)
        for (provider, model), raw in zip(candidates, values, strict=True):
            entry = _parse(raw)
            if entry is None:
                continue
            if (entry.tenant, entry.provider, entry.model) != (scope, provider, model):
                log.error("cache entry under the wrong key ignored (%s/%s)", provider, model)
                continue
            return entry
        return None

    async def get(self, key: str) -> tuple[CacheEntry | None, int]:
        """The entry under ``key`` and its remaining seconds (None, 0 when there is none)."""
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.get(key)
                pipe.ttl(key)
                raw, ttl = await pipe.execute()
        except RedisError as exc:
            log.warning("cache read failed (treated as a miss): %s", exc)
            return None, 0
        entry = _parse(raw)
        return (entry, int(ttl)) if entry is not None and ttl > 0 else (None, 0)

    async def store(
        self,
        request: CompletionRequest,
        tenant: str | None,
        provider: str,
        model: str,
        completion: Completion,
        cost_usd: Decimal,
        ttl: int,
        prompt: str | None = None,
    ) -> str | None:
        """Keep the answer for ``ttl`` seconds; its key, or None when it was not stored."""
        key = exact_key(request, tenant, provider, model)
        entry = CacheEntry(
            tenant=tenant_scope(tenant),
            provider=provider,
            model=model,
            completion=completion,
            cost_usd=cost_usd,
            stored_at=time.time(),
            prompt=prompt,
        )
        try:
            await self.redis.set(key, entry.model_dump_json(), ex=ttl)
        except RedisError as exc:
            log.warning("cache store failed: %s", exc)
            return None
        return key


def _parse(raw: bytes | str | None) -> CacheEntry | None:
    if raw is None:
        return None
    try:
        entry = CacheEntry.model_validate_json(raw)
    except ValidationError:
        return None  # written by another version: a miss, overwritten on the next store
    return entry if entry.v == KEY_VERSION else None
