"""The limiter in front of every provider call: reserve, call, settle, learn.

The fallback chain asks the gate before each provider attempt. A budget that cannot
serve the call within ``max_wait`` becomes a :class:`RateLimited` *before* anything is
sent — so the chain falls back, or the task retries later, without the provider's 429.
After the call the reservation is replaced by the real usage; a provider 429 (which the
budget should have prevented) pulls the budget down for the provider's retry-after.
"""

from __future__ import annotations

import logging
import math
import time
import uuid

from agentqueue.core.errors import (
    BudgetExhausted,
    LimiterUnavailable,
    Overloaded,
    ProviderError,
    RateLimited,
    UnknownBudget,
)
from agentqueue.core.messages import CompletionRequest, Usage
from agentqueue.core.priority import Priority
from agentqueue.core.ratelimit.budget import BudgetLimits, budget_name
from agentqueue.core.ratelimit.leases import Budgets, Charge, Lease
from agentqueue.core.ratelimit.local_share import LocalShare
from agentqueue.core.ratelimit.metrics import (
    ACQUIRES,
    DENIALS,
    ESTIMATE_ERROR,
    LOCAL_FALLBACKS,
    PROVIDER_429S,
    WAITS,
)

log = logging.getLogger(__name__)

#: Lease ids of reservations taken on a local share.
LOCAL_LEASE = "local:"


def estimate_input_tokens(request: CompletionRequest) -> int:
    """About 4 characters a token, 4 tokens of overhead a message: an over-estimate for
    English on current tokenizers, corrected at settle time by the real usage."""
    texts = [m.content for m in request.messages]
    if request.system:
        texts.append(request.system)
    return sum(math.ceil(len(t) / 4) + 4 for t in texts)


class BudgetGate:
    def __init__(
        self,
        budgets: Budgets,
        *,
        account: str = "default",
        max_wait: float = 30.0,
        margin: float = 0.02,
        local_limits: dict[str, BudgetLimits] | None = None,
        replicas: int = 1,
    ) -> None:
        self.budgets = budgets
        self.account = account
        self.max_wait = max_wait
        self.margin = margin
        #: Limits known locally, for the share used while Redis is unreachable.
        self.local_limits = local_limits or {}
        #: Processes sharing each budget: the local share is limit ÷ replicas.
        self.replicas = replicas
        self._local: dict[str, LocalShare] = {}
        self._unlimited_logged: set[str] = set()
        self._outage_logged_at = -math.inf

    async def admit(
        self, provider: str, model: str, request: CompletionRequest, priority: Priority
    ) -> Lease | None:
        """Wait for the call's turn; None when the budget is not configured (unlimited)."""
        name = budget_name(provider, model, self.account)
        charge = Charge(
            name, estimate_input_tokens(request) + request.max_tokens, output=request.max_tokens
        )
        try:
            try:
                lease = await self.budgets.acquire(
                    [charge], priority=priority, max_wait=self.max_wait
                )
            except LimiterUnavailable as exc:
                lease = await self._admit_locally(charge, exc)
        except UnknownBudget:
            if name not in self._unlimited_logged:
                self._unlimited_logged.add(name)
                log.warning("no budget configured for %s: calls to it are not limited", name)
            return None
        except BudgetExhausted as exc:
            DENIALS.labels(name).inc()
            raise RateLimited(
                f"held back by our limiter: {exc}",
                retry_after=exc.retry_after,
                provider=provider,
                model=model,
            ) from exc
        ACQUIRES.labels(name, priority.value).inc()
        WAITS.labels(name).observe(lease.waited)
        return lease

    async def _admit_locally(self, charge: Charge, exc: LimiterUnavailable) -> Lease:
        """Redis is down: keep to this process's share, or refuse (never fail open)."""
        now = time.monotonic()
        if now - self._outage_logged_at > 10:
            self._outage_logged_at = now
            log.error(
                "shared budget unreachable (%s): using local shares of 1/%d", exc, self.replicas
            )
        LOCAL_FALLBACKS.labels(charge.budget).inc()
        limits = self.local_limits.get(charge.budget)
        if limits is None:
            raise BudgetExhausted(charge.budget, retry_after=1.0) from exc
        share = self._local.get(charge.budget)
        if share is None:
            share = LocalShare(charge.budget, limits, self.replicas)
            self._local[charge.budget] = share
        await share.acquire(charge.tokens, self.max_wait)
        return Lease(f"{LOCAL_LEASE}{uuid.uuid4().hex}", (charge,), 0.0)

    async def release(
        self, lease: Lease | None, usage: Usage | None, error: ProviderError | None = None
    ) -> None:
        if lease is None:
            return
        charge = lease.charges[0]
        if usage is not None:
            actual = usage.total_tokens
            if charge.tokens:
                ESTIMATE_ERROR.labels(charge.budget).observe(actual / charge.tokens)
        elif isinstance(error, RateLimited | Overloaded):
            actual = 0  # refused before any token was processed
        else:
            actual = charge.tokens - charge.output  # the input was probably read
        if lease.id.startswith(LOCAL_LEASE):
            self._local[charge.budget].settle(charge.tokens, actual)
            return
        try:
            await self.budgets.settle(lease, {charge.budget: actual})
            if isinstance(error, RateLimited) and error.status == 429:
                PROVIDER_429S.labels(charge.budget).inc()
                log.warning("provider 429 on %s despite the budget: pulling it down", charge.budget)
                await self.budgets.feedback(
                    charge.budget, retry_after=error.retry_after or 1.0, margin=self.margin
                )
        except LimiterUnavailable as exc:  # the lease expires and returns its output part
            log.error("could not settle on the shared budget: %s", exc)
