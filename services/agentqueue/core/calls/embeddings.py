"""The embedding call path: cache, breaker, budget gate, adapter, cost.

An embedding call is simpler than a completion (no tiers, no stream) but is held to the
same rules: the named model's provider behind its circuit breaker, the shared budget for
that provider and model (which waits or refuses before anything is sent, and charges the
tenant's quota), then the adapter; the real usage settles the reservation and the cost
goes into the tenant's usage and spend, exactly as :class:`FallbackChain` does it — with
the chain's own breakers and gate, so a provider is one provider to both paths.

There is no fallback: vectors of different models are not comparable, so an answer from
another provider would silently corrupt the caller's index. A failure is raised.

Each input is cached on its own (:mod:`agentqueue.core.cache.embeddings`): only the texts
not found (once each, however often the batch repeats them) go to the provider, and a call
whose every text is cached costs nothing and spends no budget.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

import redis.asyncio as aioredis

from agentqueue.core.base.errors import BadRequest, NoProviderAvailable, ProviderError
from agentqueue.core.base.priority import Priority
from agentqueue.core.cache.embeddings import EmbeddingCache, as_float32
from agentqueue.core.calls import observe
from agentqueue.core.calls.deployments import deployment_key, deployment_of
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.llm.breaker import CircuitBreaker
from agentqueue.core.llm.call_result import Attempt
from agentqueue.core.llm.catalog import Catalog, EmbeddingModelInfo
from agentqueue.core.llm.embeddings import Embedder, EmbeddingRequest, Embeddings
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.llm.providers.base import Provider
from agentqueue.core.llm.tokenizers import counter_for
from agentqueue.core.llm.tokens import estimate_text
from agentqueue.core.ratelimit.gate import BudgetGate
from agentqueue.core.ratelimit.leases import Lease
from agentqueue.core.settings import CoreSettings

log = logging.getLogger(__name__)


class InputRefused(BadRequest):
    """The request asks what the model cannot give; ``param`` names the field
    (``dimensions``, ``input[3]``) as OpenAI names it."""

    def __init__(self, message: str, *, param: str, model: str) -> None:
        super().__init__(message, model=model)
        self.param = param


@dataclass(frozen=True)
class EmbeddingResult:
    """The vectors of a call, in its inputs' order, and what the call cost."""

    embeddings: Embeddings
    cost_usd: Decimal
    #: How many of the inputs came from the cache (all of them: nothing was sent).
    cached_inputs: int

    @property
    def cached(self) -> str | None:
        """``exact`` when no input went to the provider, ``partial`` when some did not."""
        if self.cached_inputs == len(self.embeddings.vectors):
            return "exact"
        return "partial" if self.cached_inputs else None


def gate_request(request: EmbeddingRequest) -> CompletionRequest:
    """The request as the budget gate measures one: a message per input, so its estimate
    is the inputs' (:func:`estimate_text` each), and one output token, the least a
    completion may ask (an over-reservation of one token, settled away by the usage)."""
    return CompletionRequest(
        messages=[ChatMessage(role="user", content=text) for text in request.inputs],
        max_tokens=1,
    )


class EmbeddingCaller:
    """Embeds through the named model's provider only; see the module docstring."""

    def __init__(
        self,
        providers: Sequence[Provider],
        catalog: Catalog,
        *,
        breakers: dict[str, CircuitBreaker],
        gate: BudgetGate | None = None,
        cache: EmbeddingCache | None = None,
    ) -> None:
        #: The first deployment of each provider embeds (an embedding model's deployments
        #: are not routed among yet).
        self.providers: dict[str, Provider] = {}
        for p in providers:
            self.providers.setdefault(p.name, p)
        self.catalog = catalog
        self.breakers = breakers
        self.gate = gate
        self.cache = cache

    @classmethod
    def from_chain(cls, chain: FallbackChain, cache: EmbeddingCache | None) -> EmbeddingCaller:
        """Sharing the chain's providers, catalog, breakers and gate."""
        return cls(
            chain.providers, chain.catalog, breakers=chain.breakers, gate=chain.gate, cache=cache
        )

    def model(self, name: str) -> EmbeddingModelInfo:
        """The catalog's embedding model ``name``; :class:`UnknownModel` otherwise."""
        return self.catalog.embedding_model(name)

    def check(self, request: EmbeddingRequest) -> EmbeddingModelInfo:
        """The model, after refusing what it cannot take: more dimensions than it has, an
        input over its limit (by the local estimate); :class:`InputRefused` names which."""
        info = self.model(request.model)
        if request.dimensions is not None and request.dimensions > info.dimensions:
            raise InputRefused(
                f"{info.model} gives at most {info.dimensions} dimensions",
                param="dimensions",
                model=info.model,
            )
        counter = counter_for(info.provider, info.model)
        for i, text in enumerate(request.inputs):
            tokens = estimate_text(text, counter)
            if tokens > info.max_input_tokens:
                raise InputRefused(
                    f"input[{i}] is about {tokens} tokens, over the "
                    f"{info.max_input_tokens} {info.model} takes in one input",
                    param=f"input[{i}]",
                    model=info.model,
                )
        return info

    async def embed(
        self,
        request: EmbeddingRequest,
        priority: Priority = Priority.HIGH,
        tenant: str | None = None,
        key_id: str | None = None,
    ) -> EmbeddingResult:
        """The vectors of ``request.inputs``: cached ones as they are, the rest (each
        distinct text once) from the model's provider through the breaker and the gate.

        The result's input tokens count every input: the provider's count for those it
        embedded, the local estimate for cached ones (a call served whole from the cache
        still says how much text it embedded; its cost is 0).

        ``key_id``: the caller's API key, whose own quotas are charged with the tenant's.
        Raises :class:`UnknownModel`, :class:`InputRefused`, :class:`QuotaExceeded`, or
        :class:`NoProviderAvailable` carrying the provider's failure (a rate limit, ours
        or the provider's, with its retry-after).
        """
        info = self.check(request)
        texts = list(dict.fromkeys(request.inputs))
        known: dict[str, list[float]] = {}
        if self.cache is not None:
            found = await self.cache.lookup(
                tenant, info.provider, info.model, request.dimensions, texts
            )
            known = {t: v for t, v in zip(texts, found, strict=True) if v is not None}
        missing = [t for t in texts if t not in known]
        cost = Decimal(0)
        input_tokens = sum(estimate_text(t) for t in request.inputs if t in known)
        rate_limit = None
        if missing:
            asked = request.model_copy(update={"inputs": missing})
            fresh, cost = await self._call(info, asked, priority, tenant, key_id)
            vectors = {t: as_float32(v) for t, v in zip(missing, fresh.vectors, strict=True)}
            if self.cache is not None:
                await self.cache.store(
                    tenant, info.provider, info.model, request.dimensions, vectors
                )
            known |= vectors
            input_tokens += fresh.input_tokens
            rate_limit = fresh.rate_limit
        embeddings = Embeddings(
            vectors=[known[t] for t in request.inputs],
            provider=info.provider,
            model=info.model,
            input_tokens=input_tokens,
            rate_limit=rate_limit,
        )
        cached = sum(1 for t in request.inputs if t not in missing)
        return EmbeddingResult(embeddings=embeddings, cost_usd=cost, cached_inputs=cached)

    def _embedder(self, info: EmbeddingModelInfo) -> Embedder:
        provider = self.providers.get(info.provider)
        if provider is None or not getattr(provider, "supports_embeddings", False):
            raise NoProviderAvailable(
                f"{info.model} needs provider {info.provider}, which is not configured", []
            )
        return cast(Embedder, provider)

    async def _call(
        self,
        info: EmbeddingModelInfo,
        request: EmbeddingRequest,
        priority: Priority,
        tenant: str | None,
        key_id: str | None = None,
    ) -> tuple[Embeddings, Decimal]:
        """One provider call behind the breaker and the gate; the answer and its cost."""
        embedder = self._embedder(info)
        deployed = cast(Provider, embedder)
        breaker = self.breakers[deployment_key(deployed)]
        started = time.monotonic()
        lease: Lease | None = None
        try:
            probe = breaker.before_call()
            if self.gate is not None:
                lease = await self.gate.admit(
                    info.provider,
                    info.model,
                    gate_request(request),
                    priority,
                    tenant,
                    account=deployment_of(deployed),
                    key_id=key_id,
                )
                breaker.still_closed(probe)
            answer = await embedder.embed(request, info.model)
        except ProviderError as exc:
            await self._failed(breaker, lease, exc)
            # its series and line (a bad request, the client's to fix, is not a warning)
            observe.attempt_failed(
                _attempt(deployed, info.model, started, exc),
                exc,
                tenant,
                lease.waited if lease else 0.0,
            )
            if isinstance(exc, BadRequest):
                raise
            raise NoProviderAvailable(f"{info.model} did not answer", [exc]) from exc
        except BaseException:
            if lease is not None and self.gate is not None:  # cancelled: give the lease back
                await self.gate.release(lease, None, None)
            raise
        if len(answer.vectors) != len(request.inputs):
            wrong = ProviderError(
                f"{len(answer.vectors)} vectors for {len(request.inputs)} inputs",
                provider=info.provider,
                model=info.model,
            )
            await self._failed(breaker, lease, wrong)
            raise NoProviderAvailable(f"{info.model} answered wrongly", [wrong])
        cost = info.cost_usd(answer.input_tokens)
        if self.gate is not None:
            await self.gate.release(
                lease,
                answer.usage,
                tenant=tenant,
                cost_usd=cost,
                rate_limit=answer.rate_limit,
                model=info.model,
                key_id=key_id,
            )
        breaker.record_success()
        observe.attempt_succeeded(
            _attempt(deployed, info.model, started),
            answer.usage,
            cost,
            priority,
            tenant,
            lease.waited if lease else 0.0,
            call="embeddings",
        )
        return answer, cost

    async def _failed(
        self, breaker: CircuitBreaker, lease: Lease | None, exc: ProviderError
    ) -> None:
        if self.gate is not None:
            await self.gate.release(lease, None, exc)
        if exc.trips_breaker:
            breaker.record_failure()
        else:
            breaker.record_neutral()


def _attempt(
    provider: Provider, model: str, started: float, error: ProviderError | None = None
) -> Attempt:
    """An embedding call's attempt, as the chain notes its own (for the metrics and line)."""
    return Attempt(
        provider=provider.name,
        model=model,
        deployment=deployment_of(provider),
        ok=error is None,
        latency_s=time.monotonic() - started,
        error_type=type(error).__name__ if error is not None else None,
    )


def build_embedding_caller(
    chain: FallbackChain, redis: aioredis.Redis, settings: CoreSettings
) -> EmbeddingCaller:
    """The caller a process builds beside its chain, with the response cache's settings."""
    cache = (
        EmbeddingCache(redis, settings.cache_ttl, settings.cache_tenant_ttls)
        if settings.cache_enabled
        else None
    )
    return EmbeddingCaller.from_chain(chain, cache)
