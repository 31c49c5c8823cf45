"""Spending limits of a task and its session, checked before every call.

A call's cost is known only after it, so the check is against its worst case (the
prompt and all of ``max_tokens`` at the priciest model it may land on): a task stops
*before* the call that could overspend. Calls of one task may run in parallel, so each
admitted call reserves its worst case until it has finished and been recorded; the
check and the reservation happen without an ``await`` between them, hence atomically on
the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from agentqueue.core.base.errors import BudgetExceeded


@dataclass(frozen=True)
class Budget:
    #: ``task`` or ``session``: said in the error.
    scope: str
    limit: Decimal
    #: What the scope spent before this run of the task (a session's earlier steps).
    spent_before: Decimal = Decimal(0)


class CostGuard:
    def __init__(self, spent: Callable[[], Decimal]) -> None:
        #: This task's recorded spend so far (earlier attempts included).
        self.spent = spent
        self.budgets: list[Budget] = []
        self.reserved = Decimal(0)
        self.calls = 0

    def add(self, budget: Budget) -> None:
        self.budgets.append(budget)

    def _crossed(self, worst: Decimal) -> tuple[Budget, Decimal] | None:
        """The first budget a call costing up to ``worst`` would cross now, with what its
        scope has spent; None if it fits them all."""
        task = self.spent()
        for b in self.budgets:
            spent = b.spent_before + task
            if spent + self.reserved + worst > b.limit:
                return b, spent
        return None

    def could_refuse(self, worst: Decimal) -> bool:
        """Whether a call costing up to ``worst`` would be refused now: only then does a
        call need its prompt counted exactly (a provider round trip) rather than estimated."""
        return self._crossed(worst) is not None

    def reserve(self, worst: Decimal) -> Decimal:
        """Admit a call that may cost up to ``worst``, or raise :class:`BudgetExceeded`."""
        crossed = self._crossed(worst)
        if crossed is not None:
            b, spent = crossed
            raise BudgetExceeded(b.scope, b.limit, round(spent, 6), round(worst, 6), self.calls)
        self.reserved += worst
        return worst

    def release(self, reservation: Decimal) -> None:
        self.reserved -= reservation
        self.calls += 1
