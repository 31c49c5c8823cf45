"""Console sessions: who is logged in, and the CSRF token their forms must carry.

Why server-side sessions rather than a signed cookie: the cookie then holds only a random
id (256 bits) and nothing to forge or decode, a logout deletes the session everywhere,
and no signing secret has to be configured or shared between gateway replicas. Redis
holds ``aq:console:session:<sha256(id)>`` (the hash, so whoever reads Redis cannot take
over a session) with the key's *digest*, never the key itself, and the session's CSRF
token.

Every request re-resolves the digest to an :class:`ApiKeyRecord` the way the API's
authentication does (``gateway/api/deps.py``: the environment's keys, then Redis, a
revoked or expired key refused), so revoking a key ends its console sessions too. Who
is an admin is decided as the admin API decides it (:func:`resolve`): the bootstrap key
(``AGENTQUEUE_ADMIN_KEY``) or a key whose record has the role ``admin``.

CSRF: a synchronizer token per session, in a hidden field of every form and in the
``X-CSRF-Token`` header of every htmx request, compared in constant time on every
unsafe method. The login form, which has no session yet, uses a double-submit cookie.
The cookies are ``HttpOnly`` and ``SameSite=Strict`` (``Secure`` over https), which
alone would stop most cross-site posts; the token is the defence that does not depend
on the browser.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

import redis.asyncio as aioredis
from fastapi import Request, Response

from agentqueue.core.apikeys import ApiKeyRecord, ApiKeys, Role, key_digest
from agentqueue.gateway.api.admin.auth import BOOTSTRAP

SESSION_COOKIE = "aq_console"
LOGIN_CSRF_COOKIE = "aq_console_login"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
#: Seconds a console session lives without use (each request renews it).
SESSION_TTL_S = 8 * 3600
SESSION_PREFIX = "aq:console:session:"


@dataclass(frozen=True)
class ConsoleUser:
    """The logged-in caller: their key's record, admin or not, and the session's token."""

    record: ApiKeyRecord
    admin: bool
    csrf: str
    session_hash: str

    @property
    def tenant(self) -> str | None:
        """The tenant whose data the user sees; None: every tenant's (an admin)."""
        return None if self.admin else self.record.tenant


def _session_key(session_id: str) -> str:
    return SESSION_PREFIX + hashlib.sha256(session_id.encode()).hexdigest()


async def resolve(request: Request, digest: str) -> tuple[ApiKeyRecord, bool] | None:
    """The record of the key with that digest and whether it is an admin; None when the
    key is unknown, revoked or expired.

    The same decision as the admin API's (``gateway/api/admin/auth.py``), from the same
    sources in the same order, on the key's digest instead of the key: the bootstrap
    admin key's hash (``app.state.admin_key_hash``), then ``AGENTQUEUE_API_KEYS`` (tenant
    keys, never admins), then the key's record in Redis (read each time, not cached: a
    revoked key is refused at once), an admin when its role is ``admin``."""
    state = request.app.state
    bootstrap: str | None = getattr(state, "admin_key_hash", None)
    if bootstrap and hmac.compare_digest(bootstrap, digest):
        return ApiKeyRecord(key_id=BOOTSTRAP, tenant="*", name="admin key", role=Role.ADMIN), True
    hashes: dict[str, str] = state.key_hashes
    for known, tenant in hashes.items():
        if hmac.compare_digest(known, digest):
            return ApiKeyRecord(key_id=digest[:12], tenant=tenant, name="env"), False
    keys: ApiKeys = state.api_keys
    raw = await keys.redis.get(f"{keys.prefix}{digest}")
    if raw is None:
        return None
    record = ApiKeyRecord.model_validate_json(raw)
    if record.revoked_at is not None or record.expired():
        return None
    return record, record.role is Role.ADMIN


def _redis(request: Request) -> aioredis.Redis:
    redis: aioredis.Redis = request.app.state.redis
    return redis


def _secure(request: Request) -> bool:
    """``Secure`` on https, and always when TLS ends before the gateway (a setting: the
    scheme the gateway sees behind an ingress is http)."""
    forced = getattr(request.app.state.settings, "console_secure_cookies", False)
    return bool(forced) or request.url.scheme == "https"


async def login(request: Request, response: Response, key: str) -> bool:
    """Open a session for ``key`` if it is a valid key; set the cookie on ``response``."""
    digest = key_digest(key.strip())
    if await resolve(request, digest) is None:
        return False
    session_id = secrets.token_urlsafe(32)
    payload = {"digest": digest, "csrf": secrets.token_urlsafe(32)}
    await _redis(request).set(_session_key(session_id), json.dumps(payload), ex=SESSION_TTL_S)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=SESSION_TTL_S,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return True


async def logout(request: Request, response: Response) -> None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        await _redis(request).delete(_session_key(session_id))
    response.delete_cookie(SESSION_COOKIE, path="/console")


async def current_user(request: Request) -> ConsoleUser | None:
    """The session's user, renewed for another :data:`SESSION_TTL_S`; None when there is
    no session or its key has been revoked since."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    name = _session_key(session_id)
    raw = await _redis(request).get(name)
    if raw is None:
        return None
    payload = json.loads(raw)
    found = await resolve(request, payload["digest"])
    if found is None:
        await _redis(request).delete(name)
        return None
    await _redis(request).expire(name, SESSION_TTL_S)
    record, admin = found
    return ConsoleUser(record=record, admin=admin, csrf=payload["csrf"], session_hash=name)


def login_token(request: Request) -> str:
    """The login form's double-submit token: the browser's cookie's, else a new one."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)


def set_login_token(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def login_csrf_ok(request: Request, submitted: str) -> bool:
    """Whether the login form's token matches its cookie (double submit)."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    return bool(cookie and submitted) and hmac.compare_digest(cookie or "", submitted)


def csrf_ok(user: ConsoleUser, submitted: str) -> bool:
    """Whether an unsafe request's token (form field or header) is the session's."""
    return bool(submitted) and hmac.compare_digest(submitted, user.csrf)
