"""The batch path in real worker processes: a worker SIGKILLed while its batch is in
flight at the provider, another worker finishes it, every task completes once.

Workers are ``python -m agentqueue.worker`` on the ``batch`` queue with
``AGENTQUEUE_BATCH_API=true``; tasks are submitted over HTTP with ``batch_api``; the
simulator's OpenAI Batch API ends each batch a few seconds after its creation.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
import redis

from agentqueue.core.batches import layout
from agentqueue.core.tasks.model import TaskRecord
from agentqueue.core.tasks.store import batch_owner_key, task_key
from tests.worker import test_worker_process as processes
from tests.worker.test_worker_process import StartWorker, _submit, _wait

# the worker-process fixtures, shared with that module
api = processes.api
start_worker = processes.start_worker

pytestmark = pytest.mark.slow

BATCH_ENV = {
    "AGENTQUEUE_BATCH_API": "true",
    "AGENTQUEUE_BATCH_PROVIDER": "openai",
    "AGENTQUEUE_BATCH_MAX_AGE": "0.5",
    "AGENTQUEUE_BATCH_POLL_INTERVAL": "0.5",
    "AGENTQUEUE_BATCH_POLL_MAX": "1",
    "AGENTQUEUE_BATCH_LOOP_INTERVAL": "0.2",
    "AGENTQUEUE_METRICS_PORT": "0",
}


def _submitted_batches(client: Any) -> list[dict[str, Any]]:
    out = []
    for batch_id in client.zrange(layout.OPEN_KEY, 0, -1):
        out.append(dict(client.hgetall(layout.batch_key(str(batch_id)))))
    return [b for b in out if b.get("state") == "submitted"]


async def test_a_worker_killed_mid_batch_another_finishes_it(
    api: httpx.AsyncClient, start_worker: StartWorker, redis_url: str, simulator: Any
) -> None:
    simulator.configure({"batches": {"delay_seconds": 4}})
    first = start_worker("batch", **BATCH_ENV)
    ids = [await _submit(api, "batch", batch_api=True) for _ in range(8)]
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    deadline = time.monotonic() + 30
    while not _submitted_batches(client):  # the batch is at the provider …
        assert time.monotonic() < deadline, "no batch submitted"
        await asyncio.sleep(0.1)
    [batch] = _submitted_batches(client)
    assert sorted(json.loads(batch["order"])) == sorted(ids)
    first.kill()  # … and its worker dies
    first.wait()
    start_worker("batch", **BATCH_ENV)
    for task_id in ids:
        view = await _wait(api, task_id, {"succeeded", "failed"}, timeout=60)
        assert view["status"] == "succeeded", view
        assert float(str(view["cost_usd"])) > 0
    for task_id in ids:  # one call each, from the batch: applied once
        record = TaskRecord.model_validate_json(client.get(task_key(task_id)) or "")
        assert [c.step for c in record.calls] == ["batch"]
        assert not client.exists(batch_owner_key(task_id))
    stats: dict[str, int] = simulator.stats()["batches"]["openai"]
    assert stats["created"] == 1 and stats["requests_succeeded"] == 8
