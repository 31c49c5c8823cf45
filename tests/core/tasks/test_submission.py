"""``submit``: the record, its ``queued`` event before the message, the message on the
task's priority queue, all in one script (one round trip); an idempotent replay sends
nothing; a Redis that cannot be reached, or refuses the script, leaves nothing written and
raises :class:`QueueUnavailable`. Real Redis, a real Dramatiq broker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis
import redis.asyncio as aioredis
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker

from agentqueue.core.base.errors import IdempotencyConflict, QueueUnavailable
from agentqueue.core.base.ports import free_port
from agentqueue.core.base.priority import Priority
from agentqueue.core.base.redisconn import async_redis
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.queues.broker import MARKER_KEY, RUN_TASK_ACTOR
from agentqueue.core.tasks.events import EventType, TaskEvents
from agentqueue.core.tasks.model import TaskError, TaskRecord, TaskSpec, TaskState
from agentqueue.core.tasks.store import INFLIGHT_KEY, TaskStore, idem_key
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


async def test_a_key_stored_with_the_whole_body_hash_still_matches_its_retry(
    store: TaskStore, broker: RedisBroker, redis_url: str
) -> None:
    """Keys stored by a version that kept all 64 hex digits (a retry across an upgrade)
    match the 32 digits kept now, and only those."""
    whole = "ab" * 32
    first, created = await submit(store, broker, _record(), idempotency_key="k", body_hash=whole)
    again, created_again = await submit(
        store, broker, _record(), idempotency_key="k", body_hash=whole[:32]
    )
    assert created and not created_again and again.id == first.id
    with pytest.raises(IdempotencyConflict):
        await submit(store, broker, _record(), idempotency_key="k", body_hash="cd" * 16)
    assert len(_queued(redis_url, "standard")) == 1


async def test_acceptance_writes_record_key_index_message_and_marker(
    store: TaskStore, broker: RedisBroker, aredis: aioredis.Redis
) -> None:
    record, created = await submit(store, broker, _record(), idempotency_key="k", body_hash="h")
    assert created
    marker = (await aredis.hget(MARKER_KEY, record.id)).decode()
    queue, _, message_id = marker.partition("|")
    assert queue == "standard"
    assert await aredis.lrange("dramatiq:standard", 0, -1) == [message_id.encode()]
    message = Message.decode(await aredis.hget("dramatiq:standard.msgs", message_id))
    assert message.actor_name == RUN_TASK_ACTOR and message.args == (record.id,)
    assert message.options["redis_message_id"] == message_id
    assert await aredis.zscore(INFLIGHT_KEY, record.id) is not None
    assert await aredis.exists(idem_key("t1", "k"))


async def test_an_unreachable_redis_writes_nothing_and_raises(broker: RedisBroker) -> None:
    dead = async_redis(f"redis://127.0.0.1:{free_port()}/0", retry_seconds=0.2)
    record = _record()
    with pytest.raises(QueueUnavailable) as raised:
        await submit(TaskStore(dead, ttl=600), broker, record, idempotency_key="k")
    assert raised.value.task_id == record.id and raised.value.retryable
    await dead.aclose()


@pytest.fixture
async def limited(redis_url: str, aredis: aioredis.Redis) -> AsyncIterator[aioredis.Redis]:
    """A client whose user may touch ``aq:*`` keys only: Redis refuses the acceptance
    script (it names the queue's keys) before running it, but not the event log."""
    await aredis.execute_command("ACL", "SETUSER", "limited", "on", ">pw", "~aq:*", "+@all")
    host_port = redis_url.removeprefix("redis://").split("/")[0]
    client = aioredis.Redis.from_url(f"redis://limited:pw@{host_port}/0")
    try:
        yield client
    finally:
        await client.aclose()
        await aredis.execute_command("ACL", "DELUSER", "limited")


async def test_a_refused_script_writes_nothing_and_a_retry_creates_the_task(
    store: TaskStore, broker: RedisBroker, aredis: aioredis.Redis, limited: aioredis.Redis
) -> None:
    record = _record()
    with pytest.raises(QueueUnavailable):
        await submit(TaskStore(limited, ttl=600), broker, record, idempotency_key="k")
    assert not await aredis.exists(
        f"aq:task:{record.id}", f"aq:task:{record.id}:events", idem_key("t1", "k")
    )
    assert await aredis.zcard(INFLIGHT_KEY) == 0 and await aredis.hlen(MARKER_KEY) == 0
    assert await aredis.llen("dramatiq:standard") == 0
    # the client retries with the same key: a new task, accepted for real
    again, created = await submit(store, broker, _record(), idempotency_key="k")
    assert created and again.id != record.id
    assert await aredis.llen("dramatiq:standard") == 1
    assert (await store.get(again.id)).state is TaskState.QUEUED


async def test_an_acceptance_run_twice_is_accepted_once(
    store: TaskStore, broker: RedisBroker, aredis: aioredis.Redis
) -> None:
    """What the Redis client does when a reply is lost: the same script, once more."""
    record = _record()
    assert (await submit(store, broker, record))[1]
    assert (await submit(store, broker, record))[1]
    keyed = _record()
    assert (await submit(store, broker, keyed, idempotency_key="k", body_hash="h"))[1]
    assert (await submit(store, broker, keyed, idempotency_key="k", body_hash="h"))[1]
    assert await aredis.llen("dramatiq:standard") == 2
    assert await aredis.hlen("dramatiq:standard.msgs") == 2


async def test_a_replay_answers_the_task_as_it_is_and_queues_nothing(
    store: TaskStore, broker: RedisBroker, aredis: aioredis.Redis
) -> None:
    first, _ = await submit(store, broker, _record(), idempotency_key="k", body_hash="h")
    await store.start(first.id)
    await store.fail(first.id, TaskError(type="X", message="no"))
    retry = _record()
    again, created = await submit(store, broker, retry, idempotency_key="k", body_hash="h")
    assert not created and again.id == first.id and again.state is TaskState.FAILED
    assert await aredis.llen("dramatiq:standard") == 1
    assert not await aredis.exists(f"aq:task:{retry.id}", f"aq:task:{retry.id}:events")


async def test_the_queued_event_is_written_with_the_message_and_only_once(
    store: TaskStore, broker: RedisBroker, aredis: aioredis.Redis
) -> None:
    """One script writes the event and the message: the log exists, with the record's
    TTL, exactly when the message does; a rerun (lost reply) or a replay adds no event,
    a conflict leaves no log."""
    record = _record()
    assert (await submit(store, broker, record, idempotency_key="k", body_hash="h"))[1]
    log_key = f"aq:task:{record.id}:events"
    assert 0 < await aredis.ttl(log_key) <= 600
    assert (await submit(store, broker, record, idempotency_key="k", body_hash="h"))[1]
    other = _record()
    assert not (await submit(store, broker, other, idempotency_key="k", body_hash="h"))[1]
    with pytest.raises(IdempotencyConflict):
        await submit(store, broker, _record(), idempotency_key="k", body_hash="x")
    assert [e.type for e in await TaskEvents(aredis).read(record.id)] == [EventType.QUEUED]
    assert not await aredis.exists(f"aq:task:{other.id}:events")
    assert await aredis.llen("dramatiq:standard") == 1


async def test_a_redis_that_lost_its_scripts_still_accepts(
    store: TaskStore, broker: RedisBroker, aredis: aioredis.Redis
) -> None:
    """The script goes by its SHA; after a restart (or SCRIPT FLUSH) it is sent whole."""
    await aredis.script_flush()
    _, created = await submit(store, broker, _record())
    assert created and await aredis.llen("dramatiq:standard") == 1
    assert (await submit(store, broker, _record()))[1]
