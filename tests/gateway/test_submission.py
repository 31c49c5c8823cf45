"""Both routes that queue a task — ``POST /v1/tasks`` and a session's step — submit through
``core.tasks.submission``: when Redis cannot take the task nothing of it exists, the answer
is the shared 503, a retry with the same Idempotency-Key is accepted once Redis is back,
and a step lets its session go. In-process, real Redis; the queue "goes down" by swapping
the app's task store for one whose Redis is a closed port."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from agentqueue.core.base.errors import TaskNotFound
from agentqueue.core.base.ports import free_port
from agentqueue.core.base.redisconn import async_redis
from agentqueue.core.tasks.store import TaskStore
from agentqueue.gateway.app import create_app
from agentqueue.gateway.settings import GatewaySettings
from tests.gateway.conftest import KEY_T1

HI = {"messages": [{"role": "user", "content": "Say hi"}]}


@pytest.fixture
async def app(gateway_settings: GatewaySettings) -> AsyncIterator[FastAPI]:
    app = create_app(gateway_settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://gateway",
        headers={"Authorization": f"Bearer {KEY_T1}"},
    ) as client:
        yield client


@asynccontextmanager
async def queue_down(app: FastAPI) -> AsyncIterator[None]:
    live = app.state.store
    dead = async_redis(f"redis://127.0.0.1:{free_port()}/0", retry_seconds=0.2)
    app.state.store = TaskStore(dead, ttl=live.ttl)
    try:
        yield
    finally:
        app.state.store = live
        await dead.aclose()


def _task_id(message: str) -> str:
    found = re.search(r"task '(task_[^']+)'", message)
    assert found, message
    return found.group(1)


async def _assert_queue_unavailable(r: httpx.Response, store: TaskStore) -> str:
    assert r.status_code == 503, r.text
    error = r.json()["error"]
    assert error["type"] == "unavailable" and "queue is unavailable" in error["message"]
    assert r.headers["retry-after"] == "1"
    task_id = _task_id(error["message"])
    with pytest.raises(TaskNotFound):  # nothing of a task that was not accepted exists
        await store.get(task_id)
    return task_id


async def test_a_task_the_queue_cannot_take_is_503_and_a_retry_with_its_key_is_accepted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    key = {"Idempotency-Key": "submit-once"}
    async with queue_down(app):
        r = await client.post("/v1/tasks", json=HI, headers=key)
    task_id = await _assert_queue_unavailable(r, app.state.store)
    assert (await client.get(f"/v1/tasks/{task_id}")).status_code == 404
    retried = await client.post("/v1/tasks", json=HI, headers=key)  # Redis is back
    assert retried.status_code == 202, retried.text
    assert retried.headers.get("idempotent-replayed") != "true"
    assert retried.json()["status"] == "queued"


async def test_a_step_the_queue_cannot_take_lets_its_session_go(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    sid = (
        await client.post("/v1/sessions", json={"turns": [{"role": "user", "content": "hi"}]})
    ).json()["id"]
    async with queue_down(app):
        r = await client.post(f"/v1/sessions/{sid}/steps")
    task_id = await _assert_queue_unavailable(r, app.state.store)
    view = (await client.get(f"/v1/sessions/{sid}")).json()
    assert view["pending_step"] is None and task_id in view["step_tasks"]
    turn = {"turns": [{"role": "user", "content": "still there?"}]}
    assert (await client.post(f"/v1/sessions/{sid}/turns", json=turn)).status_code == 200
    assert (await client.post(f"/v1/sessions/{sid}/steps")).status_code == 202
