"""The admin API, ``/admin/v1/…``: keys, tenants and quotas, usage, dead letters, budgets
and the audit log. Every route wants an admin (``auth.py``) and fails closed; every
action that changes something is written to the audit log (``core/audit.py``)."""

from __future__ import annotations

from fastapi import APIRouter

from agentqueue.gateway.api.admin import audit, budgets, dead_letters, keys, tenants, usage

router = APIRouter(prefix="/admin/v1")
for module in (keys, tenants, usage, dead_letters, budgets, audit):
    router.include_router(module.router)

__all__ = ["router"]
