"""Who may call the admin API: an admin, and nobody else — failing closed.

An admin is the bootstrap key (``AGENTQUEUE_ADMIN_KEY`` or the file in
``AGENTQUEUE_ADMIN_KEY_FILE``: its SHA-256 compared in constant time, so a fresh install
has an admin) or a live, unexpired key whose record has the role ``admin``. A key of any
other kind is 403 on every admin route — tenant keys from Redis and from
``AGENTQUEUE_API_KEYS`` alike — and no key, an unknown, revoked or expired one is 401.
Any other failure while deciding (Redis unreachable, a record that does not parse) is
403 as well, logged without the key: the admin API is never open by accident, and
``AGENTQUEUE_AUTH_DISABLED`` does not open it either.

Admin keys are read from Redis on every request, not from the tenant routes' 5-second
cache: a revoked admin is refused at once. The actor the audit log records is the key's
id, or ``bootstrap`` — never the key.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from agentqueue.core.apikeys import ApiKeys, Role, key_digest
from agentqueue.gateway.api.deps import presented_key

log = logging.getLogger(__name__)

BOOTSTRAP = "bootstrap"

_ADMIN_BEARER = HTTPBearer(
    auto_error=False, description="An admin key (role admin, or AGENTQUEUE_ADMIN_KEY)."
)
_ADMIN_API_KEY = APIKeyHeader(name="x-api-key", auto_error=False, description="An admin key.")


@dataclass(frozen=True)
class Admin:
    """The admin making the request: ``actor`` is a key id or ``bootstrap``."""

    actor: str


def _refuse(code: int, message: str) -> HTTPException:
    return HTTPException(code, message)


async def _admin(request: Request) -> Admin:
    key = presented_key(request)
    if key is None:
        raise _refuse(status.HTTP_401_UNAUTHORIZED, "missing admin key")
    digest = key_digest(key)
    bootstrap: str | None = getattr(request.app.state, "admin_key_hash", None)
    if bootstrap and hmac.compare_digest(bootstrap, digest):
        return Admin(BOOTSTRAP)
    env_keys: dict[str, str] = getattr(request.app.state, "key_hashes", {})
    if any(hmac.compare_digest(known, digest) for known in env_keys):
        raise _refuse(status.HTTP_403_FORBIDDEN, "a tenant key may not use the admin API")
    keys: ApiKeys = request.app.state.api_keys
    record = await keys.lookup(key)
    if record is None:
        raise _refuse(status.HTTP_401_UNAUTHORIZED, "invalid or revoked API key")
    if record.expired():
        raise _refuse(status.HTTP_401_UNAUTHORIZED, f"API key {record.key_id} expired")
    if record.role is not Role.ADMIN:
        raise _refuse(status.HTTP_403_FORBIDDEN, "a tenant key may not use the admin API")
    return Admin(record.key_id)


async def require_admin(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_ADMIN_BEARER)] = None,
    _x_api_key: Annotated[str | None, Security(_ADMIN_API_KEY)] = None,
) -> Admin:
    """The admin dependency: an :class:`Admin`, or 401/403 — on any error, 403."""
    try:
        admin = await _admin(request)
    except HTTPException:
        raise
    except Exception as exc:  # fail closed: whatever went wrong, no admin
        log.error("admin authentication failed closed: %s", type(exc).__name__)
        raise _refuse(status.HTTP_403_FORBIDDEN, "admin authentication failed") from None
    request.state.admin = admin
    return admin


AdminDep = Annotated[Admin, Depends(require_admin)]
