"""Fallback across providers within one tier, behind a circuit breaker each.

For a call needing tier T, the chain tries each configured provider in order with that
provider's catalog model for T. A provider error that another provider might not have
(rate limit, overload, 5xx, timeout, bad credentials, open breaker) moves on to the next;
a bad request stops at once and is raised as it is, since the same request fails
everywhere. When every candidate fails, :class:`NoProviderAvailable` carries all attempts
and the shortest retry-after any of them asked for, so the caller can wait exactly that
long.

A stream falls back only before its first piece of text: after that, switching models
would splice two different answers, so a mid-stream error is raised as it is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal

from agentqueue.core.base.errors import BadRequest, NoProviderAvailable, ProviderError
from agentqueue.core.base.priority import Priority
from agentqueue.core.llm.breaker import CircuitBreaker
from agentqueue.core.llm.call_result import Attempt, CallResult
from agentqueue.core.llm.catalog import Catalog, ModelInfo, UnknownModel, capabilities_needed
from agentqueue.core.llm.messages import Completion, CompletionRequest, StreamEvent, TextDelta
from agentqueue.core.llm.providers.base import Provider
from agentqueue.core.ratelimit.gate import BudgetGate
from agentqueue.core.ratelimit.leases import Lease

log = logging.getLogger(__name__)


def _supports_tools(provider: Provider) -> bool:
    """Adapters that send a request's tools say so with ``supports_tools = True``."""
    return bool(getattr(provider, "supports_tools", False))


def _json_answer_with_tools(provider: Provider) -> bool:
    """Whether the adapter can send tools and a JSON answer format together (Claude's
    adapter makes the format a forced tool, so it cannot: ``False`` there)."""
    return bool(getattr(provider, "json_answer_with_tools", True))


class FallbackChain:
    """Ordered providers with a breaker each; see the module docstring."""

    def __init__(
        self,
        providers: Sequence[Provider],
        catalog: Catalog,
        *,
        failure_threshold: int = 3,
        cooldown: float = 30.0,
        gate: BudgetGate | None = None,
    ) -> None:
        self.providers = list(providers)
        self.catalog = catalog
        #: The shared rate limiter, asked before every attempt (None: no limits).
        self.gate = gate
        self.breakers = {
            p.name: CircuitBreaker(p.name, failure_threshold=failure_threshold, cooldown=cooldown)
            for p in self.providers
        }

    def candidates(self, request: CompletionRequest) -> list[tuple[Provider, str]]:
        """The (provider, model) pairs this chain would try, most preferred first.

        A pair is skipped when it could only answer part of the request: a request with
        tools skips providers whose adapter cannot send them, and any request skips a
        model whose catalog entry lacks a capability it needs (tools, vision for images,
        json_schema for a schema-shaped answer), and tools with a JSON answer format skip
        an adapter that cannot send both (Claude's). An answer made without the tools, blind
        to the images or free of the schema would be a different answer, passed off as
        this one; better to try the next provider, or fail with nothing to try.
        """
        needed = capabilities_needed(request)
        json_with_tools = bool(
            request.tools
            and request.response_format is not None
            and request.response_format.type != "text"
        )

        def usable(provider: Provider, model: ModelInfo) -> bool:
            if json_with_tools and not _json_answer_with_tools(provider):
                return False
            return (_supports_tools(provider) or not request.tools) and model.supports(needed)

        out = []
        for provider in self.providers:
            try:
                info = self.catalog.default_model(provider.name, request.tier)
            except UnknownModel:
                continue
            if usable(provider, info):
                out.append((provider, info.model))
        if request.model is not None:
            # a named model is tried first; fallback goes on within its tier
            wanted = self.catalog.get(request.model)
            named = [p for p in self.providers if p.name == wanted.provider and usable(p, wanted)]
            out = [(p, wanted.model) for p in named] + [
                (p, m) for p, m in out if p.name != wanted.provider
            ]
        return out

    async def _failed(
        self,
        provider: Provider,
        model: str,
        exc: ProviderError,
        started: float,
        lease: Lease | None,
    ) -> Attempt:
        """A failed attempt: its reservation settled, its breaker told, the attempt noted."""
        if self.gate is not None:
            await self.gate.release(lease, None, exc)
        breaker = self.breakers[provider.name]
        if exc.trips_breaker:
            breaker.record_failure()
        else:
            breaker.record_neutral()
        log.warning("provider %s/%s failed: %s", provider.name, model, exc)
        return Attempt(
            provider=provider.name,
            model=model,
            ok=False,
            latency_s=time.monotonic() - started,
            error_type=type(exc).__name__,
            error=str(exc),
        )

    async def _succeeded(
        self,
        provider: Provider,
        model: str,
        completion: Completion,
        started: float,
        lease: Lease | None,
        tenant: str | None,
        record_usage: bool = True,
    ) -> tuple[Attempt, Decimal]:
        """An answered attempt: its reservation settled with the real usage (and the
        tenant's usage and spend recorded), its breaker told, the attempt noted; returns
        the attempt and the call's cost.

        :meth:`complete` and :meth:`stream` both end here once a provider has answered
        in full, so that a streamed call is accounted exactly like a plain one.
        """
        cost = self.catalog.cost_usd(model, completion.usage)
        if self.gate is not None:
            await self.gate.release(
                lease,
                completion.usage,
                tenant=tenant,
                cost_usd=cost,
                rate_limit=completion.rate_limit,
                model=model,
                record_usage=record_usage,
            )
        self.breakers[provider.name].record_success()
        attempt = Attempt(
            provider=provider.name,
            model=model,
            ok=True,
            latency_s=time.monotonic() - started,
        )
        return attempt, cost

    async def complete(
        self,
        request: CompletionRequest,
        priority: Priority = Priority.STANDARD,
        tenant: str | None = None,
        *,
        record_usage: bool = True,
    ) -> CallResult:
        """Call the first provider that answers; the gate (if any) limits every attempt.

        ``record_usage=False``: the tenant's usage ledger is left to the caller, who records
        the call with its own record of it (a task's call: ``TaskStore.add_call``).

        A tenant over its quota raises :class:`QuotaExceeded` without falling back: the
        quota covers every provider.
        """
        attempts: list[Attempt] = []
        errors: list[ProviderError] = []
        for provider, model in self.candidates(request):
            started = time.monotonic()
            lease = None
            try:
                self.breakers[provider.name].before_call()
                if self.gate is not None:
                    lease = await self.gate.admit(provider.name, model, request, priority, tenant)
                completion = await provider.complete(request, model)
            except ProviderError as exc:
                attempts.append(await self._failed(provider, model, exc, started, lease))
                if isinstance(exc, BadRequest):
                    raise  # the same request fails everywhere: say what is wrong with it
                errors.append(exc)
                continue
            attempt, cost = await self._succeeded(
                provider, model, completion, started, lease, tenant, record_usage
            )
            attempts.append(attempt)
            return CallResult(completion=completion, cost_usd=cost, attempts=attempts)
        raise NoProviderAvailable(f"no {request.tier.value}-tier provider answered", errors)

    async def stream(
        self,
        request: CompletionRequest,
        attempts: list[Attempt] | None = None,
        *,
        priority: Priority = Priority.HIGH,
        tenant: str | None = None,
        costs: list[Decimal] | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Stream from the first provider that starts answering; record into ``attempts``.

        Each attempt goes through the gate like :meth:`complete` (interactive calls default
        to ``high`` priority). The call's cost is appended to ``costs`` when it finishes.
        """
        attempts = attempts if attempts is not None else []
        errors: list[ProviderError] = []
        for provider, model in self.candidates(request):
            started = time.monotonic()
            sent_any = False
            lease = None
            try:
                self.breakers[provider.name].before_call()
                if self.gate is not None:
                    lease = await self.gate.admit(provider.name, model, request, priority, tenant)
                async for event in provider.stream(request, model):
                    if isinstance(event, TextDelta):
                        sent_any = True
                    elif isinstance(event, Completion):
                        attempt, cost = await self._succeeded(
                            provider, model, event, started, lease, tenant
                        )
                        lease = None  # settled
                        attempts.append(attempt)
                        if costs is not None:
                            costs.append(cost)
                    yield event
                return
            except ProviderError as exc:
                attempts.append(await self._failed(provider, model, exc, started, lease))
                lease = None
                if sent_any or isinstance(exc, BadRequest):
                    raise
                errors.append(exc)
            finally:
                if lease is not None and self.gate is not None:  # the client went away
                    await self.gate.release(lease, None, None)
        raise NoProviderAvailable(f"no {request.tier.value}-tier provider answered", errors)

    async def aclose(self) -> None:
        for provider in self.providers:
            await provider.aclose()
        close_budgets = getattr(self.gate.budgets, "aclose", None) if self.gate else None
        if close_budgets is not None:
            await close_budgets()
