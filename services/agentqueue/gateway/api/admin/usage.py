"""``GET /admin/v1/usage``: usage and spend grouped by tenant, key, model, tag or day."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request

from agentqueue.core.llm.usage import utc_today
from agentqueue.core.llm.usage_report import GroupBy, usage_report
from agentqueue.gateway.api.admin.auth import AdminDep
from agentqueue.gateway.api.admin.common import admin_errors, quotas
from agentqueue.gateway.api.admin.schemas import UsageReport, UsageRowView
from agentqueue.gateway.api.errors import InvalidField

router = APIRouter(prefix="/usage", tags=["admin"])


@router.get("", response_model=UsageReport, responses=admin_errors())
async def usage(
    request: Request,
    _admin: AdminDep,
    group_by: Annotated[GroupBy, Query(description="tenant, key, model, tag or day")] = "tenant",
    since: Annotated[
        dt.date | None, Query(description="First UTC day (default: 6 days ago)")
    ] = None,
    until: Annotated[dt.date | None, Query(description="Last UTC day (default: today)")] = None,
    tenant: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> UsageReport:
    """Calls, tokens and cost over the days ``since``..``until``, by ``group_by``."""
    last = until or utc_today()
    first = since or last - dt.timedelta(days=6)
    try:
        rows = await usage_report(quotas(request).ledger, group_by, first, last, tenant=tenant)
    except ValueError as exc:
        raise InvalidField("query.since", str(exc), status=422) from None
    views = [
        UsageRowView(
            group=r.group,
            tenant=r.tenant,
            calls=r.calls,
            input_tokens=r.input_tokens,
            output_tokens=r.output_tokens,
            cached_tokens=r.cached_tokens,
            cost_usd=float(r.cost_usd),
        )
        for r in rows
    ]
    return UsageReport(
        group_by=group_by,
        since=first.isoformat(),
        until=last.isoformat(),
        rows=views,
        cost_usd=sum(v.cost_usd for v in views),
    )
