"""Workers feed the autoscaler: a task's tokens and its message land in the queue's
per-minute counters (real runner, real SDKs against the simulator, real Redis)."""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from agentqueue.core.base.priority import Priority
from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.queues.usage import bucket_of, read_usage
from agentqueue.core.tasks.model import TaskRecord, TaskSpec
from agentqueue.core.tasks.store import TaskStore
from agentqueue.worker.runner import TaskRunner


async def test_a_finished_task_is_counted_with_its_tokens(
    aredis: aioredis.Redis, chain: FallbackChain
) -> None:
    store = TaskStore(aredis, ttl=600)
    spec = TaskSpec(
        kind="completion",
        priority=Priority.HIGH,
        input=CompletionRequest(messages=[ChatMessage(role="user", content="Say hi")]),
    )
    record, _ = await store.create(TaskRecord(tenant="t", spec=spec))
    started = bucket_of(time.time())
    await TaskRunner(store, chain).run(record.id, retries_done=0, retries_left=0)
    done = await store.get(record.id)
    assert done is not None

    buckets = list(range(started, bucket_of(time.time()) + 1))
    usage = await read_usage(aredis, "high", buckets)
    assert sum(u.tokens for u in usage) == done.usage.total_tokens > 0
    assert sum(u.messages for u in usage) == 1
    assert all(u.tokens == 0 for u in await read_usage(aredis, "standard", buckets))
