"""What callers exchange with a budget store, whichever backend holds it.

Two backends implement :class:`Budgets`: :class:`~.redis_budgets.RedisBudgets` (the Lua
script, in-process) and :class:`~.http_budgets.HttpBudgets` (the limiter service).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from agentqueue.core.base.priority import Priority
from agentqueue.core.ratelimit.budget import BudgetLimits


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


class Budgets(Protocol):
    """Reserve, settle and correct shared budgets. Unreachable: ``LimiterUnavailable``."""

    async def acquire(
        self, charges: list[Charge], *, priority: Priority = ..., max_wait: float = ...
    ) -> Lease: ...

    async def settle(
        self,
        lease: Lease,
        actual_tokens: dict[str, int],
        actual_output: dict[str, int] | None = ...,
    ) -> bool: ...

    async def feedback(
        self,
        budget: str,
        *,
        remaining_requests: int | None = ...,
        remaining_tokens: int | None = ...,
        retry_after: float | None = ...,
        margin: float = ...,
        remaining_input_tokens: int | None = ...,
        remaining_output_tokens: int | None = ...,
        age: float = ...,
    ) -> bool: ...

    async def headroom(self, budget: str) -> Headroom: ...

    async def configure(self, budget: str, limits: BudgetLimits) -> None: ...
