"""Queue depth as the operator reads it, from a real Dramatiq broker on a real Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis
from dramatiq.brokers.redis import RedisBroker

from agentqueue.core.base.priority import Priority
from agentqueue.core.queues.broker import make_broker, task_message
from agentqueue.core.queues.depth import QueueDepth, read_depth


@pytest.fixture
def broker(redis_url: str) -> Iterator[RedisBroker]:
    b = make_broker(redis_url)
    yield b
    b.close()


async def test_ready_in_flight_delayed_and_dead(
    broker: RedisBroker, aredis: aioredis.Redis
) -> None:
    for i in range(5):
        broker.enqueue(task_message(f"t{i}", Priority.STANDARD))
    broker.enqueue(task_message("later", Priority.STANDARD), delay=60_000)
    broker.enqueue(task_message("other", Priority.HIGH))
    assert await read_depth(aredis, "standard") == QueueDepth(5, 0, 1, 0)

    consumer = broker.consume("standard", prefetch=2, timeout=100)
    first = next(consumer)
    second = next(consumer)
    assert first is not None and second is not None
    depth = await read_depth(aredis, "standard")
    assert (depth.ready, depth.in_flight) == (3, 2)  # fetched, not acked: still work
    assert depth.active == 5 and depth.waiting

    consumer.ack(first)
    consumer.nack(second)  # dead-lettered
    assert await read_depth(aredis, "standard") == QueueDepth(3, 0, 1, 1)
    assert await read_depth(aredis, "high") == QueueDepth(1, 0, 0, 0)
    consumer.close()


async def test_an_unknown_queue_is_empty(aredis: aioredis.Redis) -> None:
    depth = await read_depth(aredis, "batch")
    assert depth == QueueDepth(0, 0, 0, 0) and not depth.waiting
