"""``submit``: the record, its ``queued`` event before the message, the message on the
task's priority queue; an idempotent replay sends nothing; a queue that cannot be reached
fails the task and raises :class:`QueueUnavailable`. Real Redis, a real Dramatiq broker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
import redis.asyncio as aioredis
from dramatiq.brokers.redis import RedisBroker

from agentqueue.core.base.errors import IdempotencyConflict, QueueUnavailable
from agentqueue.core.base.ports import free_port
from agentqueue.core.base.priority import Priority
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.queues.broker import RUN_TASK_ACTOR, make_broker
from agentqueue.core.tasks.events import EventType, TaskEvents
from agentqueue.core.tasks.model import TaskRecord, TaskSpec, TaskState
from agentqueue.core.tasks.store import TaskStore
from agentqueue.core.tasks.submission import submit


def _record(priority: Priority = Priority.STANDARD, tenant: str = "t1") -> TaskRecord:
    spec = TaskSpec(
        kind="completion",
        priority=priority,
        input=CompletionRequest(messages=[ChatMessage(role="user", content="Say hi")]),
    )
    return TaskRecord(tenant=tenant, spec=spec)


def _queued(redis_url: str, queue: str) -> list[bytes]:
    client = redis.Redis.from_url(redis_url)
    try:
        return list(client.hvals(f"dramatiq:{queue}.msgs"))
    finally:
        client.close()


@pytest.fixture
def store(aredis: aioredis.Redis) -> TaskStore:
    return TaskStore(aredis, ttl=600)


@pytest.fixture
def broker(redis_url: str) -> Iterator[RedisBroker]:
    broker = make_broker(redis_url)
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture
def dead_broker() -> Iterator[RedisBroker]:
    """A broker whose Redis is a closed port: every enqueue fails at once."""
    broker = make_broker(f"redis://127.0.0.1:{free_port()}/0")
    try:
        yield broker
    finally:
        broker.close()


@pytest.mark.parametrize("priority", list(Priority))
async def test_a_task_is_stored_announced_and_queued_on_its_priority(
    store: TaskStore, broker: RedisBroker, redis_url: str, priority: Priority
) -> None:
    record, created = await submit(store, broker, _record(priority))
    assert created
    stored = await store.get(record.id, tenant="t1")
    assert stored.state is TaskState.QUEUED and stored.spec.priority is priority
    events = await TaskEvents(store.redis).read(record.id)
    assert [e.type for e in events] == [EventType.QUEUED]
    assert events[0].data["priority"] == priority.value
    assert events[0].data["kind"] == "completion"
    for queue in Priority:
        messages = _queued(redis_url, queue.value)
        assert len(messages) == (1 if queue is priority else 0)
    [message] = _queued(redis_url, priority.value)
    assert record.id.encode() in message and RUN_TASK_ACTOR.encode() in message


async def test_an_idempotent_replay_returns_the_first_task_and_sends_nothing(
    store: TaskStore, broker: RedisBroker, redis_url: str
) -> None:
    first, created = await submit(store, broker, _record(), idempotency_key="k", body_hash="h")
    again, created_again = await submit(
        store, broker, _record(), idempotency_key="k", body_hash="h"
    )
    assert created and not created_again and again.id == first.id
    assert len(_queued(redis_url, "standard")) == 1
    assert len(await TaskEvents(store.redis).read(first.id)) == 1
    with pytest.raises(IdempotencyConflict):
        await submit(store, broker, _record(), idempotency_key="k", body_hash="other")
    assert len(_queued(redis_url, "standard")) == 1


async def test_an_unreachable_queue_fails_the_task_and_raises(
    store: TaskStore, dead_broker: RedisBroker, redis_url: str
) -> None:
    record = _record()
    with pytest.raises(QueueUnavailable) as raised:
        await submit(store, dead_broker, record)
    assert raised.value.task_id == record.id and raised.value.retryable
    assert record.id in str(raised.value) and "queue is unavailable" in str(raised.value)
    stored = await store.get(record.id)
    assert stored.state is TaskState.FAILED and stored.error is not None
    assert stored.error.type == "EnqueueFailed"
    assert stored.error.message.startswith("the task could not be queued:")
    # the queued event went out before the send was tried; the record says it failed
    events = await TaskEvents(store.redis).read(record.id)
    assert [e.type for e in events] == [EventType.QUEUED]
    assert _queued(redis_url, "standard") == []
