"""``GET /admin/v1/budgets``: every budget with its headroom right now.

The names come from the settings and the configuration file (providers' and
deployments' budgets, ``core/calls/factory.provider_budget_limits``), tenants' quotas
(settings and admin) and keys with a per-minute quota — never from a scan of Redis.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from agentqueue.core.apikeys import ApiKeys
from agentqueue.core.base.errors import UnknownBudget
from agentqueue.core.calls.factory import provider_budget_limits
from agentqueue.core.ratelimit.key_quotas import key_budget, key_limits
from agentqueue.core.ratelimit.quotas import DEFAULT_TENANT, tenant_budget
from agentqueue.gateway.api.admin.auth import AdminDep
from agentqueue.gateway.api.admin.common import admin_errors, quotas
from agentqueue.gateway.api.admin.schemas import BudgetList, BudgetView

router = APIRouter(prefix="/budgets", tags=["admin"])


@router.get("", response_model=BudgetList, responses=admin_errors())
async def list_budgets(request: Request, _admin: AdminDep) -> BudgetList:
    """Provider, tenant and key budgets: available now, capacity, sustained rate."""
    q = quotas(request)
    await q.refresh_overrides(force=True)
    names: list[tuple[str, str]] = [
        (name, "provider") for name in sorted(provider_budget_limits(request.app.state.settings))
    ]
    for tenant in sorted((set(q.quotas) | set(q.overrides)) - {DEFAULT_TENANT}):
        quota = q.quota(tenant)
        if quota is not None and quota.limits() is not None:
            names.append((tenant_budget(tenant), "tenant"))
    keys: ApiKeys = request.app.state.api_keys
    for record in await keys.list():
        if record.revoked_at is None and key_limits(record) is not None:
            names.append((key_budget(record.key_id), "key"))
    gate = getattr(request.app.state.chain, "gate", None)
    out = []
    for name, kind in names:
        if gate is None:
            out.append(BudgetView(budget=name, kind=kind, configured=False))
            continue
        try:
            h = await gate.budgets.headroom(name)
        except UnknownBudget:
            out.append(BudgetView(budget=name, kind=kind, configured=False))
            continue
        out.append(
            BudgetView(
                budget=name,
                kind=kind,
                configured=True,
                available_requests=h.available_requests,
                available_tokens=h.available_tokens,
                capacity_requests=h.capacity_requests,
                capacity_tokens=h.capacity_tokens,
                sustainable_rpm=h.sustainable_rpm,
                sustainable_tpm=h.sustainable_tpm,
                open_leases=h.open_leases,
                headroom=h.available_tokens / h.capacity_tokens if h.capacity_tokens else None,
            )
        )
    return BudgetList(budgets=out)
