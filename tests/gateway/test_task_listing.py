"""``GET /v1/tasks``: the caller's tenant's tasks, newest first, by cursor, from the
index the acceptance script keeps — 10,000 tasks paged without a single ``SCAN``, and
never another tenant's task."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from agentqueue.core.base.priority import Priority
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.queues.broker import make_broker
from agentqueue.core.tasks.listing import MAX_SCANNED, created_ms, index_key
from agentqueue.core.tasks.model import TaskError, TaskRecord, TaskSpec
from agentqueue.core.tasks.store import TaskStore
from agentqueue.core.tasks.submission import submit
from agentqueue.gateway.settings import GatewaySettings
from tests.gateway.conftest import KEY_T1
from tests.gateway_app import gateway_client

SPEC = TaskSpec(input=CompletionRequest(messages=[ChatMessage(role="user", content="hi")]))


@pytest.fixture
async def api(gateway_settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(gateway_settings, KEY_T1) as c:
        yield c


async def fill(redis_url: str, store: TaskStore, tenant: str, n: int, **spec: Any) -> list[str]:
    """``n`` tasks of ``tenant``, accepted by the real acceptance script."""
    broker = make_broker(redis_url)
    ids: list[str] = []
    try:
        for start in range(0, n, 40):
            batch = [
                TaskRecord(tenant=tenant, spec=SPEC.model_copy(update=spec))
                for _ in range(min(40, n - start))
            ]
            await asyncio.gather(*(submit(store, broker, r) for r in batch))
            ids += [r.id for r in batch]
    finally:
        broker.close()
    return ids


async def scans(redis: aioredis.Redis) -> int:
    stats = await redis.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{c}", {}).get("calls", 0)) for c in ("scan", "keys"))


async def page_all(api: httpx.AsyncClient, query: str = "") -> tuple[list[dict[str, Any]], int]:
    tasks: list[dict[str, Any]] = []
    pages, cursor = 0, None
    while True:
        url = f"/v1/tasks?limit=200{query}" + (f"&cursor={cursor}" if cursor else "")
        r = await api.get(url)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["scanned"] <= MAX_SCANNED
        tasks += body["tasks"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return tasks, pages


async def test_10000_tasks_page_newest_first_without_scan_and_never_another_tenants(
    api: httpx.AsyncClient, aredis: aioredis.Redis, redis_url: str
) -> None:
    store = TaskStore(aredis, ttl=600)
    mine = await fill(redis_url, store, "t1", 10_000)
    theirs = set(await fill(redis_url, store, "t2", 500))
    before = await scans(aredis)
    tasks, pages = await page_all(api)
    assert await scans(aredis) == before  # no SCAN, no KEYS
    ids = [t["id"] for t in tasks]
    assert len(ids) == 10_000 and set(ids) == set(mine) and not theirs & set(ids)
    assert pages == 50
    created = [t["created_at"] for t in tasks]
    assert created == sorted(created, reverse=True)


async def test_filters_by_status_priority_kind_and_time(
    api: httpx.AsyncClient, aredis: aioredis.Redis, redis_url: str
) -> None:
    store = TaskStore(aredis, ttl=600)
    batch = await fill(redis_url, store, "t1", 30, priority=Priority.BATCH)
    await asyncio.sleep(0.01)
    middle = time.time()
    await asyncio.sleep(0.01)
    extract = await fill(redis_url, store, "t1", 5, kind="extract")
    for task_id in batch[:7]:
        await store.fail(task_id, TaskError(type="X", message="x"))
    failed, _ = await page_all(api, "&status=failed")
    assert {t["id"] for t in failed} == set(batch[:7])
    assert all(t["error_type"] == "X" for t in failed)
    by_priority, _ = await page_all(api, "&priority=batch")
    assert {t["id"] for t in by_priority} == set(batch)
    by_kind, _ = await page_all(api, "&kind=extract")
    assert {t["id"] for t in by_kind} == set(extract)
    since, _ = await page_all(api, f"&since={middle}")
    assert {t["id"] for t in since} == set(extract)
    until, _ = await page_all(api, f"&until={middle}")
    assert {t["id"] for t in until} == set(batch)
    small = (await api.get("/v1/tasks?limit=3&status=queued")).json()
    assert len(small["tasks"]) == 3 and small["next_cursor"]
    assert (await api.get("/v1/tasks?cursor=not-a-cursor")).status_code == 400
    assert (await api.get("/v1/tasks?status=nope")).status_code == 422


async def test_a_filtered_page_is_bounded_and_continues(
    api: httpx.AsyncClient, aredis: aioredis.Redis, redis_url: str
) -> None:
    store = TaskStore(aredis, ttl=600)
    rare = await fill(redis_url, store, "t1", 1, kind="extract")
    await fill(redis_url, store, "t1", MAX_SCANNED + 200)
    first = (await api.get("/v1/tasks?kind=extract&limit=10")).json()
    assert first["tasks"] == [] and first["scanned"] == MAX_SCANNED and first["next_cursor"]
    second = (await api.get(f"/v1/tasks?kind=extract&cursor={first['next_cursor']}")).json()
    assert [t["id"] for t in second["tasks"]] == rare and second["next_cursor"] is None


async def test_index_entries_past_the_ttl_are_trimmed_on_write(
    aredis: aioredis.Redis, redis_url: str
) -> None:
    store = TaskStore(aredis, ttl=600)
    old = int((time.time() - 601) * 1000)
    await aredis.zadd(index_key("t1"), {"task_old": old})
    await fill(redis_url, store, "t1", 1)
    assert await aredis.zscore(index_key("t1"), "task_old") is None
    assert 0 < await aredis.ttl(index_key("t1")) <= 600


async def test_the_admin_console_lists_every_tenant_without_scan_and_bounded(
    aredis: aioredis.Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tenants come from the set written with their index (by the acceptance script and
    by ``TaskStore.create``); their indexes are merged newest first, and a page looks at
    ``max_scanned`` entries in all, whatever the number of tenants and tasks."""
    from agentqueue.gateway.console import data

    store = TaskStore(aredis, ttl=600)
    ids: list[str] = []
    for tenant, n in (("t1", 300), ("t2", 250), ("t3", 30)):
        ids += await fill(redis_url, store, tenant, n)
    for _ in range(20):
        record, _ = await store.create(TaskRecord(tenant="t4", spec=SPEC))
        ids.append(record.id)
    assert sorted(await data.tenants_with_tasks(aredis)) == ["t1", "t2", "t3", "t4"]
    everything = data.TaskFilter()
    before = await scans(aredis)
    # fewer tasks than the default cap: all of them, newest first, no SCAN
    page = await data.list_tasks(aredis, None, everything, limit=5000)
    assert await scans(aredis) == before  # no SCAN, no KEYS
    assert len(page.tasks) == 600 < data.ADMIN_MAX_SCANNED
    found = await data.list_tasks(aredis, None, everything, limit=1000, max_scanned=250)
    assert await scans(aredis) == before  # no SCAN, no KEYS
    assert len(found.tasks) == 250 and found.next_cursor is None
    created = [t.created_at for t in found.tasks]
    assert created == sorted(created, reverse=True)
    newest = sorted([await store.get(i) for i in ids], key=lambda r: r.created_at, reverse=True)
    # the newest 250 (ties within a millisecond in either order)
    assert [created_ms(t) for t in found.tasks] == [created_ms(r) for r in newest[:250]]
    # a filter nothing matches: the page stops at the cap, empty
    none = await data.list_tasks(aredis, None, data.TaskFilter(kind="nope"), max_scanned=120)
    assert none.tasks == [] and await scans(aredis) == before
    # the default cap, wherever it is set
    monkeypatch.setattr(data, "ADMIN_MAX_SCANNED", 500)
    page = await data.list_tasks(aredis, None, everything, limit=5000)
    assert len(page.tasks) == 500 and await scans(aredis) == before
