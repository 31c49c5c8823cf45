"""The limiter in front of every provider call: reserve, call, settle, learn.

The fallback chain asks the gate before each provider attempt. A budget that cannot
serve the call within ``max_wait`` becomes a :class:`RateLimited` *before* anything is
sent — so the chain falls back, or the task retries later, without the provider's 429.
The same acquire charges the tenant's own per-minute quota, if it has one, and the
tenant's daily spend is checked first: both refuse with :class:`QuotaExceeded`.
After the call the reservation is replaced by the real usage (input and output apart),
the provider's rate-limit headers pull the budget toward the provider's view, and a
provider 429 (which the budget should have prevented) pulls it down for its retry-after.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal

from agentqueue.core.base.errors import (
    BudgetExhausted,
    LimiterUnavailable,
    ModelNotAllowed,
    Overloaded,
    ProviderError,
    QuotaExceeded,
    RateLimited,
    UnknownBudget,
)
from agentqueue.core.base.ids import random_id
from agentqueue.core.base.priority import Priority
from agentqueue.core.llm.messages import CompletionRequest, Usage
from agentqueue.core.llm.rate_headers import RateLimitSnapshot
from agentqueue.core.llm.tokenizers import counter_for
from agentqueue.core.llm.tokens import (
    Calibration,
    content_class,
    estimate_request,
    learnable,
    prompt_tokens,
)
from agentqueue.core.ratelimit.budget import BudgetLimits, budget_name
from agentqueue.core.ratelimit.lanes import Lane, lane_of
from agentqueue.core.ratelimit.leases import Budgets, Charge, Feedback, Lease
from agentqueue.core.ratelimit.local_share import LocalShare
from agentqueue.core.ratelimit.metrics import (
    ACQUIRES,
    ESTIMATE_ERROR,
    FEEDBACK_LOWERED,
    LOCAL_FALLBACKS,
    QUOTA_DENIALS,
    REFUNDED_TOKENS,
    SETTLES,
    WAITS,
    denied,
    labels,
)
from agentqueue.core.ratelimit.quotas import TENANT_BUDGET_PREFIX, TenantQuotas

log = logging.getLogger(__name__)

#: Lease ids of reservations taken on a local share.
LOCAL_LEASE = "local:"
#: Leases whose raw counts are kept for calibration at most (the oldest go first).
MAX_COUNTED = 10_000


@dataclass(frozen=True)
class _Counted:
    """What a lease's input was counted as, to learn from its answer's usage."""

    provider: str
    model: str
    kind: str
    raw: int


#: Seconds before a budget found unconfigured is looked up again.
UNLIMITED_RECHECK_S = 30.0


def estimate_input_tokens(
    request: CompletionRequest, provider: str | None = None, model: str = ""
) -> int:
    """The request's input tokens as reserved: counted by the model's tokenizer where one
    is held offline (GPT models), else estimated per content class, so a Japanese or JSON
    prompt reserves what the provider will count, not a quarter of its characters. The
    reservation is settled to the real usage afterwards."""
    return estimate_request(request, counter_for(provider, model))


def tokens_used(
    charge: Charge, usage: Usage | None, error: ProviderError | None
) -> tuple[int, int | None]:
    """Tokens (all, and output where known) a call used of what ``charge`` reserved.

    The real usage when the call answered; nothing when the provider refused it before
    reading a token (rate limited, overloaded); otherwise the estimated input, which the
    provider probably read before failing, with no output figure: the store then takes
    the input as estimated and the rest as output, so the whole output part comes back.
    """
    if usage is not None:
        return usage.total_tokens, usage.output_tokens
    if isinstance(error, RateLimited | Overloaded):
        return 0, 0
    return charge.tokens - charge.output, None


def feedback_from_headers(rate_limit: RateLimitSnapshot) -> Feedback:
    """The provider's remaining counts from its headers, as of when they arrived.

    Taken as they stand (margin 0): our level already keeps the budget's margin below
    the provider's limit, so a count as it stands lowers it only for traffic we have not
    seen (another client on the key, or estimates of ours that ran low).
    """
    return Feedback(
        remaining_requests=rate_limit.remaining_requests,
        remaining_tokens=rate_limit.remaining_tokens,
        remaining_input_tokens=rate_limit.remaining_input_tokens,
        remaining_output_tokens=rate_limit.remaining_output_tokens,
        margin=0.0,
        age=rate_limit.age(),
    )


def feedback_after_429(error: RateLimited, *, margin: float) -> Feedback:
    """The provider's wait after its 429: a second when it named none (or a nonsense one)."""
    wait = error.retry_after if error.retry_after and error.retry_after > 0 else 1.0
    return Feedback(retry_after=wait, margin=margin)


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
        quotas: TenantQuotas | None = None,
        learn_interval: float = 0.25,
        calibration: Calibration | None = None,
    ) -> None:
        self.budgets = budgets
        #: How each provider counts, learned from its answers per model and content
        #: class: a reservation is the local count corrected by it.
        self.calibration = calibration or Calibration()
        #: Leases' raw input counts, until settled: what the answer is compared with.
        self._counted: OrderedDict[str, _Counted] = OrderedDict()
        self.account = account
        self.max_wait = max_wait
        self.margin = margin
        #: Limits known locally, for the share used while Redis is unreachable.
        self.local_limits = local_limits or {}
        #: Processes sharing each budget: the local share is limit ÷ replicas.
        self.replicas = replicas
        #: Tenants' own quotas (None: no tenant is limited).
        self.quotas = quotas
        self._local: dict[str, LocalShare] = {}
        self._unlimited: dict[str, float] = {}
        self._outage_logged_at = -math.inf
        #: Seconds between two header feedbacks on one budget from this process.
        self.learn_interval = learn_interval
        self._learned_at: dict[str, float] = {}

    async def admit(
        self,
        provider: str,
        model: str,
        request: CompletionRequest,
        priority: Priority,
        tenant: str | None = None,
        *,
        account: str | None = None,
        key_id: str | None = None,
    ) -> Lease | None:
        """Wait for the call's turn; None when nothing limits it.

        ``account``: the deployment whose budget the call spends (default: the gate's).
        ``key_id``: the API key the call is made with: its own quota (``key:<id>``) is a
        third charge of the same acquire, and its spend is checked first.
        Raises :class:`RateLimited` when the provider budget cannot serve the call within
        ``max_wait``, :class:`QuotaExceeded` when the tenant is over a quota.
        """
        if key_id is not None and self.quotas is not None:  # the key's model allowlist
            key = await self.quotas.keys.record(key_id)
            if key is not None and not key.allows_model(model):
                raise ModelNotAllowed(
                    f"API key {key_id} may not use this model (skipped)",
                    provider=provider,
                    model=model,
                )
        name = budget_name(provider, model, account or self.account)
        raw = estimate_input_tokens(request, provider, model)
        kind = content_class(request)
        tokens = self._calibrated(raw, model, provider, kind) + request.max_tokens
        charges = await self._charges(name, tokens, request.max_tokens, tenant, key_id)
        if not charges:
            return None
        lane = lane_of(priority)  # read once: the acquire and its metrics agree
        try:
            lease = await self._acquire(charges, lane)
        except BudgetExhausted as exc:
            denied(name, "budget")
            raise RateLimited(
                f"held back by our limiter: {exc}",
                retry_after=exc.retry_after,
                provider=provider,
                model=model,
            ) from exc
        except QuotaExceeded as exc:
            # The shared acquire refuses a tenant's per-minute budget as a whole: name the
            # limit that refused (rpm or tpm) for the metric and for the caller.
            named = await self.quotas.name_refusal(exc) if self.quotas else exc
            QUOTA_DENIALS.labels(named.quota).inc()
            denied(name, f"quota_{named.quota}")
            if named is exc:
                raise
            raise named from exc
        if lease is None:
            return None
        first = labels(lease.charges[0].budget)
        if first is not None:  # not a tenant's quota budget alone
            ACQUIRES.labels(*first, lane.value).inc()
            WAITS.labels(*first, lane.value).observe(lease.waited)
        if learnable(request, raw):
            self._counted[lease.id] = _Counted(provider, model, kind, raw)
            while len(self._counted) > MAX_COUNTED:  # never released (a crash mid-call)
                self._counted.popitem(last=False)
        return lease

    def estimate(self, request: CompletionRequest, provider: str, model: str) -> int:
        """The tokens :meth:`admit` would reserve for ``request`` (input, calibrated, plus
        ``max_tokens``): what routing compares with each deployment's headroom."""
        raw = estimate_input_tokens(request, provider, model)
        kind = content_class(request)
        return self._calibrated(raw, model, provider, kind) + request.max_tokens

    def _calibrated(self, raw: int, model: str, provider: str, kind: str) -> int:
        return math.ceil(raw * self.calibration.ratio(model, provider, kind))

    async def _charges(
        self, budget: str, tokens: int, output: int, tenant: str | None, key_id: str | None = None
    ) -> list[Charge]:
        """What the call asks: the provider budget (unless known to be unlimited) and the
        tenant's per-minute quota (if it has one), in one list so one acquire takes both
        or neither. A tenant over its daily spend is refused here, before any reservation.
        """
        charges = []
        if not self._is_unlimited(budget):
            charges.append(Charge(budget, tokens, output=output))
        if tenant is not None and self.quotas is not None:
            try:
                await self.quotas.check_spend(tenant)
            except QuotaExceeded:
                QUOTA_DENIALS.labels("usd_per_day").inc()
                denied(budget, "usd_per_day")
                raise
            quota_charge = self.quotas.charge(tenant, tokens, output)
            if quota_charge is not None:
                charges.append(quota_charge)
        if key_id is not None and self.quotas is not None:
            try:  # the key's spend first; its per-minute quota in the same acquire
                key_charge = await self.quotas.keys.charge(key_id, tokens, output)
            except QuotaExceeded as exc:
                QUOTA_DENIALS.labels(exc.quota).inc()
                raise
            if key_charge is not None:
                charges.append(key_charge)
        return charges

    async def _acquire(self, charges: list[Charge], lane: Lane) -> Lease | None:
        """Acquire, configuring quota budgets on first use and dropping unlimited ones."""
        while charges:
            try:
                return await self._acquire_shared_or_local(charges, lane)
            except UnknownBudget as exc:
                charges = await self._after_unknown(charges, exc)
        return None

    async def _acquire_shared_or_local(self, charges: list[Charge], lane: Lane) -> Lease | None:
        """The shared budget's lease; while it is unreachable, one on the local share.

        None when only a tenant quota is charged (the provider budget is unlimited):
        quotas are not kept locally, so with the shared store down nothing limits the call.
        """
        try:
            return await self.budgets.acquire(charges, priority=lane, max_wait=self.max_wait)
        except LimiterUnavailable as exc:
            if charges[0].quota:
                return None
            return await self._admit_locally(charges[0], exc)

    async def _after_unknown(self, charges: list[Charge], exc: UnknownBudget) -> list[Charge]:
        """The charges to try again after the store found ``exc.budget`` unconfigured.

        A tenant's quota budget is configured from our settings and everything retried.
        Any other budget is nobody's to configure here: calls to it go unlimited (and it
        is not asked for again for a while), so it is dropped and the rest retried.
        Re-raises ``exc`` when the unknown budget is none of the call's.
        """
        quota = self._quota_limits(exc.budget)
        if quota is None and self.quotas is not None:  # an API key's own (``key:<id>``)
            quota = await self.quotas.keys.limits(exc.budget)
        if quota is not None:
            await self.budgets.configure(exc.budget, quota)
            return charges
        if exc.budget not in self._unlimited:
            log.warning("no budget configured for %s: calls to it are not limited", exc.budget)
        self._unlimited[exc.budget] = time.monotonic()
        remaining = [c for c in charges if c.budget != exc.budget]
        if len(remaining) == len(charges):
            raise exc
        return remaining

    def _quota_limits(self, budget: str) -> BudgetLimits | None:
        """The limits of a tenant quota budget, from this process's settings."""
        if self.quotas is None or not budget.startswith(TENANT_BUDGET_PREFIX):
            return None
        quota = self.quotas.quota(budget.removeprefix(TENANT_BUDGET_PREFIX))
        return quota.limits() if quota is not None else None

    def _is_unlimited(self, budget: str) -> bool:
        """A budget found unconfigured is not asked for again for a while."""
        seen = self._unlimited.get(budget)
        return seen is not None and time.monotonic() - seen < UNLIMITED_RECHECK_S

    async def _admit_locally(self, charge: Charge, exc: LimiterUnavailable) -> Lease:
        """Redis is down: keep to this process's share, or refuse (never fail open).

        Tenants' per-minute quotas are not enforced on the local share (they are a
        policy, and the provider budget's share already bounds the process).
        """
        self._log_outage(exc)
        parts = labels(charge.budget)
        if parts is not None:
            LOCAL_FALLBACKS.labels(*parts).inc()
        limits = self.local_limits.get(charge.budget)
        if limits is None:
            raise BudgetExhausted(charge.budget, retry_after=1.0) from exc
        share = self._local.get(charge.budget)
        if share is None:
            share = LocalShare(charge.budget, limits, self.replicas)
            self._local[charge.budget] = share
        await share.acquire(charge.tokens, self.max_wait)
        return Lease(f"{LOCAL_LEASE}{random_id()}", (charge,), 0.0)

    def _log_outage(self, exc: LimiterUnavailable) -> None:
        """Say so loudly, but once every 10 s: every call during an outage comes here."""
        now = time.monotonic()
        if now - self._outage_logged_at > 10:
            self._outage_logged_at = now
            log.error(
                "shared budget unreachable (%s): using local shares of 1/%d", exc, self.replicas
            )

    async def release(
        self,
        lease: Lease | None,
        usage: Usage | None,
        error: ProviderError | None = None,
        *,
        tenant: str | None = None,
        cost_usd: Decimal | None = None,
        rate_limit: RateLimitSnapshot | None = None,
        model: str | None = None,
        record_usage: bool = True,
        key_id: str | None = None,
    ) -> None:
        """Settle the lease with the real usage, record the tenant's usage and spend
        (unless ``record_usage`` is False: the caller records it with its own record of the
        call), and learn from the provider's rate-limit headers. ``key_id``: the call's
        API key, whose usage and spend (and its tags') are recorded with the tenant's."""
        if tenant is not None and usage is not None and record_usage:
            await self._record_tenant_usage(tenant, model, usage, cost_usd, key_id)
        if lease is None:
            return
        counted = self._counted.pop(lease.id, None)
        if counted is not None and usage is not None:
            self.calibration.observe(
                counted.model, counted.provider, counted.raw, prompt_tokens(usage), counted.kind
            )
        first = lease.charges[0]
        first_labels = labels(first.budget)
        if usage is not None and first.tokens and first_labels is not None:
            ESTIMATE_ERROR.labels(*first_labels).observe(usage.total_tokens / first.tokens)
        actual, output = tokens_used(first, usage, error)
        if lease.id.startswith(LOCAL_LEASE):
            self._local[first.budget].settle(first.tokens, actual)
            return
        try:
            await self._settle_shared(lease, actual, output)
            await self._learn_from_answer(first, error, rate_limit)
        except LimiterUnavailable as exc:  # the lease expires and returns its output part
            log.error("could not settle on the shared budget: %s", exc)
        except UnknownBudget:
            pass  # reconfigured away meanwhile

    async def _record_tenant_usage(
        self,
        tenant: str,
        model: str | None,
        usage: Usage,
        cost_usd: Decimal | None,
        key_id: str | None = None,
    ) -> None:
        """Add the call to the tenant's usage and spend today. The call has happened:
        a store that cannot record it is logged, never turned into the call's failure."""
        if self.quotas is None:
            return
        try:
            key = await self.quotas.keys.record(key_id) if key_id is not None else None
            await self.quotas.record(
                tenant,
                model or "unknown",
                usage,
                cost_usd or Decimal(0),
                key_id=key_id,
                tags=key.tags if key is not None else None,
            )
        except LimiterUnavailable as exc:
            log.error("could not record tenant %s's usage ($%s): %s", tenant, cost_usd, exc)

    async def _settle_shared(self, lease: Lease, actual: int, output: int | None) -> None:
        """Replace every charge's reservation by what the call used, on the shared store.

        Every charge of the lease (provider budget and tenant quota) settles the same
        amount: they were charged the same estimate for the same call.
        """
        await self.budgets.settle(
            lease,
            {c.budget: actual for c in lease.charges},
            {c.budget: output for c in lease.charges} if output is not None else None,
        )
        for c in lease.charges:
            parts = labels(c.budget)
            if parts is not None:  # a tenant's quota budget: not a provider's
                SETTLES.labels(*parts).inc()
                REFUNDED_TOKENS.labels(*parts).inc(max(0, c.tokens - actual))

    async def _learn_from_answer(
        self, charge: Charge, error: ProviderError | None, rate_limit: RateLimitSnapshot | None
    ) -> None:
        """Pull the provider budget toward the provider's view: hard after its 429, gently
        (and at most every ``learn_interval``) from the headers of any other answer.

        A quota budget is ours alone; the provider's headers say nothing about it.
        """
        if isinstance(error, RateLimited) and error.status == 429:
            await self._pull_down_after_429(charge.budget, error)
        elif rate_limit is not None and not charge.quota and self._learn_due(charge.budget):
            await self._learn(charge.budget, rate_limit)

    async def _pull_down_after_429(self, budget: str, error: RateLimited) -> None:
        """A provider 429 means the budget let through more than the provider would take
        (another client on the key, or our estimates ran low): empty it for the
        provider's retry-after, so nothing is sent before the provider would accept it."""
        # counted as agentqueue_provider_429s_total where every attempt is observed
        # (core/calls/observe.py): with or without a budget
        log.warning("provider 429 on %s despite the budget: pulling it down", budget)
        await self.budgets.feedback(budget, feedback_after_429(error, margin=self.margin))

    def _learn_due(self, budget: str) -> bool:
        """Header feedback at most every ``learn_interval`` per budget and process: one
        extra round trip per call buys nothing when calls come many a second."""
        now = time.monotonic()
        if now - self._learned_at.get(budget, -math.inf) < self.learn_interval:
            return False
        self._learned_at[budget] = now
        return True

    async def _learn(self, budget: str, rate_limit: RateLimitSnapshot) -> None:
        """Lower our level to the provider's remaining count (aged to now) when lower."""
        parts = labels(budget)
        if await self.budgets.feedback(budget, feedback_from_headers(rate_limit)) and parts:
            FEEDBACK_LOWERED.labels(*parts).inc()
