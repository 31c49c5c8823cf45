"""The design document's architecture, as written, over the same simulator.

Its three pieces, each as the document gives it:

- **limiter**: ``TokenBucketRateLimiter`` — a sliding window per process, held to 90% of
  the provider's limits, polling every second (:class:`bench.limiter.DesignDocLimiter`,
  its minute and its sleep scaled like the simulator's minute). One per model in every
  process: each worker process and the web process believe they own the whole limit;
- **fallback**: ``llm_call_with_fallback`` — the tier's providers in priority order
  (Claude, then GPT, then Gemini), the next one on any API or rate-limit error, and
  ``Exception("All providers failed")`` after the last;
- **cache**: ``SemanticCache`` as the document writes it — SHA-256 of the prompt and model
  in Redis, an hour's TTL, checked before the call and filled after it.

The official SDKs are reached through agentqueue's provider adapters with their retries
off, so a provider's 429 reaches the fallback loop as the document's code sees it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict

import redis.asyncio as aioredis

from agentqueue.core.base.errors import ProviderError
from agentqueue.core.calls.registry import build_provider
from agentqueue.core.llm.catalog import Catalog
from agentqueue.core.llm.messages import Completion, CompletionRequest, TextDelta
from agentqueue.core.llm.providers.base import Provider, ProviderConfig
from agentqueue.core.ratelimit.gate import estimate_input_tokens
from bench.limiter import DesignDocLimiter
from bench.scenario.limits import TIERS
from bench.scenario.outcome import Call

#: The document's PROVIDER_CONFIGS, per tier, in its priority order.
PROVIDER_CONFIGS = {
    "frontier": (
        ("anthropic", "claude-sonnet-4-6"),
        ("openai", "gpt-4.1"),
        ("google", "gemini-2.5-pro"),
    ),
    "efficient": (
        ("anthropic", "claude-haiku-4-5"),
        ("openai", "gpt-4.1-mini"),
        ("google", "gemini-2.5-flash"),
    ),
}
CACHE_TTL = 3600


class AllProvidersFailed(Exception):
    """The document's ``Exception(f"All providers failed. Last error: ...")``."""


class DesignDocCalls:
    """One process's LLM calls: cache, then the fallback loop, each call through the
    process's own limiter for that model."""

    def __init__(
        self,
        configs: Sequence[ProviderConfig],
        catalog: Catalog,
        redis: aioredis.Redis,
        minute_seconds: float,
    ) -> None:
        self.providers: dict[str, Provider] = {c.name: build_provider(c) for c in configs}
        self.catalog, self.redis = catalog, redis
        tiers = {t.provider: t for t in TIERS}
        self.limiters = {
            model: DesignDocLimiter(tiers[p].tpm, tiers[p].rpm, minute_seconds)
            for chain in PROVIDER_CONFIGS.values()
            for p, model in chain
        }

    @staticmethod
    def cache_key(request: CompletionRequest, tier: str) -> str:
        """``SemanticCache._cache_key``: the prompt's SHA-256 under the tier's first model."""
        model = PROVIDER_CONFIGS[tier][0][1]
        prompt = json.dumps(
            [request.system, [(m.role, m.content) for m in request.messages]], sort_keys=True
        )
        return f"llm_cache:{model}:{hashlib.sha256(prompt.encode()).hexdigest()}"

    async def _store(self, key: str, call: Call, text: str) -> None:
        body = json.dumps({"call": asdict(call), "text": text})
        await self.redis.setex(key, CACHE_TTL, body)

    def _call_of(self, done: Completion, provider: str, first: str) -> Call:
        cost = float(self.catalog.cost_usd(done.model, done.usage))
        return Call(
            provider,
            done.model,
            done.usage.input_tokens,
            done.usage.output_tokens,
            cost,
            fell_back=provider != first,
        )

    async def cached_text(self, key: str) -> tuple[Call, str] | None:
        """The stored answer, as a call that cost nothing and saved what the first cost."""
        hit = await self.redis.get(key)
        if hit is None:
            return None
        stored = json.loads(hit)
        first = Call(**stored["call"])
        call = Call(
            first.provider,
            first.model,
            first.input_tokens,
            first.output_tokens,
            cost_usd=0.0,
            cached=True,
            saved_usd=first.cost_usd,
        )
        return call, str(stored["text"])

    async def complete(self, request: CompletionRequest, tier: str) -> tuple[Call, str]:
        """``cached_llm_call`` around ``llm_call_with_fallback``."""
        key = self.cache_key(request, tier)
        hit = await self.cached_text(key)
        if hit is not None:
            return hit
        chain = PROVIDER_CONFIGS[tier]
        last: Exception | None = None
        for provider, model in chain:
            try:
                await self.limiters[model].acquire(
                    estimate_input_tokens(request) + request.max_tokens
                )
                done = await self.providers[provider].complete(request, model)
            except ProviderError as exc:  # the document's (APIError, RateLimitError)
                last = exc
                continue
            call = self._call_of(done, provider, chain[0][0])
            await self._store(key, call, done.text)
            return call, done.text
        raise AllProvidersFailed(f"All providers failed. Last error: {last}")

    async def stream(
        self, request: CompletionRequest, tier: str, sent: float
    ) -> tuple[Call, str, float]:
        """The same, streamed (the web process's chat): the next provider only before the
        first token. Returns the call, the text and the time to the first token."""
        key = self.cache_key(request, tier)
        hit = await self.cached_text(key)
        if hit is not None:
            return hit[0], hit[1], time.perf_counter() - sent
        chain = PROVIDER_CONFIGS[tier]
        last: Exception | None = None
        for provider, model in chain:
            ttft: float | None = None
            parts: list[str] = []
            try:
                await self.limiters[model].acquire(
                    estimate_input_tokens(request) + request.max_tokens
                )
                async for event in self.providers[provider].stream(request, model):
                    if isinstance(event, TextDelta):
                        if ttft is None:
                            ttft = time.perf_counter() - sent
                        parts.append(event.text)
                    else:
                        call = self._call_of(event, provider, chain[0][0])
                        await self._store(key, call, event.text)
                        return call, event.text, ttft if ttft is not None else 0.0
            except ProviderError as exc:
                if ttft is not None:
                    raise  # mid-stream: the client has the first tokens, no fallback
                last = exc
                continue
        raise AllProvidersFailed(f"All providers failed. Last error: {last}")

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()
