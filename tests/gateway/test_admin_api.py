"""The admin API: admins only (failing closed), key CRUD and rotation, the audit log,
tenants' quotas, usage grouping and budgets."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from agentqueue.core.llm.messages import Usage
from agentqueue.core.llm.usage import UsageLedger
from agentqueue.gateway.app import create_app
from agentqueue.gateway.settings import GatewaySettings
from tests.gateway.conftest import KEY_T1, KEY_T2

ADMIN_KEY = "admin-bootstrap-key-0123456789"


def admin_settings(redis_url: str, **fields: object) -> GatewaySettings:
    return GatewaySettings(
        redis_url=SecretStr(redis_url),
        api_keys=SecretStr(f"t1:{KEY_T1},t2:{KEY_T2}"),
        admin_key=SecretStr(ADMIN_KEY),
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture
async def gw(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway in-process, no default key: each request says who it is."""
    app = create_app(admin_settings(redis_url))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway"
        ) as client,
    ):
        client.app = app  # type: ignore[attr-defined]
        yield client


def as_(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


ADMIN = as_(ADMIN_KEY)


async def _create(gw: httpx.AsyncClient, **body: object) -> tuple[str, dict[str, object]]:
    r = await gw.post("/admin/v1/keys", json={"tenant": "t1", **body}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return r.json()["key"], r.json()["record"]


def _admin_routes(app: object) -> list[tuple[str, str]]:
    """Every admin operation, from the app's own OpenAPI document (FastAPI may keep an
    included router whole rather than flatten its routes into ``app.routes``)."""
    paths = app.openapi()["paths"]  # type: ignore[attr-defined]
    return [
        (method.upper(), path)
        for path, ops in paths.items()
        if path.startswith("/admin/")
        for method in ops
    ]


async def test_a_tenant_key_is_403_on_every_admin_route(gw: httpx.AsyncClient) -> None:
    tenant_key, _ = await _create(gw)  # a tenant key from Redis, beside the env's
    routes = _admin_routes(gw.app)  # type: ignore[attr-defined]
    assert len(routes) >= 15
    for key in (KEY_T1, tenant_key):
        for method, path in routes:
            url = path.replace("{key_id}", "abc").replace("{tenant}", "t1")
            url = url.replace("{message_id}", "m1")
            body = {} if method in ("POST", "PUT", "PATCH") else None
            r = await gw.request(method, url, json=body, headers=as_(key))
            assert r.status_code == 403, (method, path, r.status_code, r.text)
            assert r.json()["error"]["type"] == "forbidden"
    for method, path in routes:  # and without a key, or an unknown one: 401
        url = path.replace("{key_id}", "abc").replace("{tenant}", "t1")
        url = url.replace("{message_id}", "m1")
        r = await gw.request(method, url)
        assert r.status_code == 401, (method, path)
        r = await gw.request(method, url, headers=as_("aq_not-a-key-0123456789"))
        assert r.status_code == 401, (method, path)


async def test_auth_disabled_does_not_open_the_admin_api(redis_url: str) -> None:
    app = create_app(admin_settings(redis_url, auth_disabled=True))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c,
    ):
        assert (await c.get("/admin/v1/keys")).status_code == 401
        assert (await c.get("/admin/v1/keys", headers=ADMIN)).status_code == 200


async def test_admin_fails_closed_when_redis_fails(gw: httpx.AsyncClient) -> None:
    class Broken:
        async def lookup(self, key: str) -> None:
            raise RuntimeError("boom")

    app = gw.app  # type: ignore[attr-defined]
    real = app.state.api_keys
    app.state.api_keys = Broken()
    try:
        r = await gw.get("/admin/v1/keys", headers=as_("aq_someone-0123456789abcdef"))
        assert r.status_code == 403
        assert r.json()["error"]["message"] == "admin authentication failed"
    finally:
        app.state.api_keys = real


async def test_rotation_is_refused_for_an_expired_key_and_a_second_concurrent_one(
    gw: httpx.AsyncClient,
) -> None:
    _, expired = await _create(gw, expires_at=time.time() - 1)
    r = await gw.post(f"/admin/v1/keys/{expired['key_id']}/rotate", headers=ADMIN)
    assert r.status_code == 409 and "expired" in r.text, r.text

    _, record = await _create(gw)
    both = await asyncio.gather(
        *(gw.post(f"/admin/v1/keys/{record['key_id']}/rotate", headers=ADMIN) for _ in range(2))
    )
    assert sorted(r.status_code for r in both) == [201, 409], [r.text for r in both]
    listed = (await gw.get("/admin/v1/keys", headers=ADMIN)).json()["keys"]
    assert [k["rotated_from"] for k in listed].count(record["key_id"]) == 1


async def test_key_lifecycle_and_audit(gw: httpx.AsyncClient, aredis: aioredis.Redis) -> None:
    key, record = await _create(
        gw,
        name="ci",
        priorities=["batch"],
        quotas={"rpm": 100, "usd_per_day": 5},
        tags={"team": "search"},
    )
    key_id = str(record["key_id"])
    assert key.startswith("aq_") and record["tenant"] == "t1" and record["role"] == "tenant"
    # the key works on /v1, never shown again
    assert (await gw.get("/v1/usage", headers=as_(key))).status_code == 200
    listed = (await gw.get("/admin/v1/keys", headers=ADMIN)).json()["keys"]
    assert [k["key_id"] for k in listed] == [key_id]
    assert key not in str(listed)
    one = (await gw.get(f"/admin/v1/keys/{key_id}", headers=ADMIN)).json()
    assert one["quotas"]["rpm"] == 100 and one["tags"] == {"team": "search"}
    assert (await gw.get("/admin/v1/keys/nope", headers=ADMIN)).status_code == 404

    r = await gw.patch(
        f"/admin/v1/keys/{key_id}",
        json={"name": "ci-2", "quotas": {"tpm": 1000}, "expires_at": time.time() + 3600},
        headers=ADMIN,
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "ci-2" and r.json()["quotas"]["tpm"] == 1000
    assert r.json()["priorities"] == ["batch"]  # untouched
    r = await gw.patch(f"/admin/v1/keys/{key_id}", json={"expires_at": None}, headers=ADMIN)
    assert r.json()["expires_at"] is None

    rotated = await gw.post(f"/admin/v1/keys/{key_id}/rotate", headers=ADMIN)
    assert rotated.status_code == 201, rotated.text
    new_key, new_record = rotated.json()["key"], rotated.json()["record"]
    assert new_record["rotated_from"] == key_id and new_record["name"] == "ci-2"
    assert new_record["quotas"]["tpm"] == 1000 and new_record["tenant"] == "t1"
    app = gw.app  # type: ignore[attr-defined]
    app.state.key_cache.clear()  # the 5-second key cache, not waited for
    assert (await gw.get("/v1/usage", headers=as_(key))).status_code == 401
    assert (await gw.get("/v1/usage", headers=as_(new_key))).status_code == 200
    assert (await gw.post(f"/admin/v1/keys/{key_id}/rotate", headers=ADMIN)).status_code == 409

    new_id = new_record["key_id"]
    assert (await gw.post(f"/admin/v1/keys/{new_id}/revoke", headers=ADMIN)).status_code == 200
    assert (await gw.post(f"/admin/v1/keys/{new_id}/revoke", headers=ADMIN)).status_code == 409
    app.state.key_cache.clear()
    assert (await gw.get("/v1/usage", headers=as_(new_key))).status_code == 401

    entries = (await gw.get("/admin/v1/audit", headers=ADMIN)).json()["entries"]
    actions = [(e["actor"], e["action"], e["target"]) for e in entries]
    assert actions == [
        ("bootstrap", "key.revoke", new_id),
        ("bootstrap", "key.rotate", key_id),
        ("bootstrap", "key.update", key_id),
        ("bootstrap", "key.update", key_id),
        ("bootstrap", "key.create", key_id),
    ]
    assert all(e["at"] > time.time() - 60 for e in entries)
    raw = str(await aredis.xrange("aq:audit"))
    assert key not in raw and new_key not in raw and ADMIN_KEY not in raw
    assert 0 < await aredis.ttl("aq:audit") <= 90 * 24 * 3600
    page = (await gw.get("/admin/v1/audit?limit=2", headers=ADMIN)).json()
    rest = (await gw.get(f"/admin/v1/audit?before={page['next_before']}", headers=ADMIN)).json()
    assert [e["id"] for e in page["entries"] + rest["entries"]] == [e["id"] for e in entries]


async def test_an_admin_key_administers_and_is_the_actor(gw: httpx.AsyncClient) -> None:
    admin_key, record = await _create(gw, tenant="ops", role="admin")
    r = await gw.post("/admin/v1/keys", json={"tenant": "t2"}, headers=as_(admin_key))
    assert r.status_code == 201
    entry = (await gw.get("/admin/v1/audit?limit=1", headers=as_(admin_key))).json()["entries"][0]
    assert entry["actor"] == record["key_id"] and entry["action"] == "key.create"
    await gw.post(f"/admin/v1/keys/{record['key_id']}/revoke", headers=ADMIN)
    assert (await gw.get("/admin/v1/keys", headers=as_(admin_key))).status_code == 401


async def test_an_expired_key_is_401(gw: httpx.AsyncClient) -> None:
    key, _ = await _create(gw, expires_at=time.time() - 1)
    r = await gw.get("/v1/usage", headers=as_(key))
    assert r.status_code == 401
    assert "expired" in r.json()["error"]["message"]
    assert key not in r.text


async def test_allowed_models_are_resolved_and_refused_with_403_naming_the_model(
    gw: httpx.AsyncClient,
) -> None:
    catalog = gw.app.state.chain.catalog  # type: ignore[attr-defined]
    models = [m for m in catalog.models if m.provider == "openai"]
    allowed, other = models[0].model, models[1].model
    r = await gw.post(
        "/admin/v1/keys", json={"tenant": "t1", "allowed_models": ["nope-1"]}, headers=ADMIN
    )
    assert r.status_code == 422 and "nope-1" in r.text
    key, record = await _create(gw, allowed_models=[allowed])
    assert record["allowed_models"] == [allowed]
    msg = [{"role": "user", "content": "hi"}]
    r = await gw.post("/v1/tasks", json={"messages": msg, "model": other}, headers=as_(key))
    assert r.status_code == 403 and other in r.json()["error"]["message"]
    r = await gw.post(
        "/v1/chat/completions", json={"model": other, "messages": msg}, headers=as_(key)
    )
    assert r.status_code == 403, r.text
    assert other in r.json()["error"]["message"]  # OpenAI's envelope
    assert r.json()["error"]["code"] == "permission_denied"
    r = await gw.post(
        "/v1/messages",
        json={"model": other, "max_tokens": 10, "messages": msg},
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
    )
    assert r.status_code == 403, r.text
    assert r.json()["type"] == "error" and other in r.json()["error"]["message"]
    r = await gw.post("/v1/responses", json={"model": other, "input": "hi"}, headers=as_(key))
    assert r.status_code == 403 and other in r.text
    r = await gw.post("/v1/tasks", json={"messages": msg, "model": allowed}, headers=as_(key))
    assert r.status_code == 202, r.text


async def test_tenants_and_their_quotas(gw: httpx.AsyncClient) -> None:
    await _create(gw, tenant="acme")
    r = await gw.put(
        "/admin/v1/tenants/acme/quota", json={"tpm": 5000, "usd_per_day": 2}, headers=ADMIN
    )
    assert r.status_code == 200, r.text
    tenants = {
        t["tenant"]: t for t in (await gw.get("/admin/v1/tenants", headers=ADMIN)).json()["tenants"]
    }
    assert tenants["acme"]["quota"]["tpm"] == 5000 and tenants["acme"]["source"] == "admin"
    assert tenants["acme"]["keys"] == 1 and tenants["acme"]["spent_today_usd"] == 0
    budgets = (await gw.get("/admin/v1/budgets", headers=ADMIN)).json()["budgets"]
    acme = next(b for b in budgets if b["budget"] == "tenant:acme")
    assert acme["configured"] and acme["capacity_tokens"] == 5000 and acme["kind"] == "tenant"
    assert (await gw.delete("/admin/v1/tenants/acme/quota", headers=ADMIN)).status_code == 204
    tenants = {
        t["tenant"]: t for t in (await gw.get("/admin/v1/tenants", headers=ADMIN)).json()["tenants"]
    }
    assert tenants["acme"]["quota"] is None
    actions = [
        e["action"] for e in (await gw.get("/admin/v1/audit", headers=ADMIN)).json()["entries"]
    ]
    assert actions[:2] == ["tenant.quota.remove", "tenant.quota.set"]


async def test_key_budgets_with_headroom(gw: httpx.AsyncClient) -> None:
    _, record = await _create(gw, quotas={"rpm": 7, "tpm": 700})
    budgets = (await gw.get("/admin/v1/budgets", headers=ADMIN)).json()["budgets"]
    mine = next(b for b in budgets if b["budget"] == f"key:{record['key_id']}")
    assert mine["configured"] and mine["capacity_requests"] == 7 and mine["headroom"] == 1.0


async def test_usage_grouped_by_tenant_key_model_tag_and_day(
    gw: httpx.AsyncClient, aredis: aioredis.Redis
) -> None:
    ledger = UsageLedger(aredis)
    u = Usage(input_tokens=10, output_tokens=5)
    await ledger.record("t1", "m-a", u, Decimal("0.5"), key_id="k1", tags={"team": "x"})
    await ledger.record("t1", "m-b", u, Decimal("0.25"), key_id="k2", tags={"team": "y"})
    await ledger.record("t2", "m-a", u, Decimal("1"), key_id="k3")

    async def rows(group_by: str, **q: str) -> dict[str, dict[str, object]]:
        r = await gw.get("/admin/v1/usage", params={"group_by": group_by, **q}, headers=ADMIN)
        assert r.status_code == 200, r.text
        return {row["group"]: row for row in r.json()["rows"]}

    by_tenant = await rows("tenant")
    assert by_tenant["t1"]["cost_usd"] == 0.75 and by_tenant["t1"]["calls"] == 2
    assert by_tenant["t2"]["cost_usd"] == 1.0
    by_key = await rows("key")
    assert by_key["k1"]["tenant"] == "t1" and by_key["k3"]["cost_usd"] == 1.0
    assert set(await rows("key", tenant="t1")) == {"k1", "k2"}
    by_model = await rows("model")
    assert by_model["m-a"]["calls"] == 2 and by_model["m-a"]["input_tokens"] == 20
    by_tag = await rows("tag")
    assert by_tag["team=x"]["cost_usd"] == 0.5 and by_tag["team=y"]["calls"] == 1
    by_day = await rows("day")
    assert list(by_day) == [dt.datetime.now(dt.UTC).date().isoformat()]  # days with usage
    assert by_day[next(iter(by_day))]["cost_usd"] == 1.75
    r = await gw.get("/admin/v1/usage?since=2026-01-02&until=2026-01-01", headers=ADMIN)
    assert r.status_code == 422
    assert await ledger.key_spent("k1") == Decimal("0.5")
    assert await ledger.key_spent("k1", month=True) == Decimal("0.5")


async def test_keys_are_never_logged(
    gw: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    key, record = await _create(gw, expires_at=time.time() + 3600)
    await gw.get("/v1/usage", headers=as_(key))
    await gw.get("/v1/tasks/nope", headers=as_(key))
    await gw.get("/admin/v1/keys", headers=as_(key))  # 403
    await gw.post(f"/admin/v1/keys/{record['key_id']}/rotate", headers=ADMIN)
    await gw.get("/v1/usage", headers=as_(key))  # revoked by the rotation: 401
    await gw.get("/admin/v1/keys", headers=as_("aq_unknown-0123456789abcdef"))
    assert caplog.records  # the access log and friends did log
    for secret in (key, ADMIN_KEY, "aq_unknown-0123456789abcdef"):
        assert secret not in caplog.text
