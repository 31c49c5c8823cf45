"""Fallback across deployments, then providers, within one tier, behind a breaker each.

For a call needing tier T, the chain tries each configured provider in order with that
provider's catalog model for T (a model named by the call first); each model is tried at
every deployment that serves it — ordered for the call by :class:`DeploymentRouter`
(the one whose budget can take it soonest first) — before the next model is. A provider
error that another deployment might not have (rate limit, overload, 5xx, timeout, bad
credentials, open breaker) moves on to the next;
a bad request stops at once and is raised as it is, since the same request fails
everywhere. When every candidate fails, :class:`NoProviderAvailable` carries all attempts
and the shortest retry-after any of them asked for, so the caller can wait exactly that
long.

A stream falls back only before its first piece of text (passed through as bytes, its
first forwarded byte, which the adapter holds back until the first token): after that,
switching models would splice two different answers, so a mid-stream error is raised as
it is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import cast

from agentqueue.core.base.errors import BadRequest, CircuitOpen, NoProviderAvailable, ProviderError
from agentqueue.core.base.priority import Priority
from agentqueue.core.calls import observe, spans
from agentqueue.core.calls.breaker_exchange import BreakerExchange
from agentqueue.core.calls.deployments import (
    DeploymentRouter,
    deployment_key,
    deployment_of,
    serves,
)
from agentqueue.core.llm.breaker import CircuitBreaker
from agentqueue.core.llm.call_result import Attempt, CallResult
from agentqueue.core.llm.catalog import Catalog, ModelInfo, UnknownModel, capabilities_needed
from agentqueue.core.llm.messages import Completion, CompletionRequest, StreamEvent, TextDelta
from agentqueue.core.llm.providers.base import Passthrough, Provider, RawEvent
from agentqueue.core.ratelimit.gate import BudgetGate
from agentqueue.core.ratelimit.leases import Lease
from agentqueue.core.telemetry import timing

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
        router: DeploymentRouter | None = None,
        provider_order: Sequence[str] | None = None,
        exchange: BreakerExchange | None = None,
    ) -> None:
        #: One adapter per deployment, in the configured order.
        self.providers = list(providers)
        self.catalog = catalog
        #: The shared rate limiter, asked before every attempt (None: no limits).
        self.gate = gate
        #: Orders the deployments of one model for a call.
        self.router = router or DeploymentRouter()
        #: Catalog providers in fallback order (default: the deployments' order).
        self.provider_order = list(provider_order or dict.fromkeys(p.name for p in providers))
        #: One breaker per deployment (by :func:`deployment_key`).
        self.breakers = {
            deployment_key(p): CircuitBreaker(
                deployment_key(p), failure_threshold=failure_threshold, cooldown=cooldown
            )
            for p in self.providers
        }
        observe.watch_breakers(self.breakers)  # agentqueue_breaker_state, _opened_total
        #: Shares this process's breaker openings with its peers' (None: not shared).
        self.exchange = exchange
        if exchange is not None:
            exchange.attach(self.breakers)
        for p in self.providers:
            observe.deployment_known(p.name, deployment_of(p))

    def breaker(self, provider: Provider) -> CircuitBreaker:
        return self.breakers[deployment_key(provider)]

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

        return [
            (provider, info.model)
            for group in self.plan(request)
            for provider, info in group
            if usable(provider, info)
        ]

    def _models(self, request: CompletionRequest) -> list[ModelInfo]:
        """The models to try, preferred first: the one the call names, then the tier's
        model of each catalog provider in ``provider_order``, then of any other provider
        a deployment serves."""
        out: list[ModelInfo] = []
        if request.model is not None:
            out.append(self.catalog.get(request.model))
        served = [
            m.provider for m in self.catalog.models if any(serves(p, m) for p in self.providers)
        ]
        for provider in dict.fromkeys([*self.provider_order, *served]):
            try:
                info = self.catalog.default_model(provider, request.tier)
            except UnknownModel:
                continue
            if info not in out:
                out.append(info)
        return out

    def plan(self, request: CompletionRequest) -> list[list[tuple[Provider, ModelInfo]]]:
        """Per model to try (see :meth:`_models`), the deployments serving it, in the
        configured order (the router reorders each group per call)."""
        groups = []
        for info in self._models(request):
            group = [(p, info) for p in self.providers if serves(p, info)]
            if group:
                groups.append(group)
        return groups

    async def _attempts(
        self, request: CompletionRequest, priority: Priority
    ) -> AsyncIterator[tuple[Provider, str, str]]:
        """(adapter, model, catalog provider) to try in turn: :meth:`candidates`, each
        model's deployments ordered by the router when the call reaches them."""
        if self.exchange is not None:
            self.exchange.start()  # in the loop the calls run in; a no-op once listening
        usable = {(id(p), m) for p, m in self.candidates(request)}
        for group in self.plan(request):
            group = [(p, info) for p, info in group if (id(p), info.model) in usable]
            with timing.phase("route"):
                ordered = await self.router.order(group, request, self.gate, priority)
            for provider, info in ordered:
                yield provider, info.model, info.provider

    async def _admit(
        self,
        provider: Provider,
        owner: str,
        model: str,
        request: CompletionRequest,
        priority: Priority,
        tenant: str | None,
        key_id: str | None,
    ) -> Lease | None:
        """Let the attempt go: its breaker, then its budget (None: no limiter), then its
        breaker again — the provider may have died while the call waited. The budget's
        wall time is the request's ``budget`` phase (a wait, or only the round trip that
        found room). Raises :class:`CircuitOpen` with the budget given back."""
        breaker = self.breaker(provider)
        probe = breaker.before_call()
        if self.gate is None:
            return None
        with timing.phase("budget"):
            lease = await self.gate.admit(
                owner,
                model,
                request,
                priority,
                tenant,
                account=deployment_of(provider),
                key_id=key_id,
            )
        try:
            breaker.still_closed(probe)
        except CircuitOpen as exc:
            await self.gate.release(lease, None, exc)
            raise
        return lease

    async def _failed(
        self,
        provider: Provider,
        model: str,
        exc: ProviderError,
        started: float,
        lease: Lease | None,
        tenant: str | None = None,
    ) -> Attempt:
        """A failed attempt: its reservation settled, its breaker told, the attempt noted
        (and observed: its series and its log line)."""
        if self.gate is not None:
            await self.gate.release(lease, None, exc)
        breaker = self.breaker(provider)
        if isinstance(exc, CircuitOpen):
            pass  # refused before calling: it took no probe slot, so it gives none back
        elif exc.trips_breaker:
            breaker.record_failure()
        else:
            breaker.record_neutral()
        attempt = Attempt(
            provider=provider.name,
            model=model,
            deployment=deployment_of(provider),
            ok=False,
            latency_s=time.monotonic() - started,
            error_type=type(exc).__name__,
            error=str(exc),
        )
        observe.attempt_failed(attempt, exc, tenant, lease.waited if lease else 0.0)
        return attempt

    async def _succeeded(
        self,
        provider: Provider,
        model: str,
        completion: Completion,
        started: float,
        lease: Lease | None,
        tenant: str | None,
        record_usage: bool = True,
        priority: Priority | None = None,
        key_id: str | None = None,
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
                key_id=key_id,
            )
        self.breaker(provider).record_success()
        attempt = Attempt(
            provider=provider.name,
            model=model,
            deployment=deployment_of(provider),
            ok=True,
            latency_s=time.monotonic() - started,
        )
        observe.attempt_succeeded(
            attempt, completion.usage, cost, priority, tenant, lease.waited if lease else 0.0
        )
        return attempt, cost

    async def complete(
        self,
        request: CompletionRequest,
        priority: Priority = Priority.STANDARD,
        tenant: str | None = None,
        *,
        record_usage: bool = True,
        key_id: str | None = None,
    ) -> CallResult:
        """Call the first provider that answers; the gate (if any) limits every attempt.

        ``key_id``: the API key the call is made with (its own quotas are charged too).

        ``record_usage=False``: the tenant's usage ledger is left to the caller, who records
        the call with its own record of it (a task's call: ``TaskStore.add_call``).

        A tenant over its quota raises :class:`QuotaExceeded` without falling back: the
        quota covers every provider.
        """
        attempts: list[Attempt] = []
        errors: list[ProviderError] = []
        async for provider, model, owner in self._attempts(request, priority):
            if attempts and not attempts[-1].ok:
                observe.fell_back(attempts[-1])
            started = time.monotonic()
            sent: float | None = None  # when the request left for the provider
            lease = None
            span = spans.start_attempt(provider, model, request)  # None: tracing off
            try:
                lease = await self._admit(provider, owner, model, request, priority, tenant, key_id)
                sent = time.monotonic()
                completion = await provider.complete(request, model)
                timing.record("provider", time.monotonic() - sent)
            except ProviderError as exc:
                spans.failed(span, exc)
                if sent is not None:
                    timing.record("failed", time.monotonic() - sent)
                attempts.append(await self._failed(provider, model, exc, started, lease, tenant))
                if isinstance(exc, BadRequest):
                    raise  # the same request fails everywhere: say what is wrong with it
                errors.append(exc)
                continue
            except BaseException as exc:  # a quota, a cancellation: the attempt ends here
                spans.failed(span, exc)
                # give back what the attempt held: a half-open breaker's probe slot, and a
                # reservation (with its key's and tenant's charges) that would otherwise
                # stay taken until its lease expires
                self.breaker(provider).record_neutral()
                if lease is not None and self.gate is not None:
                    await self.gate.release(lease, None, None)
                raise
            attempt, cost = await self._succeeded(
                provider, model, completion, started, lease, tenant, record_usage, priority, key_id
            )
            attempts.append(attempt)
            spans.answered(span, completion, cost)
            return CallResult(completion=completion, cost_usd=cost, attempts=attempts)
        raise NoProviderAvailable(f"no {request.tier.value}-tier provider answered", errors)

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
        """Stream from the first provider that starts answering; record into ``attempts``.

        Each attempt goes through the gate like :meth:`complete` (interactive calls default
        to ``high`` priority). The call's cost is appended to ``costs`` when it finishes.
        """
        events = self._stream(request, attempts, None, priority, tenant, costs, key_id)
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
        """:meth:`stream` for a caller speaking ``passthrough.protocol``: a provider of
        that protocol forwards its own bytes (then its :class:`Completion`); any other
        answers with events as :meth:`stream` does (unless ``passthrough.required``: then
        it is skipped). Fallback, gate, breakers and accounting are the same."""
        return self._stream(request, attempts, passthrough, priority, tenant, costs, key_id)

    async def _stream(
        self,
        request: CompletionRequest,
        attempts: list[Attempt] | None,
        passthrough: Passthrough | None,
        priority: Priority,
        tenant: str | None,
        costs: list[Decimal] | None,
        key_id: str | None = None,
    ) -> AsyncIterator[RawEvent | StreamEvent]:
        attempts = attempts if attempts is not None else []
        errors: list[ProviderError] = []
        async for provider, model, owner in self._attempts(request, priority):
            raw = passthrough is not None and provider.passes_through(request, passthrough)
            if passthrough is not None and passthrough.required and not raw:
                continue
            if attempts and not attempts[-1].ok:
                observe.fell_back(attempts[-1])
            started = time.monotonic()
            sent: float | None = None  # when the request left for the provider
            sent_any = False
            lease = None
            span = spans.start_attempt(provider, model, request)  # None: tracing off
            try:
                lease = await self._admit(provider, owner, model, request, priority, tenant, key_id)
                sent = time.monotonic()
                source: AsyncIterator[RawEvent | StreamEvent] = (
                    provider.stream_raw(request, model, passthrough)
                    if raw and passthrough is not None
                    else provider.stream(request, model)
                )
                async for event in source:
                    if isinstance(event, TextDelta | bytes):
                        if not sent_any:  # time to first token, the budget's wait left out
                            timing.record("provider", time.monotonic() - sent)
                            waited = lease.waited if lease else 0.0
                            observe.first_token(
                                provider.name,
                                model,
                                deployment_of(provider),
                                time.monotonic() - started - waited,
                            )
                        sent_any = True
                    elif isinstance(event, Completion):
                        attempt, cost = await self._succeeded(
                            provider, model, event, started, lease, tenant, True, priority, key_id
                        )
                        lease = None  # settled
                        attempts.append(attempt)
                        spans.answered(span, event, cost)
                        span = None
                        if costs is not None:
                            costs.append(cost)
                    yield event
                return
            except ProviderError as exc:
                spans.failed(span, exc)
                span = None
                if sent is not None and not sent_any:
                    timing.record("failed", time.monotonic() - sent)
                attempts.append(await self._failed(provider, model, exc, started, lease, tenant))
                lease = None
                if sent_any or isinstance(exc, BadRequest):
                    raise
                errors.append(exc)
            finally:
                spans.abandoned(span)  # neither answered nor failed: the client went away
                if lease is not None and self.gate is not None:  # the client went away
                    await self.gate.release(lease, None, None)
        raise NoProviderAvailable(f"no {request.tier.value}-tier provider answered", errors)

    async def aclose(self) -> None:
        if self.exchange is not None:
            await self.exchange.aclose()
        for provider in self.providers:
            await provider.aclose()
        close_budgets = getattr(self.gate.budgets, "aclose", None) if self.gate else None
        if close_budgets is not None:
            await close_budgets()
