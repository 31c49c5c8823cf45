"""``/admin/v1/tenants``: tenants with their quotas and today's spend; set a quota.

The tenants listed are those anything names: the settings' quotas, the quotas set
here, the keys, and today's usage (``aq:usage-tenants:<date>``) — no scan. A quota set
here (``aq:tenant-quotas``) is over the settings' for that tenant, read by every process
within five seconds; its per-minute budget (``tenant:<id>``) is reconfigured at once.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from agentqueue.core.apikeys import ApiKeys
from agentqueue.core.llm.usage import utc_today
from agentqueue.core.ratelimit.quotas import DEFAULT_TENANT, TenantQuota, tenant_budget
from agentqueue.gateway.api.admin.auth import AdminDep
from agentqueue.gateway.api.admin.common import admin_errors, audit, quotas
from agentqueue.gateway.api.admin.schemas import (
    TenantList,
    TenantQuotaBody,
    TenantView,
)

router = APIRouter(prefix="/tenants", tags=["admin"])

TenantPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^:\s/]+$")]


def _body(q: TenantQuota | None) -> TenantQuotaBody | None:
    if q is None:
        return None
    return TenantQuotaBody(tpm=q.tpm, rpm=q.rpm, usd_per_day=q.usd_per_day)


@router.get("", response_model=TenantList, responses=admin_errors())
async def list_tenants(request: Request, _admin: AdminDep) -> TenantList:
    """Every tenant named anywhere, with the quota in force and today's spend."""
    q = quotas(request)
    await q.refresh_overrides(force=True)
    keys: ApiKeys = request.app.state.api_keys
    records = await keys.list()
    today_set = await q.redis.smembers(q.ledger.tenants_key(utc_today()))
    names = (
        {t for t in q.quotas if t != DEFAULT_TENANT}
        | set(q.overrides)
        | {r.tenant for r in records}
        | {t.decode() if isinstance(t, bytes) else str(t) for t in today_set}
    )
    out = []
    for tenant in sorted(names):
        spent = await q.spent_today(tenant)
        out.append(
            TenantView(
                tenant=tenant,
                quota=_body(q.quota(tenant)),
                source="admin" if tenant in q.overrides else "settings",
                spent_today_usd=float(spent),
                keys=sum(1 for r in records if r.tenant == tenant and r.revoked_at is None),
            )
        )
    return TenantList(tenants=out)


@router.put("/{tenant}/quota", response_model=TenantView, responses=admin_errors())
async def set_quota(
    tenant: TenantPath, body: TenantQuotaBody, request: Request, admin: AdminDep
) -> TenantView:
    """Set the tenant's quota (over the settings'); its budget is reconfigured at once."""
    q = quotas(request)
    quota = TenantQuota(
        tpm=body.tpm,
        rpm=body.rpm,
        usd_per_day=Decimal(str(body.usd_per_day)) if body.usd_per_day is not None else None,
    )
    await q.set_quota(tenant, quota)
    limits = quota.limits()
    gate = getattr(request.app.state.chain, "gate", None)
    if limits is not None and gate is not None:
        await gate.budgets.configure(tenant_budget(tenant), limits)
    await audit(request, admin, "tenant.quota.set", tenant, quota=body.model_dump(mode="json"))
    return TenantView(
        tenant=tenant,
        quota=_body(quota),
        source="admin",
        spent_today_usd=float(await q.spent_today(tenant)),
        keys=0,
    )


@router.delete("/{tenant}/quota", status_code=status.HTTP_204_NO_CONTENT, responses=admin_errors())
async def remove_quota(tenant: TenantPath, request: Request, admin: AdminDep) -> Response:
    """Remove the quota set here: the settings' applies again."""
    q = quotas(request)
    await q.set_quota(tenant, None)
    settings_quota = q.quota(tenant)
    limits = settings_quota.limits() if settings_quota is not None else None
    gate = getattr(request.app.state.chain, "gate", None)
    if limits is not None and gate is not None:
        await gate.budgets.configure(tenant_budget(tenant), limits)
    await audit(request, admin, "tenant.quota.remove", tenant)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
