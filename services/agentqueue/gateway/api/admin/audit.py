"""``GET /admin/v1/audit``: the admin actions, newest first (``core/audit.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from agentqueue.gateway.api.admin.auth import AdminDep
from agentqueue.gateway.api.admin.common import admin_errors, audit_log
from agentqueue.gateway.api.admin.schemas import AuditEntryView, AuditPage

router = APIRouter(prefix="/audit", tags=["admin"])


@router.get("", response_model=AuditPage, responses=admin_errors())
async def read_audit(
    request: Request,
    _admin: AdminDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[
        str | None, Query(pattern=r"^\d{1,15}-\d{1,10}$", description="`next_before` of a page")
    ] = None,
) -> AuditPage:
    """Who did what to what, and when."""
    entries, more = await audit_log(request).read(limit=limit, before=before)
    return AuditPage(
        entries=[
            AuditEntryView(
                id=e.id, at=e.at, actor=e.actor, action=e.action, target=e.target, details=e.details
            )
            for e in entries
        ],
        next_before=more,
    )
