"""The web console in-process: login and its cookie, CSRF on every form, admin-only pages,
a tenant's view limited to its own tasks, keys created and revoked, dead letters
requeued and discarded, and ``/docs`` served from the vendored Swagger UI.

The browser drives the same pages against a real stack in ``tests/browser``."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from agentqueue.core.base.priority import Priority
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.queues.broker import TaskBroker, make_broker
from agentqueue.core.tasks.model import TaskError, TaskRecord, TaskSpec, TaskState
from agentqueue.core.tasks.store import TaskStore
from agentqueue.core.tasks.submission import submit
from agentqueue.gateway.settings import GatewaySettings
from tests.gateway.conftest import KEY_T1
from tests.gateway_app import gateway_client

ADMIN_KEY = "admin-key-0123456789-abcdef"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def console(gateway_settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway in-process with an admin key; a client with no key and no cookie."""
    settings = gateway_settings.model_copy(update={"admin_key": SecretStr(ADMIN_KEY)})
    async with gateway_client(settings) as client:
        yield client


async def _login(client: httpx.AsyncClient, key: str) -> httpx.Response:
    page = await client.get("/console/login")
    token = CSRF.search(page.text)
    assert token, page.text
    return await client.post("/console/login", data={"key": key, "csrf_token": token[1]})


async def _csrf(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    token = CSRF.search(page.text)
    assert token, page.text
    return token[1]


def _record(tenant: str, priority: Priority = Priority.STANDARD) -> TaskRecord:
    spec = TaskSpec(
        priority=priority,
        input=CompletionRequest(messages=[ChatMessage(role="user", content="Say hi")]),
    )
    return TaskRecord(tenant=tenant, spec=spec)


@pytest.fixture
def broker(redis_url: str) -> Iterator[TaskBroker]:
    broker = make_broker(redis_url)
    try:
        yield broker
    finally:
        broker.close()


async def test_docs_render_from_the_vendored_swagger_ui(console: httpx.AsyncClient) -> None:
    docs = await console.get("/docs")
    assert docs.status_code == 200
    assert "/console/static/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "/console/static/swagger-ui/swagger-ui.css" in docs.text
    assert "cdn." not in docs.text and "https://" not in docs.text.split("<body>")[0]
    js = await console.get("/console/static/swagger-ui/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    assert (await console.get("/console/static/vendor/htmx.min.js")).status_code == 200
    assert (await console.get("/redoc")).status_code == 404
    schema = (await console.get("/openapi.json")).json()
    assert not [p for p in schema["paths"] if p.startswith(("/console", "/docs"))]


async def test_pages_need_a_session(console: httpx.AsyncClient) -> None:
    for path in ("/console", "/console/overview", "/console/tasks", "/console/keys"):
        answer = await console.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/")
    htmx = await console.get("/console/overview/panel", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/console/login"


async def test_login_sets_a_strict_httponly_cookie_and_refuses_bad_keys(
    console: httpx.AsyncClient, aredis: aioredis.Redis
) -> None:
    bad = await _login(console, "not-a-key-0123456789")
    assert bad.status_code == 401 and "Unknown or revoked key" in bad.text
    # without the login form's token: refused before the key is even looked at
    forged = await console.post("/console/login", data={"key": ADMIN_KEY, "csrf_token": "x"})
    assert forged.status_code == 403
    ok = await _login(console, ADMIN_KEY)
    assert ok.status_code == 303 and ok.headers["location"] == "/console/overview"
    cookie = next(
        h for h in ok.headers.get_list("set-cookie") if h.startswith("aq_console=")
    ).lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    assert "secure" not in cookie  # plain http here; https adds it
    # the key is nowhere: not in the session in Redis, not in any header
    for name in [k async for k in aredis.scan_iter(match="aq:console:*")]:
        assert ADMIN_KEY.encode() not in (await aredis.get(name) or b"")
    assert ADMIN_KEY not in str(ok.headers)
    page = await console.get("/console/overview")
    assert page.status_code == 200 and 'id="queues"' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    token = CSRF.search(page.text)
    assert token
    out = await console.post("/console/logout", data={"csrf_token": token[1]})
    assert out.status_code == 303
    assert (await console.get("/console/overview")).status_code == 303


async def test_an_admin_creates_and_revokes_a_key_with_csrf(console: httpx.AsyncClient) -> None:
    await _login(console, ADMIN_KEY)
    token = await _csrf(console, "/console/keys")
    forged = await console.post("/console/keys", data={"tenant": "acme", "csrf_token": "nope"})
    assert forged.status_code == 403
    created = await console.post(
        "/console/keys",
        data={"tenant": "acme", "name": "ci", "priorities": ["batch"], "csrf_token": token},
    )
    assert created.status_code == 200
    key = re.search(r'<pre id="new-key">(aq_[^<]+)</pre>', created.text)
    assert key, created.text
    # the new key works on the API, and is shown only in that one answer
    api = await console.get("/v1/usage", headers={"Authorization": f"Bearer {key[1]}"})
    assert api.status_code == 200 and api.json()["tenant"] == "acme"
    listing = await console.get("/console/keys")
    assert key[1] not in listing.text
    key_id = re.search(r'data-key-id="([0-9a-f]{12})"', listing.text)
    assert key_id
    no_token = await console.post(f"/console/keys/{key_id[1]}/revoke")
    assert no_token.status_code == 403
    revoked = await console.post(f"/console/keys/{key_id[1]}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    listing = await console.get("/console/keys")
    assert f"/console/keys/{key_id[1]}/revoke" not in listing.text


async def test_a_tenant_sees_its_own_tasks_and_no_admin_page(
    console: httpx.AsyncClient, aredis: aioredis.Redis, broker: TaskBroker
) -> None:
    store = TaskStore(aredis, ttl=600)
    mine, _ = await submit(store, broker, _record("t1"))
    theirs, _ = await submit(store, broker, _record("t2"))
    assert (await _login(console, KEY_T1)).status_code == 303
    tasks = await console.get("/console/tasks")
    assert mine.id in tasks.text and theirs.id not in tasks.text
    assert (await console.get(f"/console/tasks/{mine.id}")).status_code == 200
    assert (await console.get(f"/console/tasks/{theirs.id}")).status_code == 404
    for path in ("/console/keys", "/console/dead-letters"):
        assert (await console.get(path)).status_code == 403
    token = await _csrf(console, "/console/overview")
    refused = await console.post("/console/keys", data={"tenant": "t1", "csrf_token": token})
    assert refused.status_code == 403
    overview = await console.get("/console/overview")
    assert 'id="queues"' not in overview.text and "tenant t1" in overview.text
    filtered = await console.get("/console/tasks", params={"status": "succeeded"})
    assert mine.id not in filtered.text


async def test_a_dead_letter_is_requeued_then_another_discarded(
    console: httpx.AsyncClient, aredis: aioredis.Redis, broker: TaskBroker
) -> None:
    store = TaskStore(aredis, ttl=600)
    ids = []
    for _ in range(2):
        record, _ = await submit(store, broker, _record("t1", Priority.BATCH))
        consumer = broker.consume("batch", prefetch=1, timeout=100)
        try:
            message = next(consumer)
            assert message is not None
            await store.start(record.id)
            await store.fail(record.id, TaskError(type="ProviderError", message="boom"))
            consumer.nack(message)  # what Dramatiq does with a TaskFailed: dead-lettered
        finally:
            consumer.close()
        ids.append(record.id)
    await _login(console, ADMIN_KEY)
    page = await console.get("/console/dead-letters")
    assert all(task_id in page.text for task_id in ids)
    assert page.text.count("ProviderError: boom") == 2  # each with its task's error
    token = CSRF.search(page.text)
    assert token
    actions = re.findall(r'action="(/console/dead-letters/[^/]+/)requeue"', page.text)
    assert len(actions) == 2
    requeue = f"{actions[0]}requeue"
    assert (await console.post(requeue)).status_code == 403  # no CSRF token
    done = await console.post(requeue, data={"csrf_token": token[1]})
    assert done.status_code == 303
    requeued = [r for r in [await store.get(i) for i in ids] if r.state is TaskState.QUEUED]
    assert len(requeued) == 1 and requeued[0].last_error is not None
    assert await aredis.llen("dramatiq:batch") == 1  # its new message
    discard = await console.post(f"{actions[1]}discard", data={"csrf_token": token[1]})
    assert discard.status_code == 303
    assert "No dead letter" in (await console.get("/console/dead-letters")).text
    again = await console.post(requeue, data={"csrf_token": token[1]})
    assert again.status_code == 404


async def test_revoking_a_key_ends_its_console_sessions(console: httpx.AsyncClient) -> None:
    await _login(console, ADMIN_KEY)
    token = await _csrf(console, "/console/keys")
    created = await console.post("/console/keys", data={"tenant": "acme", "csrf_token": token})
    key = re.search(r'<pre id="new-key">(aq_[^<]+)</pre>', created.text)
    key_id = re.search(r'data-key-id="([0-9a-f]{12})"', created.text)
    assert key and key_id
    admin = httpx.Cookies(console.cookies)
    console.cookies.clear()
    assert (await _login(console, key[1])).status_code == 303
    assert (await console.get("/console/spend")).status_code == 200
    tenant = httpx.Cookies(console.cookies)
    console.cookies = admin
    revoked = await console.post(f"/console/keys/{key_id[1]}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    console.cookies = tenant
    assert (await console.get("/console/spend")).status_code == 303


async def test_a_key_with_the_admin_role_is_an_admin_and_actions_are_audited(
    console: httpx.AsyncClient,
) -> None:
    await _login(console, ADMIN_KEY)
    token = await _csrf(console, "/console/keys")
    created = await console.post(
        "/console/keys", data={"tenant": "ops", "role": "admin", "csrf_token": token}
    )
    key = re.search(r'<pre id="new-key">(aq_[^<]+)</pre>', created.text)
    assert key
    console.cookies.clear()
    assert (await _login(console, key[1])).status_code == 303
    assert (await console.get("/console/keys")).status_code == 200
    audit = await console.get("/admin/v1/audit", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert audit.status_code == 200, audit.text
    (entry,) = [e for e in audit.json()["entries"] if e["action"] == "key.create"]
    assert entry["actor"] == "bootstrap" and entry["details"]["via"] == "console"
    assert key[1] not in audit.text


def test_cookies_are_secure_behind_a_tls_ingress_when_told() -> None:
    """Behind an ingress that ends TLS the gateway sees http: the setting marks the
    session cookies Secure all the same (the browser speaks https to the ingress)."""
    from types import SimpleNamespace

    from agentqueue.gateway.console.session import _secure

    def request(scheme: str, forced: bool) -> Any:
        state = SimpleNamespace(settings=SimpleNamespace(console_secure_cookies=forced))
        return SimpleNamespace(url=SimpleNamespace(scheme=scheme), app=SimpleNamespace(state=state))

    assert not _secure(request("http", False))  # a local stack on http://127.0.0.1
    assert _secure(request("https", False))
    assert _secure(request("http", True))
