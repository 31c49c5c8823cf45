"""What the budgets a queue draws on can give it, read from the limiter.

Through the limiter service when ``AGENTQUEUE_LIMITER_URL`` is set (``GET
/v1/budgets/{budget}/headroom``), otherwise straight from Redis with the limiter's own
script: both are :class:`~agentqueue.core.ratelimit.leases.Budgets`, so both say the same.

An unreachable limiter is not "no limit": the view says so (``reachable=False``) and the
operator then holds the budget cap at the replicas already running, rather than scale
up blindly into a budget it cannot see. A budget the limiter does not know is not
limited at all (calls to it pass unmetered), so it makes the whole view unlimited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agentqueue.core.base.errors import LimiterUnavailable, UnknownBudget
from agentqueue.core.ratelimit.leases import Budgets


@dataclass(frozen=True)
class BudgetView:
    reachable: bool
    #: Tokens available right now, summed over the budgets; None when unknown.
    available_tokens: float | None = None
    #: Tokens per minute the budgets sustain, summed; None when unknown or unlimited.
    sustainable_tpm: float | None = None
    #: Budgets the limiter has no limits for (so calls to them are not limited).
    unknown: tuple[str, ...] = ()
    error: str | None = None

    @property
    def limited(self) -> bool:
        return self.reachable and self.sustainable_tpm is not None


async def read_budgets(source: Budgets, names: Sequence[str]) -> BudgetView:
    """The summed headroom of ``names``; never raises for an unreachable limiter."""
    if not names:
        return BudgetView(reachable=True)
    available = 0.0
    sustainable = 0.0
    unknown: list[str] = []
    for name in names:
        try:
            room = await source.headroom(name)
        except UnknownBudget:
            unknown.append(name)
            continue
        except LimiterUnavailable as exc:
            return BudgetView(reachable=False, error=str(exc))
        available += room.available_tokens
        sustainable += room.sustainable_tpm
    if len(unknown) == len(names):
        return BudgetView(reachable=True, unknown=tuple(unknown))
    return BudgetView(
        reachable=True,
        available_tokens=available,
        sustainable_tpm=None if unknown else sustainable,
        unknown=tuple(unknown),
    )
