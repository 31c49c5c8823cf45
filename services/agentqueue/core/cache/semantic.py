"""The semantic cache: a paraphrase of a cached prompt gets the cached answer.

Opt-in (per tenant or per request), and only inside a scope: the hash of everything but
the last user message (tenant, provider and model, system prompt, earlier turns, tools,
parameters — :func:`~agentqueue.core.cache.keys.semantic_scope`). Within it, the stored
prompts' vectors are searched for ones at or above ``threshold`` (0.95 by default;
common peers ship 0.8 to 0.9 and serve wrong answers); each match, best first, must then
pass the guard (:mod:`~agentqueue.core.cache.guard`) against the prompt it was stored
for: the two prompts must be the same ordered token sequence up to a short whitelist of
rewordings, because near misses (swapped roles, ``CO``/``Co``, an indented line) often
embed at 1.0 and no threshold tells them apart. The answer itself lives in the exact
cache, under the key the vector points at, so it expires with its exact entry and is
checked for tenant, provider and model once more when read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agentqueue.core.cache.embedder import Embedder, Vector
from agentqueue.core.cache.exact import CacheEntry, ExactCache
from agentqueue.core.cache.guard import refusal
from agentqueue.core.cache.index import VectorStore
from agentqueue.core.cache.keys import PREFIX, semantic_prompt, semantic_scope, tenant_scope
from agentqueue.core.cache.metrics import GUARD_REFUSALS, SEMANTIC_SEARCH
from agentqueue.core.llm.messages import CompletionRequest

log = logging.getLogger(__name__)

#: Matches above the threshold looked at per scope before giving up.
TOP_K = 4


@dataclass(frozen=True)
class SemanticHit:
    entry: CacheEntry
    similarity: float
    #: Seconds the matched answer has left: a copy for the paraphrase lives no longer.
    ttl: int


class SemanticCache:
    def __init__(
        self,
        redis: aioredis.Redis,
        exact: ExactCache,
        embedder: Embedder,
        *,
        threshold: float = 0.95,
        max_entries: int = 100_000,
    ) -> None:
        self.exact = exact
        self.embedder = embedder
        self.threshold = threshold
        self.vectors = VectorStore(redis, embedder.name, max_entries=max_entries)

    async def embed(self, request: CompletionRequest) -> Vector | None:
        """The request's prompt vector; None when it has no user prompt to compare."""
        prompt = semantic_prompt(request)
        if prompt is None:
            return None
        try:
            return await self.embedder.embed(prompt)
        except Exception as exc:  # an embedding outage must not fail the call
            log.warning("embedding failed (semantic cache skipped): %s", exc)
            return None

    async def lookup(
        self,
        request: CompletionRequest,
        tenant: str | None,
        candidates: Sequence[tuple[str, str]],
        vector: Vector,
    ) -> SemanticHit | None:
        prompt = semantic_prompt(request)
        if prompt is None:
            return None
        for provider, model in candidates:
            scope = semantic_scope(request, tenant, provider, model)
            started = time.perf_counter()
            try:
                matches = await self.vectors.search(scope, vector, self.threshold, TOP_K)
            except RedisError as exc:
                log.warning("semantic lookup failed (treated as a miss): %s", exc)
                return None
            SEMANTIC_SEARCH.observe(time.perf_counter() - started)
            for match in matches:
                entry, ttl = await self.exact.get(f"{PREFIX}:x:{match.digest}")
                if entry is None or entry.prompt is None:
                    continue  # expired with its exact entry
                if (entry.tenant, entry.provider, entry.model) != (
                    tenant_scope(tenant),
                    provider,
                    model,
                ):
                    log.error("semantic match outside its scope ignored")
                    continue
                reason = refusal(prompt, entry.prompt)
                if reason is not None:
                    GUARD_REFUSALS.labels(reason).inc()
                    log.info("semantic match %.3f refused: %s differ", match.similarity, reason)
                    continue
                return SemanticHit(entry, match.similarity, ttl)
        return None

    async def add(
        self,
        request: CompletionRequest,
        tenant: str | None,
        provider: str,
        model: str,
        exact_key: str,
        vector: Vector,
        ttl: int,
    ) -> None:
        """Make the answer stored under ``exact_key`` findable by paraphrases."""
        scope = semantic_scope(request, tenant, provider, model)
        digest = exact_key.rsplit(":", 1)[-1]
        try:
            await self.vectors.add(scope, vector, digest, ttl)
        except RedisError as exc:
            log.warning("semantic store failed: %s", exc)
