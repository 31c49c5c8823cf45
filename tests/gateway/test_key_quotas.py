"""Each API key's own quotas, enforced in the same atomic acquire as its tenant's and the
provider's budgets: a key over its quota is refused at once with 429 and a retry-after
naming the key's quota, while another key of the same tenant is still served; a task
carries its key, so the worker's calls charge the key too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from agentqueue.core.base.errors import KeyQuotaExceeded
from agentqueue.core.calls.factory import build_chain
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest, Tier, Usage
from agentqueue.core.ratelimit.quotas import TenantQuotas
from agentqueue.core.settings import CoreSettings
from agentqueue.core.tasks.store import TaskStore
from agentqueue.gateway.app import create_app
from agentqueue.gateway.settings import GatewaySettings
from agentqueue.worker.runner import TaskRunner

ADMIN_KEY = "admin-bootstrap-key-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
HI = {"model": "efficient", "messages": [{"role": "user", "content": "Say hi"}]}


@pytest.fixture
async def gw(redis_url: str, simulator: Any) -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(
        redis_url=SecretStr(redis_url),
        admin_key=SecretStr(ADMIN_KEY),
        simulator_url=simulator.url,
        cache_enabled=False,  # every call reaches the gate (a cache hit spends no quota)
        tenant_quotas={"acme": {"rpm": 1000, "tpm": 10_000_000}},
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c,
    ):
        yield c


async def _key(gw: httpx.AsyncClient, **body: Any) -> tuple[str, str]:
    r = await gw.post("/admin/v1/keys", json={"tenant": "acme", **body}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return r.json()["key"], r.json()["record"]["key_id"]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_key_over_its_rpm_is_429_while_another_key_of_the_tenant_works(
    gw: httpx.AsyncClient,
) -> None:
    limited, limited_id = await _key(gw, quotas={"rpm": 2})
    other, _ = await _key(gw)
    for _ in range(2):
        r = await gw.post("/v1/chat/completions", json=HI, headers=bearer(limited))
        assert r.status_code == 200, r.text
    r = await gw.post("/v1/chat/completions", json=HI, headers=bearer(limited))
    assert r.status_code == 429, r.text
    assert 1 <= int(r.headers["retry-after"]) <= 60
    message = r.json()["error"]["message"]
    assert limited_id in message and "requests per minute" in message
    assert "tenant" not in message.split(";")[0]  # the key's quota, not the tenant's
    r = await gw.post("/v1/chat/completions", json=HI, headers=bearer(other))
    assert r.status_code == 200, r.text
    # the native task API refuses the key's spend the same way, not its tenant's
    r = await gw.post(
        "/v1/messages",
        json={**HI, "max_tokens": 20},
        headers={"x-api-key": limited, "anthropic-version": "2023-06-01"},
    )
    assert r.status_code == 429 and limited_id in r.text


async def test_a_key_over_its_tpm_is_named_tpm(gw: httpx.AsyncClient) -> None:
    key, key_id = await _key(gw, quotas={"tpm": 300})
    statuses = []
    for _ in range(5):  # each reserves ~290 tokens of the key's 300 a minute
        r = await gw.post(
            "/v1/chat/completions", json={**HI, "max_tokens": 280}, headers=bearer(key)
        )
        statuses.append(r.status_code)
        if r.status_code != 200:
            break
    assert statuses[0] == 200 and statuses[-1] == 429, (statuses, r.text)
    assert key_id in r.json()["error"]["message"]
    assert "tokens per minute" in r.json()["error"]["message"]


async def test_a_key_over_its_daily_spend_gets_no_task(
    gw: httpx.AsyncClient, aredis: aioredis.Redis
) -> None:
    key, key_id = await _key(gw, quotas={"usd_per_day": 0.01})
    other, _ = await _key(gw)
    await TenantQuotas(aredis, {}).record(
        "acme", "m", Usage(input_tokens=1), Decimal("0.02"), key_id=key_id
    )
    task = {"messages": HI["messages"]}
    r = await gw.post("/v1/tasks", json=task, headers=bearer(key))
    assert r.status_code == 429 and key_id in r.json()["error"]["message"]
    assert r.json()["error"]["quota"] == "usd_per_day"
    assert (await gw.post("/v1/tasks", json=task, headers=bearer(other))).status_code == 202


async def test_a_task_carries_its_key_and_the_worker_charges_it(
    gw: httpx.AsyncClient, aredis: aioredis.Redis, simulator: Any, redis_url: str
) -> None:
    key, key_id = await _key(gw, quotas={"rpm": 1}, tags={"team": "search"})
    task = {"messages": HI["messages"], "metadata": {"ticket": "T-1"}}
    ids = []
    for _ in range(2):
        r = await gw.post(
            "/v1/tasks", json=task, headers={**bearer(key), "x-agentqueue-tags": "env=ci"}
        )
        assert r.status_code == 202, r.text
        ids.append(r.json()["id"])
    store = TaskStore(aredis, ttl=600)
    record = await store.get(ids[0])
    assert record.key_id == key_id
    assert record.tags == {"team": "search", "ticket": "T-1", "env": "ci"}
    settings = CoreSettings(simulator_url=simulator.url, redis_url=SecretStr(redis_url))
    chain = build_chain(settings, aredis, max_wait=1.0)
    try:
        runner = TaskRunner(store, chain, backoff=0.1, backoff_max=0.2)
        await runner.run(ids[0], retries_done=0, retries_left=0)
        assert (await store.get(ids[0])).state.value == "succeeded"
        with pytest.raises(Exception) as refused:  # the key's minute is spent
            await chain.complete((await store.get(ids[1])).spec.input, tenant="acme", key_id=key_id)
        assert isinstance(refused.value, KeyQuotaExceeded)
        assert refused.value.key_id == key_id and refused.value.quota == "rpm"
    finally:
        await chain.aclose()
    day = await aredis.keys(f"aq:usage-key:{key_id}:*")
    assert len(day) == 2  # the key's day and month, written with the task's call
    tags = await aredis.hgetall(next(iter(await aredis.keys("aq:usage-tag:acme:*"))))
    assert {k.decode().split("|")[0] for k in tags} == {"team=search", "ticket=T-1", "env=ci"}


async def test_bad_tags_header_is_422(gw: httpx.AsyncClient) -> None:
    key, _ = await _key(gw)
    r = await gw.post(
        "/v1/tasks",
        json={"messages": HI["messages"]},
        headers={**bearer(key), "x-agentqueue-tags": "no-equals-sign"},
    )
    assert r.status_code == 422 and "x-agentqueue-tags" in r.text


async def test_fallback_never_answers_with_a_model_outside_the_keys_allowlist(
    gw: httpx.AsyncClient, aredis: aioredis.Redis, simulator: Any, redis_url: str
) -> None:
    settings = CoreSettings(simulator_url=simulator.url, redis_url=SecretStr(redis_url))
    chain = build_chain(settings, aredis, max_wait=1.0)
    try:
        request = CompletionRequest(
            messages=[ChatMessage(role="user", content="hi")], tier=Tier.EFFICIENT
        )
        (_, first), (_, second), *_ = chain.candidates(request)
        _, key_id = await _key(gw, allowed_models=[second])
        result = await chain.complete(request, tenant="acme", key_id=key_id)
        assert result.completion.model == second
        skipped = result.attempts[0]
        assert skipped.model == first and skipped.error_type == "ModelNotAllowed"
        assert chain.breakers  # a skipped model says nothing of its provider's health
        assert all(b.state.value == "closed" for b in chain.breakers.values())
    finally:
        await chain.aclose()


async def test_a_cached_answer_from_a_model_the_key_may_not_use_is_not_served(
    gw: httpx.AsyncClient, aredis: aioredis.Redis, simulator: Any, redis_url: str
) -> None:
    """An answer cached when another key of the tenant asked (bought from the tier's first
    model) is not handed to a key whose allowlist excludes that model: it misses, and its
    call is answered by a model it may use."""
    from agentqueue.core.calls.factory import build_pipeline

    settings = CoreSettings(simulator_url=simulator.url, redis_url=SecretStr(redis_url))
    pipeline = build_pipeline(settings, aredis, max_wait=1.0)
    try:
        request = CompletionRequest(
            messages=[ChatMessage(role="user", content="the cached one")],
            tier=Tier.EFFICIENT,
            temperature=0,
        )
        (_, first), (_, second), *_ = pipeline.chain.candidates(request)
        _, open_key = await _key(gw)
        _, narrow_key = await _key(gw, allowed_models=[second])
        bought = await pipeline.complete(request, tenant="acme", key_id=open_key)
        assert bought.completion.model == first and not bought.cached
        again = await pipeline.complete(request, tenant="acme", key_id=open_key)
        assert again.cached  # the answer is in the cache
        narrow = await pipeline.complete(request, tenant="acme", key_id=narrow_key)
        assert not narrow.cached and narrow.completion.model == second
    finally:
        await pipeline.chain.aclose()


async def test_embeddings_respect_the_keys_allowlist_and_quota(gw: httpx.AsyncClient) -> None:
    """``/v1/embeddings`` is governed like chat: a model outside the key's list is 403
    naming it, in OpenAI's envelope; the key's own rpm is charged."""
    narrow, _ = await _key(gw, allowed_models=["gpt-4.1-mini"])
    r = await gw.post(
        "/v1/embeddings",
        json={"model": "text-embedding-3-small", "input": "hi"},
        headers=bearer(narrow),
    )
    assert r.status_code == 403, r.text
    assert "text-embedding-3-small" in r.json()["error"]["message"]
    limited, _ = await _key(gw, quotas={"rpm": 1})
    codes = []
    for text in ("first", "second"):
        r = await gw.post(
            "/v1/embeddings",
            json={"model": "text-embedding-3-small", "input": text},
            headers=bearer(limited),
        )
        codes.append(r.status_code)
    assert codes == [200, 429], codes
