"""What callers exchange with a budget store, whichever backend holds it.

Two backends implement :class:`Budgets`: :class:`~.redis_budgets.RedisBudgets` (the Lua
script, in-process) and :class:`~.http_budgets.HttpBudgets` (the limiter service).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from agentqueue.core.priority import Priority


@dataclass(frozen=True)
class Charge:
    """What one call asks of one budget: a request and tokens, of which ``output`` are
    the ``max_tokens`` reservation (given back if the lease expires unsettled)."""

    budget: str
    tokens: int
    output: int = 0
    requests: int = 1


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


class Budgets(Protocol):
    """Reserve, settle and correct shared budgets. Unreachable: ``LimiterUnavailable``."""

    async def acquire(
        self, charges: list[Charge], *, priority: Priority = ..., max_wait: float = ...
    ) -> Lease: ...

    async def settle(self, lease: Lease, actual_tokens: dict[str, int]) -> bool: ...

    async def feedback(
        self,
        budget: str,
        *,
        remaining_requests: int | None = ...,
        remaining_tokens: int | None = ...,
        retry_after: float | None = ...,
        margin: float = ...,
    ) -> None: ...

    async def headroom(self, budget: str) -> Headroom: ...
