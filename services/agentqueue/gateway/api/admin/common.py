"""What the admin routes share: the audit log, the services they read, error answers."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from agentqueue.core.audit import AuditLog
from agentqueue.core.ratelimit.quotas import TenantQuotas
from agentqueue.gateway.api.admin.auth import Admin
from agentqueue.gateway.api.errors import error_responses
from agentqueue.gateway.settings import GatewaySettings


def admin_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI error answers of an admin route: 400 (a body that is not JSON), 401, 403,
    422, 503 and ``codes``."""
    return error_responses(400, 403, *codes)


def audit_log(request: Request) -> AuditLog:
    state = request.app.state
    log: AuditLog | None = getattr(state, "audit", None)
    if log is None:
        settings: GatewaySettings = state.settings
        log = AuditLog(state.redis, ttl_s=settings.audit_ttl_days * 24 * 3600)
        state.audit = log
    return log


async def audit(
    request: Request, admin: Admin, action: str, target: str = "", **details: Any
) -> None:
    """Append the admin's action to the audit log (who, what, when, on what)."""
    await audit_log(request).append(admin.actor, action, target, details)


def quotas(request: Request) -> TenantQuotas:
    q: TenantQuotas = request.app.state.quotas
    return q
