"""Budgets: their limits, the provider's feedback on them, and their headroom."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from agentqueue.limiter.api.deps import BudgetsDep, KnownDep, SettingsDep
from agentqueue.limiter.schemas import FeedbackBody, LimitsBody

router = APIRouter(prefix="/v1/budgets", tags=["budgets"])


@router.post("/{budget}/feedback")
async def feedback(budget: str, body: FeedbackBody, budgets: BudgetsDep) -> dict[str, bool]:
    """Pull a budget toward the provider's view (its headers, its 429s)."""
    lowered = await budgets.feedback(budget, body.to_feedback())
    return {"lowered": lowered}


@router.put("/{budget}")
async def configure(
    budget: str, body: LimitsBody, budgets: BudgetsDep, known: KnownDep, settings: SettingsDep
) -> dict[str, str]:
    """Set a budget's limits at run time (a lower limit applies at once)."""
    await budgets.configure(budget, body.to_limits(default_margin=settings.limiter_margin))
    known.add(budget)
    return {"status": "configured"}


@router.get("/{budget}/headroom")
async def headroom(budget: str, budgets: BudgetsDep) -> dict[str, Any]:
    """Available now and sustainable per minute: what the operator scales on."""
    return asdict(await budgets.headroom(budget))


@router.get("")
async def budgets(store: BudgetsDep, known: KnownDep) -> dict[str, list[dict[str, Any]]]:
    """The headroom of every budget configured through this service, by name."""
    return {"budgets": [asdict(await store.headroom(b)) for b in sorted(known)]}
