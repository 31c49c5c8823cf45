"""The LLM call pipeline: cache, then single-flight, then the fallback chain, then store.

Per call: exact lookup → semantic lookup (when on) → wait for an identical call already
in flight → :meth:`FallbackChain.complete` (limiter, providers, breakers) → store.

The cache sits *before* the limiter, although the original design drew it after: a
hit spends no provider budget and no tenant quota, so it must not wait for either, and
a request that a tenant's quota would refuse may still be served from the cache at no
cost. A hit costs zero (``cost_usd`` 0, usage 0) and reports what it saved
(``saved_usd``: what the answer cost when it was bought).

:class:`Completer` is what the worker's runner needs: a bare chain or this pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol, cast

import redis.asyncio as aioredis

from agentqueue.core.base.priority import Priority
from agentqueue.core.cache.exact import CacheEntry, ExactCache
from agentqueue.core.cache.keys import flight_key, semantic_prompt
from agentqueue.core.cache.metrics import LOOKUPS, SAVED_TOKENS, SAVED_USD, STORES
from agentqueue.core.cache.policy import CachePolicy, Decision
from agentqueue.core.cache.singleflight import SingleFlight
from agentqueue.core.calls import spans
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.llm.call_result import Attempt, CallResult
from agentqueue.core.llm.messages import (
    Completion,
    CompletionRequest,
    StreamEvent,
    TextDelta,
    Usage,
)
from agentqueue.core.llm.providers.base import Passthrough, RawEvent
from agentqueue.core.settings import CoreSettings
from agentqueue.core.telemetry import timing

if TYPE_CHECKING:  # numpy: only with the semantic extra
    from agentqueue.core.cache.embedder import Vector
    from agentqueue.core.cache.semantic import SemanticCache

log = logging.getLogger(__name__)


class Completer(Protocol):
    async def complete(
        self,
        request: CompletionRequest,
        priority: Priority = Priority.STANDARD,
        tenant: str | None = None,
        *,
        record_usage: bool = True,
        key_id: str | None = None,
    ) -> CallResult: ...


class CallPipeline:
    """A :class:`FallbackChain` behind the response cache; see the module docstring."""

    def __init__(
        self,
        chain: FallbackChain,
        *,
        exact: ExactCache | None,
        policy: CachePolicy | None = None,
        flights: SingleFlight | None = None,
        semantic: SemanticCache | None = None,
    ) -> None:
        self.chain = chain
        self.exact = exact
        self.policy = policy or CachePolicy()
        self.flights = flights
        self.semantic = semantic

    @classmethod
    def from_settings(
        cls, chain: FallbackChain, redis: aioredis.Redis, settings: CoreSettings
    ) -> CallPipeline:
        if not settings.cache_enabled:
            return cls(chain, exact=None, policy=CachePolicy(enabled=False))
        exact = ExactCache(redis)
        return cls(
            chain,
            exact=exact,
            policy=CachePolicy(
                default_ttl=settings.cache_ttl,
                tenant_ttls=settings.cache_tenant_ttls,
                nondeterministic=settings.cache_nondeterministic,
                semantic=settings.cache_semantic,
                semantic_tenants=tuple(settings.cache_semantic_tenants),
            ),
            flights=SingleFlight(redis, settings.single_flight_timeout),
            semantic=_semantic_cache(redis, exact, settings),
        )

    async def complete(
        self,
        request: CompletionRequest,
        priority: Priority = Priority.STANDARD,
        tenant: str | None = None,
        *,
        record_usage: bool = True,
        key_id: str | None = None,
    ) -> CallResult:
        decision = self.policy.decide(request, tenant)
        if self.exact is None or not (decision.read or decision.store):
            LOOKUPS.labels("bypass").inc()
            return await self.chain.complete(
                request, priority, tenant, record_usage=record_usage, key_id=key_id
            )
        exact = self.exact
        with timing.phase("cache"):
            candidates = await self._cache_candidates(request, key_id)
            hit, vector = await self._lookup(request, tenant, decision, candidates)
        if hit is not None:
            spans.cache_hit(request, hit)
            return hit

        async def call() -> CallResult:
            result = await self.chain.complete(
                request, priority, tenant, record_usage=record_usage, key_id=key_id
            )
            await self._store(request, tenant, decision, result, vector)
            return result

        async def check() -> CallResult | None:
            entry = await exact.lookup(request, tenant, candidates)
            return _hit(entry, "exact") if entry is not None else None

        if self.flights is None or not (decision.read and decision.store):
            return await call()
        result, _role = await self.flights.run(flight_key(request, tenant), call, check)
        if result.cached is not None:  # the identical call in flight answered it
            spans.cache_hit(request, result)
        return result

    def stream(
        self,
        request: CompletionRequest,
        attempts: list[Attempt] | None = None,
        *,
        priority: Priority = Priority.HIGH,
        tenant: str | None = None,
        costs: list[Decimal] | None = None,
        key_id: str | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """:meth:`FallbackChain.stream` behind the cache (no single-flight: a stream's
        first tokens matter more than a duplicate call). A hit is streamed as one
        :class:`TextDelta` and its :class:`Completion` (zero usage); it records no
        attempt and appends a cost of 0 to ``costs``."""
        events = self._stream(request, None, attempts, priority, tenant, costs, key_id)
        return cast(AsyncIterator[StreamEvent], events)  # no pass-through: no bytes

    def stream_passthrough(
        self,
        request: CompletionRequest,
        passthrough: Passthrough,
        attempts: list[Attempt] | None = None,
        *,
        priority: Priority = Priority.HIGH,
        tenant: str | None = None,
        costs: list[Decimal] | None = None,
        key_id: str | None = None,
    ) -> AsyncIterator[RawEvent | StreamEvent]:
        """:meth:`stream` for a caller speaking ``passthrough.protocol``: the provider's
        own bytes when it speaks it too (:meth:`FallbackChain.stream_passthrough`), events
        otherwise and for a cache hit. The answer is stored as :meth:`stream` stores it; a
        request that must pass through (``required``) skips the cache, which keeps only
        what every path can give."""
        return self._stream(request, passthrough, attempts, priority, tenant, costs, key_id)

    async def _stream(
        self,
        request: CompletionRequest,
        passthrough: Passthrough | None,
        attempts: list[Attempt] | None,
        priority: Priority,
        tenant: str | None,
        costs: list[Decimal] | None,
        key_id: str | None = None,
    ) -> AsyncIterator[RawEvent | StreamEvent]:
        decision = self.policy.decide(request, tenant)
        attempts = attempts if attempts is not None else []
        costs = costs if costs is not None else []
        hit: CallResult | None = None
        vector: Vector | None = None
        cached = self.exact is not None and (decision.read or decision.store)
        # fields outside the core request (reasoning_effort, logprobs) are not in the cache
        # key: such a call neither reads nor fills the cache
        outside_key = passthrough is not None and (passthrough.required or passthrough.extra)
        if cached and not outside_key:
            with timing.phase("cache"):
                candidates = await self._cache_candidates(request, key_id)
                hit, vector = await self._lookup(request, tenant, decision, candidates)
        else:
            cached = False
            LOOKUPS.labels("bypass").inc()
        if hit is not None:
            spans.cache_hit(request, hit)
            costs.append(Decimal(0))
            if hit.completion.text:
                yield TextDelta(text=hit.completion.text)
            yield hit.completion
            return
        final: Completion | None = None
        events: AsyncIterator[RawEvent | StreamEvent] = (
            self.chain.stream(
                request, attempts, priority=priority, tenant=tenant, costs=costs, key_id=key_id
            )
            if passthrough is None
            else self.chain.stream_passthrough(
                request,
                passthrough,
                attempts,
                priority=priority,
                tenant=tenant,
                costs=costs,
                key_id=key_id,
            )
        )
        async for event in events:
            if isinstance(event, Completion):
                final = event
            yield event
        if cached and final is not None and costs:
            result = CallResult(completion=final, cost_usd=costs[-1], attempts=attempts)
            await self._store(request, tenant, decision, result, vector)

    async def _cache_candidates(
        self, request: CompletionRequest, key_id: str | None
    ) -> list[tuple[str, str]]:
        """The (provider, model) pairs whose cached answers may serve this call: the
        chain's candidates, less the models the caller's key may not use — a cached answer
        first bought with another key must not hand this one a model it is denied."""
        pairs = [(p.name, model) for p, model in self.chain.candidates(request)]
        gate = getattr(self.chain, "gate", None)  # a completer may have no limiter
        if key_id is None or gate is None or gate.quotas is None:
            return pairs
        key = await gate.quotas.keys.record(key_id)
        if key is None:
            return pairs
        return [(p, m) for p, m in pairs if key.allows_model(m)]

    async def _lookup(
        self,
        request: CompletionRequest,
        tenant: str | None,
        decision: Decision,
        candidates: list[tuple[str, str]],
    ) -> tuple[CallResult | None, Vector | None]:
        """A cached answer (exact, then semantic), and the prompt's vector for the store."""
        assert self.exact is not None
        semantic = self.semantic if decision.semantic else None
        vector: Vector | None = None
        if decision.read:
            entry = await self.exact.lookup(request, tenant, candidates)
            if entry is not None:
                LOOKUPS.labels("exact_hit").inc()
                return _hit(entry, "exact"), None
        if semantic is not None:  # embedded only past an exact miss: it takes milliseconds
            vector = await semantic.embed(request)
        if decision.read:
            if semantic is not None and vector is not None:
                found = await semantic.lookup(request, tenant, candidates, vector)
                if found is not None:
                    LOOKUPS.labels("semantic_hit").inc()
                    if decision.store:  # the paraphrase's next repeat is an exact hit
                        await self.exact.store(
                            request,
                            tenant,
                            found.entry.provider,
                            found.entry.model,
                            found.entry.completion,
                            found.entry.cost_usd,
                            min(decision.ttl, found.ttl),
                            prompt=semantic_prompt(request),
                        )
                    return _hit(found.entry, "semantic"), vector
            LOOKUPS.labels("miss").inc()
        return None, vector

    async def _store(
        self,
        request: CompletionRequest,
        tenant: str | None,
        decision: Decision,
        result: CallResult,
        vector: Vector | None,
    ) -> None:
        if not decision.store or self.exact is None or not result.attempts:
            return
        answered = result.attempts[-1]  # the candidate that answered, as lookups name it
        prompt = semantic_prompt(request)
        key = await self.exact.store(
            request,
            tenant,
            answered.provider,
            answered.model,
            result.completion,
            result.cost_usd,
            decision.ttl,
            prompt=prompt,
        )
        if key is None:
            return
        STORES.labels("exact").inc()
        if self.semantic is not None and decision.semantic and vector is not None:
            await self.semantic.add(
                request, tenant, answered.provider, answered.model, key, vector, decision.ttl
            )
            STORES.labels("semantic").inc()

    async def aclose(self) -> None:
        await self.chain.aclose()


def _hit(entry: CacheEntry, kind: str) -> CallResult:
    """A cached answer as this call's result: nothing spent, the first call's cost saved."""
    SAVED_USD.inc(float(entry.cost_usd))
    SAVED_TOKENS.inc(entry.completion.usage.total_tokens)
    return CallResult(
        completion=entry.completion.model_copy(update={"usage": Usage()}),
        cost_usd=Decimal(0),
        attempts=[],
        cached=kind,
        saved_usd=entry.cost_usd,
    )


def _semantic_cache(
    redis: aioredis.Redis, exact: ExactCache, settings: CoreSettings
) -> SemanticCache | None:
    """The semantic cache the settings ask for; None when its embedder cannot run here.

    Configured on (for everyone or for named tenants) but unable to run is an error at
    start; merely available for per-request opt-in, it is skipped with a warning.
    """
    wanted = settings.cache_semantic or bool(settings.cache_semantic_tenants)
    try:
        from agentqueue.core.cache.embedder import (
            Embedder,
            MiniLMEmbedder,
            OpenAIEmbedder,
            minilm_available,
        )
        from agentqueue.core.cache.semantic import SemanticCache
    except ImportError as exc:  # numpy missing: the semantic extra is not installed
        if wanted:
            raise RuntimeError(f"semantic cache configured but {exc}") from exc
        return None
    embedder: Embedder
    if settings.cache_embedder == "openai":
        key = settings.api_key("openai")
        if key is None:
            if wanted:
                raise RuntimeError("semantic cache with the openai embedder needs an OpenAI key")
            return None
        embedder = OpenAIEmbedder(key.get_secret_value(), settings.base_url("openai"))
    else:
        missing = minilm_available()
        if missing is not None:
            if wanted:
                raise RuntimeError(f"semantic cache configured but {missing}")
            log.info("semantic cache unavailable: %s", missing)
            return None
        embedder = MiniLMEmbedder()
    return SemanticCache(
        redis,
        exact,
        embedder,
        threshold=settings.cache_semantic_threshold,
        max_entries=settings.cache_semantic_max_entries,
    )
