"""End to end: a task fails for good on a real worker process and is dead-lettered by
Dramatiq; an admin requeues it through the admin API, and the worker completes it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import redis
from pydantic import SecretStr

from agentqueue.gateway.settings import GatewaySettings
from tests.gateway_app import gateway_client
from tests.worker.test_worker_process import KEY, _submit, _wait, start_worker  # noqa: F401

pytestmark = pytest.mark.slow

ADMIN = {"Authorization": "Bearer worker-admin-key-0123456789"}


@pytest.fixture
async def api(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(
        redis_url=SecretStr(redis_url),
        api_keys=SecretStr(f"t:{KEY}"),
        admin_key=SecretStr("worker-admin-key-0123456789"),
    )
    async with gateway_client(settings, KEY) as client:
        yield client


async def test_a_requeued_dead_letter_completes_on_a_worker(
    api: httpx.AsyncClient,
    start_worker,  # noqa: F811
    simulator,
    redis_url: str,
) -> None:
    simulator.configure({"all": {"outage": True}})
    start_worker("standard", AGENTQUEUE_MAX_RETRIES="0")
    task_id = await _submit(api)
    await _wait(api, task_id, {"failed"}, timeout=30)
    client = redis.Redis.from_url(redis_url)
    for _ in range(100):  # the worker acks (dead-letters) right after recording the failure
        if client.hlen("dramatiq:standard.XQ.msgs"):
            break
        await _sleep(0.05)
    letters = (await api.get("/admin/v1/dead-letters", headers=ADMIN)).json()["dead_letters"]
    assert [d["task_id"] for d in letters] == [task_id]
    simulator.configure({"all": {"outage": False}})
    r = await api.post(f"/admin/v1/dead-letters/{letters[0]['message_id']}/requeue", headers=ADMIN)
    assert r.status_code == 202, r.text
    view = await _wait(api, task_id, {"succeeded"}, timeout=30)
    assert view["result"]["text"]
    assert client.hlen("dramatiq:standard.XQ.msgs") == 0
    client.close()


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
