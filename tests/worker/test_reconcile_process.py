"""A Redis restart under a running task: SIGKILLed mid-task, back 3 s later with what its
AOF (``everysec``) had written. The task ends succeeded with its call and its tenant's
usage recorded, run once. A real worker process, the gateway in-process, the simulator.

And the gateway's own reconciler: a queue with no worker at all still gets a lost
message back.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import redis
from pydantic import SecretStr

from agentqueue.gateway.settings import GatewaySettings
from tests.core.base.redis_procs import RedisProc
from tests.gateway_app import gateway_client

KEY = "reconcile-test-key-0123456789"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisProc]:
    proc = RedisProc(tmp_path / "redis", "--appendonly", "yes", "--appendfsync", "everysec")
    yield proc
    proc.kill()


@pytest.fixture
def worker(server: RedisProc, simulator, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log_path = tmp_path / "worker.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentqueue.worker"],
        env={
            **os.environ,
            "AGENTQUEUE_REDIS_URL": server.url,
            "AGENTQUEUE_SIMULATOR_URL": simulator.url,
            "AGENTQUEUE_QUEUE": "standard",
            "AGENTQUEUE_THREADS": "2",
            "AGENTQUEUE_RECONCILE_INTERVAL": "1",
        },
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    yield proc
    proc.kill()
    proc.wait()
    print(f"--- worker.log\n{log_path.read_text()[-6000:]}")


@pytest.fixture
async def api(server: RedisProc) -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(
        redis_url=SecretStr(server.url), api_keys=SecretStr(f"t:{KEY}"), reconcile_interval=1
    )
    async with gateway_client(settings, KEY) as client:
        yield client


async def _wait(api: httpx.AsyncClient, task_id: str, states: set[str], timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        view = (await api.get(f"/v1/tasks/{task_id}")).json()
        if view["status"] in states:
            return view
        assert time.monotonic() < deadline, f"task still {view['status']}: {view}"
        await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_a_redis_restart_mid_task_loses_nothing(
    api: httpx.AsyncClient, worker: subprocess.Popen[bytes], server: RedisProc, simulator
) -> None:
    simulator.configure({"all": {"speed": 1.0, "ttft_ms": 2500}})  # the call outlives Redis
    r = await api.post("/v1/tasks", json={"messages": [{"role": "user", "content": "Say hi"}]})
    assert r.status_code == 202, r.text
    task_id = r.json()["id"]
    await _wait(api, task_id, {"running"}, timeout=60)
    await asyncio.sleep(1.2)  # the record says running on disk (fsync every second)
    server.kill()
    await asyncio.sleep(3.0)
    server.start()
    view = await _wait(api, task_id, {"succeeded", "failed"}, timeout=60)
    assert view["status"] == "succeeded", view
    assert len(view["calls"]) == 1 and view["usage"]["output_tokens"] > 0
    usage = (await api.get("/v1/usage", params={"days": 1})).json()
    [day] = usage["days"]
    assert sum(m["calls"] for m in day["models"]) == 1  # the tenant's ledger, once
    assert worker.poll() is None  # the worker rode through it


async def test_the_gateway_requeues_a_lost_message_with_no_worker_running(
    redis_url: str,
) -> None:
    settings = GatewaySettings(
        redis_url=SecretStr(redis_url), api_keys=SecretStr(f"t:{KEY}"), reconcile_interval=0.2
    )
    client = redis.Redis.from_url(redis_url)
    async with gateway_client(settings, KEY) as api:
        r = await api.post("/v1/tasks", json={"messages": [{"role": "user", "content": "hi"}]})
        task_id = r.json()["id"]
        queue, _, lost = client.hget("aq:msg", task_id).decode().partition("|")
        client.hdel(f"dramatiq:{queue}.msgs", lost)
        client.lrem(f"dramatiq:{queue}", 0, lost)
        client.zadd("aq:inflight", {task_id: 0})
        deadline = time.monotonic() + 10
        while client.llen(f"dramatiq:{queue}") == 0:
            assert time.monotonic() < deadline, "never requeued"
            await asyncio.sleep(0.05)
        # the message is queued first and the record told after (a write of its own)
        while (view := (await api.get(f"/v1/tasks/{task_id}")).json())["last_error"] is None:
            assert time.monotonic() < deadline, "requeued, never recorded as lost"
            await asyncio.sleep(0.05)
    [new] = client.lrange(f"dramatiq:{queue}", 0, -1)
    assert new.decode() != lost and client.hexists(f"dramatiq:{queue}.msgs", new)
    assert view["status"] == "queued" and view["last_error"]["type"] == "Lost"
    client.close()
