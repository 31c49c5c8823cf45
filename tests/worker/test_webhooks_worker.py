"""The whole webhook path: gateway in-process, a real worker process, a real receiver.

The receiver fails twice, then accepts: the worker retries with backoff, records every
attempt on the task, and each delivery verifies with the shared secret.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from agentqueue.core.tasks.webhooks import generate_secret, verify_webhook
from agentqueue.gateway.settings import GatewaySettings
from tests.core.tasks.webhook_receiver import Receiver, running_receiver
from tests.gateway_app import gateway_client

pytestmark = pytest.mark.slow

KEY = "webhook-worker-key-0123456789"
SECRET = generate_secret()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


@pytest.fixture
def start_worker(redis_url: str, simulator, tmp_path: Path) -> Iterator[Callable[[], None]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        log = (tmp_path / "worker.log").open("wb")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "agentqueue.worker"],
                env={
                    **os.environ,
                    "AGENTQUEUE_REDIS_URL": redis_url,
                    "AGENTQUEUE_SIMULATOR_URL": simulator.url,
                    "AGENTQUEUE_QUEUE": "standard",
                    "AGENTQUEUE_THREADS": "2",
                    "AGENTQUEUE_WEBHOOK_SECRET": SECRET,
                    "AGENTQUEUE_WEBHOOK_ALLOW_PRIVATE": "true",
                    "AGENTQUEUE_WEBHOOK_ALLOW_HTTP": "true",
                    "AGENTQUEUE_WEBHOOK_BACKOFF": "0.3",
                    "AGENTQUEUE_WEBHOOK_BACKOFF_MAX": "1",
                    "AGENTQUEUE_WEBHOOK_TIMEOUT": "2",
                },
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()
    if procs:
        print((tmp_path / "worker.log").read_text()[-4000:])  # shown only when a test fails


@pytest.fixture
async def api(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(
        redis_url=SecretStr(redis_url),
        api_keys=SecretStr(f"t:{KEY}"),
        webhook_allow_private=True,
        webhook_allow_http=True,
    )
    async with gateway_client(settings, KEY) as client:
        yield client


async def _wait_webhook(api: httpx.AsyncClient, task_id: str, timeout: float = 30) -> Any:
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        view = (await api.get(f"/v1/tasks/{task_id}")).json()
        if view["webhook"]["state"] != "pending":
            return view
        assert time.monotonic() < deadline, f"webhook still pending: {view['webhook']}"
        await asyncio.sleep(0.1)


async def test_a_failing_receiver_gets_retries_until_it_accepts(
    api: httpx.AsyncClient, start_worker: Callable[[], None], receiver: Receiver
) -> None:
    start_worker()
    receiver.answer(500, 503)
    r = await api.post(
        "/v1/tasks",
        json={"messages": [{"role": "user", "content": "Say hi"}], "webhook_url": receiver.url},
    )
    assert r.status_code == 202, r.text
    task_id = r.json()["id"]
    view = await _wait_webhook(api, task_id)
    assert view["status"] == "succeeded" and view["webhook"]["state"] == "delivered"
    attempts = view["webhook"]["attempts"]
    assert [a["status_code"] for a in attempts] == [500, 503, 200]
    assert all(a["duration_s"] < 2 for a in attempts)
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(attempts)]
    assert gaps[0] >= 0.14 and gaps[1] >= 0.29  # backoff 0.3 s doubling, jittered ≥ half

    got = receiver.wait_for(3)
    assert {g.headers["webhook-id"] for g in got} == {f"{task_id}_succeeded"}
    for delivery in got:
        body = verify_webhook(SECRET, delivery.headers, delivery.body)
        assert body["id"] == task_id and body["status"] == "succeeded"
        assert body["result"]["text"] == view["result"]["text"]
    forged = dict(got[-1].headers, **{"webhook-signature": "v1,AAAA"})
    with pytest.raises(Exception, match="no matching signature"):
        verify_webhook(SECRET, forged, got[-1].body)


async def test_a_cancelled_queued_task_is_reported_and_never_run(
    api: httpx.AsyncClient, start_worker: Callable[[], None], receiver: Receiver, simulator
) -> None:
    r = await api.post(
        "/v1/tasks",
        json={"messages": [{"role": "user", "content": "Say hi"}], "webhook_url": receiver.url},
    )
    task_id = r.json()["id"]
    assert (await api.delete(f"/v1/tasks/{task_id}")).status_code == 202
    start_worker()  # finds both messages: run_task (ignored) and deliver_webhook
    view = await _wait_webhook(api, task_id)
    assert view["status"] == "cancelled" and view["webhook"]["state"] == "delivered"
    assert view["attempts"] == 0 and view["calls"] == []
    assert sum(p["requests"] for p in simulator.stats()["providers"].values()) == 0
    [got] = receiver.wait_for(1)
    body = verify_webhook(SECRET, got.headers, got.body)
    assert body["status"] == "cancelled" and got.headers["webhook-id"] == f"{task_id}_cancelled"
