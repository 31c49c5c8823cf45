"""The one exception tree of agentqueue.

Third-party errors (SDKs, Redis) are translated into these at the boundary where they
enter — one module per provider under ``core.llm.providers`` — and re-raised ``from`` the
original, so everything above that boundary reasons about *our* types only. Each type
says whether trying again can help (``retryable``) and, for rate limits, when.

    AgentQueueError
    ├── ProviderError                 a provider call failed (carries provider, model, status)
    │   ├── RateLimited               429: retry after ``retry_after`` seconds
    │   ├── Overloaded                529 / 503: the provider sheds load
    │   ├── ProviderServerError       other 5xx
    │   ├── ProviderTimeout           timed out or could not connect
    │   ├── ProviderAuthError         401 / 403: our credentials are wrong
    │   ├── BadRequest                400-class: the request itself is wrong
    │   │   └── ContextTooLong        413 / prompt too long for the model
    │   └── CircuitOpen               we did not call: the provider's breaker is open
    ├── NoProviderAvailable           every candidate failed or was skipped
    ├── BudgetExhausted               our limiter says wait longer than the caller can
    ├── QuotaExceeded                 a tenant's own quota (tokens/min, USD/day) is used up
    ├── UnknownBudget                 no limits configured for that budget
    ├── LimiterUnavailable            the shared budget (Redis or the limiter service) is down
    ├── TaskNotFound                  no such task (or not yours)
    ├── IdempotencyConflict           an Idempotency-Key reused with another body
    ├── QueueUnavailable              a task could not be accepted; nothing of it was written
    ├── InvalidParams                 params do not fit the agent kind (in core.tasks.agent_params)
    ├── BudgetExceeded                the next call could take a task or session past its USD limit
    ├── ContextOverflow               a session's context cannot be made to fit the model's window
    ├── SessionNotFound               no such session (or not yours)
    ├── SessionBusy                   a session already has a step queued or running
    └── SessionClosed                 a closed session takes no more turns or steps
"""

from __future__ import annotations

from collections.abc import Sequence


class AgentQueueError(Exception):
    """Base of every error agentqueue raises on purpose."""

    retryable: bool = False


class ProviderError(AgentQueueError):
    """A call to an LLM provider failed."""

    retryable = True
    #: Whether this failure says the provider is unhealthy (counts against its breaker).
    trips_breaker = True
    #: The caller has already been sent the provider's own error event (a stream passed
    #: through as bytes): there is nothing more to tell it.
    forwarded = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        model: str = "",
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.model = model
        self.status = status

    def __str__(self) -> str:
        where = "/".join(p for p in (self.provider, self.model) if p)
        status = f" (HTTP {self.status})" if self.status else ""
        return f"{where}: {self.message}{status}" if where else f"{self.message}{status}"


class RateLimited(ProviderError):
    """The provider refused the call for rate limits; it is healthy, so no breaker trip."""

    trips_breaker = False

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        provider: str = "",
        model: str = "",
        status: int | None = None,
    ) -> None:
        super().__init__(message, provider=provider, model=model, status=status)
        self.retry_after = retry_after


class Overloaded(ProviderError):
    """The provider is shedding load (Anthropic 529, generic 503)."""


class ProviderServerError(ProviderError):
    """The provider failed with a 5xx other than overload."""


class ProviderTimeout(ProviderError):
    """No (complete) answer in time, or no connection at all."""


class ProviderAuthError(ProviderError):
    """Credentials refused: retrying will not help, another provider may."""

    retryable = False


class BadRequest(ProviderError):
    """The request is invalid for this provider; the same request fails everywhere."""

    retryable = False
    trips_breaker = False


class ContextTooLong(BadRequest):
    """The prompt does not fit the model's context window."""


class CircuitOpen(ProviderError):
    """We skipped the provider because its circuit breaker is open."""

    trips_breaker = False

    def __init__(self, provider: str, reopens_in: float) -> None:
        super().__init__(
            f"circuit open, next probe in {reopens_in:.1f}s", provider=provider, status=None
        )
        self.reopens_in = reopens_in


class NoProviderAvailable(AgentQueueError):
    """Every provider the call could use failed or was skipped.

    ``retryable`` and ``retry_after`` summarise the attempts: retrying helps only if some
    attempt failed for a transient reason; the wait is the shortest any provider asked for.
    """

    def __init__(self, message: str, attempts: Sequence[ProviderError]) -> None:
        detail = "; ".join(str(a) for a in attempts) or "no provider configured for this tier"
        super().__init__(f"{message}: {detail}")
        self.attempts = list(attempts)
        self.retryable = any(a.retryable for a in attempts)
        waits = [a.retry_after for a in attempts if isinstance(a, RateLimited) and a.retry_after]
        waits += [a.reopens_in for a in attempts if isinstance(a, CircuitOpen)]
        self.retry_after: float | None = min(waits) if waits else None


class BudgetExhausted(AgentQueueError):
    """The shared budget cannot serve this call within the caller's deadline.

    Raised before any request reaches the provider: this is how we avoid its 429s.
    """

    retryable = True

    def __init__(self, budget: str, retry_after: float) -> None:
        super().__init__(f"budget {budget!r} exhausted; capacity in {retry_after:.2f}s")
        self.budget = budget
        self.retry_after = retry_after


class QuotaExceeded(AgentQueueError):
    """A tenant used up one of its quotas; refused at once, never waited for.

    ``quota`` names it (``tpm``, ``rpm`` or ``usd_per_day``). A per-minute quota frees up
    within ``retry_after`` seconds, so it is retryable; a daily spend quota resets at
    midnight UTC, and a task is failed rather than parked for hours.
    """

    def __init__(self, tenant: str, quota: str, retry_after: float, detail: str = "") -> None:
        what = {
            "tpm": "tokens per minute",
            "rpm": "requests per minute",
            "usd_per_day": "spend per day (USD)",
        }.get(quota, quota)
        message = f"tenant {tenant!r} exceeded its quota of {what}"
        if detail:
            message += f" ({detail})"
        super().__init__(f"{message}; retry in {retry_after:.1f}s")
        self.tenant = tenant
        self.quota = quota
        self.retry_after = retry_after
        self.retryable = quota != "usd_per_day"


class ModelNotAllowed(ProviderError):
    """The API key may not use this model (its ``allowed_models``): the attempt is
    skipped before anything is sent, and fallback moves to the next candidate. Says
    nothing about the provider's health."""

    retryable = False
    trips_breaker = False


class KeyQuotaExceeded(QuotaExceeded):
    """An API key used up one of its own quotas (``rpm``, ``tpm``, ``usd_per_day``,
    ``usd_per_month``): refused at once, like a tenant's; another key of the same tenant
    may still be served. ``tenant`` holds the key's tenant, ``key_id`` the key."""

    def __init__(
        self, key_id: str, tenant: str, quota: str, retry_after: float, detail: str = ""
    ) -> None:
        super().__init__(tenant, quota, retry_after, detail)
        what = {
            "tpm": "tokens per minute",
            "rpm": "requests per minute",
            "usd_per_day": "spend per day (USD)",
            "usd_per_month": "spend per month (USD)",
        }.get(quota, quota)
        message = f"API key {key_id!r} exceeded its quota of {what}"
        if detail:
            message += f" ({detail})"
        self.args = (f"{message}; retry in {retry_after:.1f}s",)
        self.key_id = key_id
        self.retryable = quota not in ("usd_per_day", "usd_per_month")


class UnknownBudget(AgentQueueError):
    """No limits are configured for the budget a call needs."""

    def __init__(self, message: str, budget: str = "") -> None:
        super().__init__(message)
        self.budget = budget


class LimiterUnavailable(AgentQueueError):
    """The shared budget cannot be reached; callers fall back to a local share."""

    retryable = True


class TaskNotFound(AgentQueueError):
    """No task with that id is visible to the caller."""


class IdempotencyConflict(AgentQueueError):
    """An Idempotency-Key was reused with a different request body."""


class BudgetExceeded(AgentQueueError):
    """The next call could take a task (``max_cost_usd``) or a session past its USD limit.

    Raised *before* the call, from the worst case the catalog allows (the input estimate
    plus ``max_tokens`` of output at the priciest candidate model): work stops at the limit
    rather than after it. Not retryable: the same work would cost the same.
    """

    def __init__(
        self, scope: str, limit: object, spent: object, next_call: object, calls: int
    ) -> None:
        super().__init__(
            f"{scope} budget of ${limit} would be exceeded: spent ${spent} on {calls} "
            f"call(s) so far, and the next call may cost up to ${next_call}; stopped before it"
        )
        self.scope = scope
        self.limit = limit
        self.spent = spent
        self.next_call = next_call
        self.calls = calls


class ContextOverflow(AgentQueueError):
    """A session's context does not fit the model's window even after compaction.

    Raised before the provider is asked (which would answer 400): what cannot be
    compacted — the system prompt, pinned items, the latest turn — is too large on its own.
    """


class SessionNotFound(AgentQueueError):
    """No session with that id is visible to the caller."""


class SessionBusy(AgentQueueError):
    """The session has a step queued or running; turns and steps wait until it ends."""


class SessionClosed(AgentQueueError):
    """The session was closed; it takes no more turns or steps."""


class QueueUnavailable(AgentQueueError):
    """The task could not be accepted: Redis refused or did not answer the one script that
    writes its record and its message together, so nothing of it exists."""

    retryable = True

    def __init__(self, task_id: str, cause: BaseException) -> None:
        super().__init__(f"the queue is unavailable; task {task_id!r} was not accepted")
        self.task_id = task_id
        self.cause = cause
