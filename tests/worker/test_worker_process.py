"""Real worker processes: delivery through Redis, retries, SIGKILL and SIGTERM.

The gateway runs in-process (ASGI); workers are ``python -m agentqueue.worker``
subprocesses, exactly as deployed; the simulator is the provider.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis
from pydantic import SecretStr

from agentqueue.gateway.settings import GatewaySettings
from tests.gateway_app import gateway_client

pytestmark = pytest.mark.slow

KEY = "worker-test-key-0123456789"
StartWorker = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def start_worker(redis_url: str, simulator, tmp_path: Path) -> Iterator[StartWorker]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(queue: str = "standard", **env: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"worker-{len(procs)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentqueue.worker"],
            env={
                **os.environ,
                "AGENTQUEUE_REDIS_URL": redis_url,
                "AGENTQUEUE_SIMULATOR_URL": simulator.url,
                "AGENTQUEUE_QUEUE": queue,
                "AGENTQUEUE_THREADS": "4",
                "AGENTQUEUE_RETRY_BACKOFF": "0.2",
                **env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for log in sorted(tmp_path.glob("worker-*.log")):  # shown only when a test fails
        print(f"--- {log.name}\n{log.read_text()[-4000:]}")


@pytest.fixture
async def api(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(redis_url=SecretStr(redis_url), api_keys=SecretStr(f"t:{KEY}"))
    async with gateway_client(settings, KEY) as client:
        yield client


async def _submit(api: httpx.AsyncClient, priority: str = "standard", **extra: object) -> str:
    r = await api.post(
        "/v1/tasks",
        json={"messages": [{"role": "user", "content": "Say hi"}], "priority": priority, **extra},
    )
    assert r.status_code == 202, r.text
    task_id: str = r.json()["id"]
    return task_id


async def _wait(
    api: httpx.AsyncClient, task_id: str, states: set[str], timeout: float = 45.0
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        view: dict[str, object] = (await api.get(f"/v1/tasks/{task_id}")).json()
        if view["status"] in states:
            return view
        if time.monotonic() > deadline:
            raise AssertionError(f"task still {view['status']} after {timeout}s: {view}")
        await _sleep(0.05)


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


async def test_http_task_completes_through_a_worker(api, start_worker) -> None:
    start_worker("standard")
    task_id = await _submit(api)
    view = await _wait(api, task_id, {"succeeded", "failed"})
    assert view["status"] == "succeeded", view
    assert view["result"]["provider"] == "anthropic" and view["result"]["text"]
    assert view["usage"]["output_tokens"] > 0 and view["cost_usd"] > 0


async def test_each_priority_is_served_only_by_its_own_workers(api, start_worker) -> None:
    start_worker("high")
    high = await _submit(api, "high")
    batch = await _submit(api, "batch")
    assert (await _wait(api, high, {"succeeded"}))["status"] == "succeeded"
    await _sleep(0.5)
    assert (await api.get(f"/v1/tasks/{batch}")).json()["status"] == "queued"
    start_worker("batch")
    assert (await _wait(api, batch, {"succeeded"}))["status"] == "succeeded"


async def test_rate_limited_task_waits_for_retry_after_then_succeeds(
    api, start_worker, simulator
) -> None:
    # One request per 2-second "minute" on every provider: the 4th task must wait.
    simulator.configure({"all": {"rpm": 1, "minute_seconds": 2.0}})
    start_worker("standard")
    ids = [await _submit(api) for _ in range(4)]
    views = [await _wait(api, i, {"succeeded", "failed"}, timeout=30) for i in ids]
    assert all(v["status"] == "succeeded" for v in views), views
    retried = [v for v in views if v["attempts"] > 1]
    assert retried, "with 3 providers at 1 request per minute, one task must have waited"
    for v in retried:
        assert v["last_error"]["type"] == "NoProviderAvailable"
        # It ran again no sooner than the providers' retry-after allowed.
        assert v["finished_at"] - v["created_at"] >= 1.0


async def test_terminal_failure_is_recorded_and_dead_lettered(
    api, start_worker, simulator, redis_url: str
) -> None:
    simulator.configure({"all": {"outage": True}})
    start_worker("standard", AGENTQUEUE_MAX_RETRIES="1")
    task_id = await _submit(api)
    view = await _wait(api, task_id, {"failed"}, timeout=30)
    assert view["error"]["type"] == "NoProviderAvailable" and view["attempts"] == 2
    client = redis.Redis.from_url(redis_url)
    assert client.hlen("dramatiq:standard.XQ.msgs") == 1
    client.close()


async def test_sigkilled_worker_task_is_redelivered_and_completes_once(
    api, start_worker, simulator
) -> None:
    # Slow replies (about 3 s each) so the worker dies mid-call.
    simulator.configure({"all": {"speed": 1.0, "ttft_ms": 3000}})
    fast_redelivery = {
        "AGENTQUEUE_HEARTBEAT_TIMEOUT_MS": "1500",
        "AGENTQUEUE_MAINTENANCE_CHANCE": "1000000",
    }
    first = start_worker("standard", **fast_redelivery)
    task_id = await _submit(api)
    await _wait(api, task_id, {"running"})
    first.send_signal(signal.SIGKILL)
    first.wait()
    simulator.configure({"all": {"ttft_ms": 0, "speed": 0.0}})
    start_worker("standard", **fast_redelivery)
    view = await _wait(api, task_id, {"succeeded", "failed"}, timeout=30)
    assert view["status"] == "succeeded"
    assert view["attempts"] == 2  # the killed run and the redelivered one
    assert len(view["calls"]) == 1  # one paid call recorded, one result


async def test_sigterm_drains_running_tasks_and_loses_nothing(api, start_worker, simulator) -> None:
    simulator.configure({"all": {"speed": 1.0, "ttft_ms": 1000}})
    worker = start_worker("standard", AGENTQUEUE_THREADS="2")
    ids = [await _submit(api) for _ in range(6)]
    await _wait(api, ids[0], {"running"})
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    views = [(await api.get(f"/v1/tasks/{i}")).json() for i in ids]
    assert all(v["status"] in ("succeeded", "queued") for v in views), views
    assert any(v["status"] == "succeeded" for v in views)  # the running ones finished
    start_worker("standard")
    for task_id in ids:
        assert (await _wait(api, task_id, {"succeeded", "failed"}, 30))["status"] == "succeeded"


async def test_a_task_whose_message_was_lost_is_requeued_and_completes_once(
    api, start_worker, redis_url: str
) -> None:
    task_id = await _submit(api)
    client = redis.Redis.from_url(redis_url)
    queue, _, message_id = client.hget("aq:msg", task_id).decode().partition("|")
    client.hdel(f"dramatiq:{queue}.msgs", message_id)  # gone, as a Redis restart may lose it
    client.lrem(f"dramatiq:{queue}", 0, message_id)
    client.zadd("aq:inflight", {task_id: 0})  # due now rather than in 5 s
    start_worker("standard", AGENTQUEUE_RECONCILE_INTERVAL="0.5")
    view = await _wait(api, task_id, {"succeeded", "failed"}, timeout=30)
    assert view["status"] == "succeeded", view
    assert view["attempts"] == 1 and len(view["calls"]) == 1  # run once, paid once
    assert view["last_error"]["type"] == "Lost"
    await _sleep(1.5)  # a few more passes: nothing else is queued for it
    assert client.zscore("aq:inflight", task_id) is None
    assert client.hlen("dramatiq:standard.msgs") == 0 and client.llen("dramatiq:standard") == 0
    client.close()
