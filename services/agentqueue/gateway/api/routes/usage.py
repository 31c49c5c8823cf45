"""``GET /v1/usage``: the caller's tenant's usage and cost, by UTC day and model."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from agentqueue.core.llm.usage import UsageLedger
from agentqueue.gateway.api.deps import TenantDep
from agentqueue.gateway.api.errors import error_responses

router = APIRouter(prefix="/v1/usage", tags=["usage"])


class ModelUsage(BaseModel):
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: float


class DayUsage(BaseModel):
    date: str
    cost_usd: float
    models: list[ModelUsage]


class UsageView(BaseModel):
    tenant: str
    cost_usd: float
    days: list[DayUsage]


@router.get("", response_model=UsageView, responses=error_responses())
async def usage(
    request: Request,
    tenant: TenantDep,
    days: Annotated[int, Query(ge=1, le=366, description="UTC days back, today included")] = 7,
) -> UsageView:
    """Calls, tokens and cost of the caller's tenant, per day (newest first) and model."""
    ledger: UsageLedger = request.app.state.quotas.ledger
    out = []
    for day, models in await ledger.by_day(tenant, days):
        rows = [
            ModelUsage(
                model=model,
                calls=int(c.get("calls", 0)),
                input_tokens=int(c.get("input_tokens", 0)),
                output_tokens=int(c.get("output_tokens", 0)),
                cached_tokens=int(c.get("cached_tokens", 0)),
                cost_usd=float(c.get("cost_usd", 0)),
            )
            for model, c in sorted(models.items())
        ]
        out.append(
            DayUsage(date=day.isoformat(), cost_usd=sum(r.cost_usd for r in rows), models=rows)
        )
    return UsageView(tenant=tenant, cost_usd=sum(d.cost_usd for d in out), days=out)
