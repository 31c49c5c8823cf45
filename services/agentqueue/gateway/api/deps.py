"""Request dependencies, as ``Annotated`` aliases the routes declare.

All are ``async def`` although none awaits: FastAPI runs plain ``def`` dependencies in
its thread pool, and those four thread hops per request cut submission throughput at
64 concurrent clients from about 360 to 140 per second (``bench/gateway_submit.py``).
"""

from __future__ import annotations

import hmac
import time
from typing import Annotated

from dramatiq.brokers.redis import RedisBroker
from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from agentqueue.core.apikeys import ApiKeyRecord, ApiKeys, key_digest
from agentqueue.core.ratelimit.quotas import TenantQuotas
from agentqueue.core.sessions.store import SessionStore
from agentqueue.core.tasks.store import TaskStore
from agentqueue.gateway.settings import GatewaySettings

LOCAL_TENANT = "local"


async def get_settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


async def get_store(request: Request) -> TaskStore:
    store: TaskStore = request.app.state.store
    return store


async def get_sessions(request: Request) -> SessionStore:
    sessions: SessionStore = request.app.state.sessions
    return sessions


async def get_broker(request: Request) -> RedisBroker:
    broker: RedisBroker = request.app.state.broker
    return broker


SettingsDep = Annotated[GatewaySettings, Depends(get_settings)]
StoreDep = Annotated[TaskStore, Depends(get_store)]
SessionsDep = Annotated[SessionStore, Depends(get_sessions)]
BrokerDep = Annotated[RedisBroker, Depends(get_broker)]


async def get_quotas(request: Request) -> TenantQuotas:
    quotas: TenantQuotas = request.app.state.quotas
    return quotas


QuotasDep = Annotated[TenantQuotas, Depends(get_quotas)]


#: The two ways to present a key, as OpenAPI security schemes (so the document says how
#: to authenticate, and generated clients and test tools send the key rather than guess).
_BEARER = HTTPBearer(auto_error=False, description="An agentqueue API key as a bearer token.")
_API_KEY = APIKeyHeader(
    name="x-api-key", auto_error=False, description="An agentqueue API key (Anthropic's header)."
)


def presented_key(request: Request) -> str | None:
    """The API key the request presents: ``x-api-key``, else ``Authorization: Bearer``,
    read as the two schemes read them (``APIKeyHeader``, ``HTTPBearer``)."""
    x_api_key = request.headers.get("x-api-key")
    if x_api_key:
        return x_api_key
    scheme, credentials = get_authorization_scheme_param(request.headers.get("authorization"))
    if scheme.lower() == "bearer" and credentials:
        return credentials
    return None


#: Seconds a looked-up key is trusted before Redis is asked again: a revoked key is
#: refused at most this long after ``agentqueue keys revoke`` (docs/gateway.md).
KEY_CACHE_SECONDS = 5.0
#: Keys (and unknown keys) remembered per process; past it the oldest is forgotten.
KEY_CACHE_SIZE = 10_000


async def _record_for(request: Request, key: str) -> ApiKeyRecord | None:
    """The key's record: from the environment's keys, else Redis (cached briefly).

    A Redis key's record, or its absence, is kept in this process for
    :data:`KEY_CACHE_SECONDS`, so authentication costs no Redis round trip on most
    requests (``bench/gateway_submit.py``), and an unknown key presented again and again
    costs one lookup per period."""
    digest = key_digest(key)
    hashes: dict[str, str] = request.app.state.key_hashes
    for known, tenant in hashes.items():
        if hmac.compare_digest(known, digest):
            return ApiKeyRecord(key_id=digest[:12], tenant=tenant, name="env")
    cache: dict[str, tuple[ApiKeyRecord | None, float]] = request.app.state.key_cache
    hit = cache.get(digest)
    now = time.monotonic()
    if hit is not None and hit[1] > now:
        return hit[0]
    keys: ApiKeys = request.app.state.api_keys
    record = await keys.lookup(key)
    cache.pop(digest, None)
    while len(cache) >= KEY_CACHE_SIZE:
        del cache[next(iter(cache))]  # the oldest entry (dicts keep insertion order)
    cache[digest] = (record, now + KEY_CACHE_SECONDS)
    return record


async def authenticate(request: Request) -> ApiKeyRecord:
    """Who is calling: the record of the API key presented (``Authorization: Bearer`` or
    ``x-api-key``). Unauthenticated only when the gateway is configured so (local demo)."""
    settings: GatewaySettings = request.app.state.settings
    if settings.auth_disabled:
        local = ApiKeyRecord(key_id="local", tenant=LOCAL_TENANT, name="auth disabled")
        request.state.caller = local  # the access line's tenant (gateway/observability.py)
        return local
    key = presented_key(request)
    if key is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'",
        )
    record = await _record_for(request, key)
    if record is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or revoked API key")
    if record.expired():
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(record.expires_at))
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, f"API key {record.key_id} expired at {when}"
        )
    request.state.caller = record
    return record


async def get_caller(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)] = None,
    _x_api_key: Annotated[str | None, Security(_API_KEY)] = None,
) -> ApiKeyRecord:
    """:func:`authenticate`, as every route's dependency. The two schemes are parameters
    so that the OpenAPI document names them; the key itself is read by
    :func:`presented_key`, the one reading, which the submission route's direct handler
    (``routes/tasks.py``) uses without this dependency."""
    return await authenticate(request)


CallerDep = Annotated[ApiKeyRecord, Depends(get_caller)]


async def get_tenant(caller: CallerDep) -> str:
    """The tenant the caller's API key belongs to."""
    return caller.tenant


TenantDep = Annotated[str, Depends(get_tenant)]
