"""Request dependencies, as ``Annotated`` aliases the routes declare.

All are ``async def`` although none awaits: FastAPI runs plain ``def`` dependencies in
its thread pool, and those four thread hops per request cut submission throughput at
64 concurrent clients from about 360 to 140 per second (``bench/gateway_submit.py``).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from dramatiq.brokers.redis import RedisBroker
from fastapi import Depends, Header, HTTPException, Request, status

from agentqueue.core.ratelimit.quotas import TenantQuotas
from agentqueue.core.taskstore import TaskStore
from agentqueue.gateway.settings import GatewaySettings

LOCAL_TENANT = "local"


async def get_settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


async def get_store(request: Request) -> TaskStore:
    store: TaskStore = request.app.state.store
    return store


async def get_broker(request: Request) -> RedisBroker:
    broker: RedisBroker = request.app.state.broker
    return broker


SettingsDep = Annotated[GatewaySettings, Depends(get_settings)]
StoreDep = Annotated[TaskStore, Depends(get_store)]
BrokerDep = Annotated[RedisBroker, Depends(get_broker)]


async def get_quotas(request: Request) -> TenantQuotas:
    quotas: TenantQuotas = request.app.state.quotas
    return quotas


QuotasDep = Annotated[TenantQuotas, Depends(get_quotas)]


def _presented_key(authorization: str | None, x_api_key: str | None) -> str | None:
    if x_api_key:
        return x_api_key
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token:
            return token.strip()
    return None


async def get_tenant(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> str:
    """The tenant the caller's API key belongs to (``Authorization: Bearer`` or x-api-key)."""
    settings: GatewaySettings = request.app.state.settings
    if settings.auth_disabled:
        return LOCAL_TENANT
    key = _presented_key(authorization, x_api_key)
    if key is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'",
        )
    digest = hashlib.sha256(key.encode()).hexdigest()
    hashes: dict[str, str] = request.app.state.key_hashes
    for known, tenant in hashes.items():
        if hmac.compare_digest(known, digest):
            return tenant
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API key")


TenantDep = Annotated[str, Depends(get_tenant)]
