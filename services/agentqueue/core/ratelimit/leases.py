"""What callers exchange with a budget store, whichever backend holds it.

Two backends implement :class:`Budgets`: :class:`~.redis_budgets.RedisBudgets` (the Lua
script, in-process) and :class:`~.http_budgets.HttpBudgets` (the limiter service).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from agentqueue.core.base.priority import Priority
from agentqueue.core.ratelimit.budget import BudgetLimits
from agentqueue.core.ratelimit.lanes import Lane


@dataclass(frozen=True)
class Charge:
    """What one call asks of one budget: a request and tokens, of which ``output`` are
    the ``max_tokens`` reservation (given back if the lease expires unsettled).

    A ``quota`` charge (a tenant's own limit) is refused at once when it does not fit,
    rather than waited for: a quota is a policy, not a capacity that frees up for us.
    """

    budget: str
    tokens: int
    output: int = 0
    requests: int = 1
    quota: bool = False


@dataclass(frozen=True)
class Lease:
    id: str
    charges: tuple[Charge, ...]
    #: Seconds the caller waited for its turn.
    waited: float


@dataclass(frozen=True)
class Headroom:
    """A budget right now: what is available, and what it sustains per minute."""

    budget: str
    available_requests: float
    available_tokens: float
    capacity_requests: float
    capacity_tokens: float
    sustainable_rpm: float
    sustainable_tpm: float
    open_leases: int
    #: Where the provider counts input and output tokens apart (else None).
    available_input_tokens: float | None = None
    available_output_tokens: float | None = None


@dataclass(frozen=True)
class Feedback:
    """What the provider told us about a budget, to pull ours toward its view.

    Its rate-limit headers give ``remaining_*`` counts as of ``age`` seconds ago (when
    the headers arrived); its 429 gives ``retry_after``. Each count is aged by our
    refill, scaled by ``1 - margin`` and compared with our level, which it only ever
    lowers. One value, taken whole by every backend: the limiter service once dropped
    the margin on the way, so the same headers lowered a budget by a different amount
    through the service than in-process.
    """

    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    remaining_input_tokens: int | None = None
    remaining_output_tokens: int | None = None
    retry_after: float | None = None
    #: Fraction taken off the provider's counts (0: trust them as they stand).
    margin: float = 0.0
    #: Seconds since the provider reported the counts.
    age: float = 0.0

    def __post_init__(self) -> None:
        # The limiter service's body (``limiter.schemas.FeedbackBody``) has the same
        # bounds: a value one backend takes, the other takes too.
        counts = (
            self.remaining_requests,
            self.remaining_tokens,
            self.remaining_input_tokens,
            self.remaining_output_tokens,
        )
        if any(c is not None and c < 0 for c in counts):
            raise ValueError("remaining counts must be at least 0")
        if self.retry_after is not None and not self.retry_after >= 0:
            raise ValueError("retry_after must be at least 0")
        if not 0 <= self.margin < 0.5:
            raise ValueError("margin must be in [0, 0.5)")
        if not self.age >= 0:
            raise ValueError("age must be at least 0")


class Budgets(Protocol):
    """Reserve, settle and correct shared budgets. Unreachable: ``LimiterUnavailable``."""

    async def acquire(
        self, charges: list[Charge], *, priority: Priority | Lane = ..., max_wait: float = ...
    ) -> Lease: ...

    async def settle(
        self,
        lease: Lease,
        actual_tokens: dict[str, int],
        actual_output: dict[str, int] | None = ...,
    ) -> bool: ...

    async def feedback(self, budget: str, feedback: Feedback) -> bool: ...

    async def headroom(self, budget: str) -> Headroom: ...

    async def configure(self, budget: str, limits: BudgetLimits) -> None: ...
