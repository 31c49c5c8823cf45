"""The reconciler: a task whose message is gone is requeued (once, however many
reconcilers race), one whose message is alive is left alone, finished ones leave the
index, and a task lost too often fails visibly. Real Redis, a real Dramatiq broker."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from dramatiq import Message

from agentqueue.core.base.priority import Priority
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.queues.broker import MARKER_KEY, TaskBroker, task_message
from agentqueue.core.tasks.events import EventType, TaskEvents
from agentqueue.core.tasks.model import TaskError, TaskRecord, TaskSpec, TaskState
from agentqueue.core.tasks.reconciler import LOCK_KEY, Reconciler
from agentqueue.core.tasks.store import INFLIGHT_KEY, REQUEUED_KEY, TaskStore
from agentqueue.core.tasks.submission import submit

FAR = 1e12  # a "now" after every check time


def _record(priority: Priority = Priority.STANDARD) -> TaskRecord:
    spec = TaskSpec(
        priority=priority,
        input=CompletionRequest(messages=[ChatMessage(role="user", content="hi")]),
    )
    return TaskRecord(tenant="t1", spec=spec)


def _reconciler(store: TaskStore, broker: TaskBroker, **kwargs: object) -> Reconciler:
    return Reconciler(store, broker=broker, interval=5.0, **kwargs)  # type: ignore[arg-type]


async def _lose_message(aredis: aioredis.Redis, task_id: str) -> None:
    """What an ack does to a message (or a Redis restart that lost it): gone."""
    queue, _, message_id = (await aredis.hget(MARKER_KEY, task_id)).decode().partition("|")
    await aredis.hdel(f"dramatiq:{queue}.msgs", message_id)
    await aredis.lrem(f"dramatiq:{queue}", 0, message_id)


async def _messages(aredis: aioredis.Redis, queue: str = "standard") -> list[Message[None]]:
    ids = await aredis.lrange(f"dramatiq:{queue}", 0, -1)
    raws = [await aredis.hget(f"dramatiq:{queue}.msgs", i) for i in ids]
    return [Message.decode(r) for r in raws if r is not None]


async def test_a_queued_task_whose_message_was_deleted_is_requeued(
    store: TaskStore, broker: TaskBroker, aredis: aioredis.Redis
) -> None:
    record, _ = await submit(store, broker, _record(Priority.HIGH))
    await _lose_message(aredis, record.id)
    report = await _reconciler(store, broker).run_once(now=FAR)
    assert report.of("requeued") == [record.id]
    [message] = await _messages(aredis, "high")
    assert message.args == (record.id,) and message.actor_name == "run_task"
    assert (await aredis.hget(MARKER_KEY, record.id)).decode() == (
        f"high|{message.options['redis_message_id']}"
    )
    stored = await store.get(record.id)
    assert stored.state is TaskState.QUEUED
    assert stored.last_error is not None and stored.last_error.type == "Lost"
    assert await aredis.zscore(INFLIGHT_KEY, record.id) == FAR + 5.0
    types = [e.type for e in await TaskEvents(aredis).read(record.id)]
    assert types == [EventType.QUEUED, EventType.RETRY]


async def test_a_running_task_whose_message_was_acked_away_is_requeued(
    store: TaskStore, broker: TaskBroker, aredis: aioredis.Redis
) -> None:
    record, _ = await submit(store, broker, _record())
    consumer = broker.consume("standard", prefetch=1, timeout=100)
    proxy = next(consumer)
    assert proxy is not None
    await store.start(record.id)
    consumer.ack(proxy)  # the worker's store.fail raised, its retry was not enqueued
    consumer.close()
    assert await _messages(aredis) == []
    report = await _reconciler(store, broker).run_once(now=FAR)
    assert report.of("requeued") == [record.id]
    assert [m.args for m in await _messages(aredis)] == [(record.id,)]
    assert (await store.get(record.id)).state is TaskState.RUNNING  # until a worker runs it


async def test_a_task_whose_message_is_alive_is_left_alone(
    store: TaskStore, broker: TaskBroker, aredis: aioredis.Redis
) -> None:
    queued, _ = await submit(store, broker, _record())
    held, _ = await submit(store, broker, _record())
    consumer = broker.consume("standard", prefetch=2, timeout=100)
    assert next(consumer) is not None  # held by a worker: fetched, not acked
    await store.start(held.id)
    delayed, _ = await submit(store, broker, _record())
    await _lose_message(aredis, delayed.id)
    broker.enqueue(task_message(delayed.id, Priority.STANDARD), delay=60_000)  # a retry
    assert (await aredis.hget(MARKER_KEY, delayed.id)).decode().startswith("standard.DQ|")
    report = await _reconciler(store, broker).run_once(now=FAR)
    assert sorted(report.of("alive")) == sorted([queued.id, held.id, delayed.id])
    assert await aredis.hlen("dramatiq:standard.msgs") == 2
    assert await aredis.zscore(INFLIGHT_KEY, queued.id) == FAR + 5.0
    consumer.close()


async def test_only_due_tasks_are_looked_at(
    store: TaskStore, broker: TaskBroker, aredis: aioredis.Redis
) -> None:
    record, _ = await submit(store, broker, _record())
    await _lose_message(aredis, record.id)
    assert (await _reconciler(store, broker).run_once()).outcomes == {}  # not due yet
    assert await _messages(aredis) == []


async def test_finished_and_missing_tasks_leave_the_index(
    store: TaskStore, broker: TaskBroker, aredis: aioredis.Redis
) -> None:
    done, _ = await submit(store, broker, _record())
    gone, _ = await submit(store, broker, _record())
    # a terminal record still in the index: its transition's cleanup was lost
    await store.fail(done.id, TaskError(type="X", message="no"))
    await aredis.zadd(INFLIGHT_KEY, {done.id: 1.0})
    await aredis.delete(f"aq:task:{gone.id}")
    report = await _reconciler(store, broker).run_once(now=FAR)
    assert report.of("terminal") == [done.id] and report.of("missing") == [gone.id]
    assert await aredis.zcard(INFLIGHT_KEY) == 0 and await aredis.hlen(MARKER_KEY) == 0


async def test_a_task_lost_more_than_n_times_fails_visibly(
    store: TaskStore, broker: TaskBroker, aredis: aioredis.Redis
) -> None:
    record, _ = await submit(store, broker, _record())
    reconciler = _reconciler(store, broker, max_requeues=2)
    for i in range(2):
        await _lose_message(aredis, record.id)
        assert (await reconciler.run_once(now=FAR + 10 * i)).of("requeued") == [record.id]
    assert await aredis.hget(REQUEUED_KEY, record.id) == b"2"
    await _lose_message(aredis, record.id)
    assert (await reconciler.run_once(now=FAR + 20)).of("exhausted") == [record.id]
    stored = await store.get(record.id)
    assert stored.state is TaskState.FAILED
    assert stored.error is not None and stored.error.type == "Lost"
    assert "3 times" in stored.error.message
    assert await aredis.zcard(INFLIGHT_KEY) == 0 and await aredis.hlen(REQUEUED_KEY) == 0
    types = [e.type for e in await TaskEvents(aredis).read(record.id)]
    assert types[-1] is EventType.FAILED and types.count(EventType.RETRY) == 2
    assert await _messages(aredis) == []


async def test_racing_reconcilers_never_double_enqueue(
    store: TaskStore, broker: TaskBroker, aredis: aioredis.Redis
) -> None:
    ids = []
    for _ in range(20):
        record, _ = await submit(store, broker, _record())
        await _lose_message(aredis, record.id)
        ids.append(record.id)
    racers = [_reconciler(store, broker) for _ in range(4)]
    # past the lock, as if each pass outlived it: the per-task script alone decides
    reports = await asyncio.gather(*(r._pass(FAR) for r in racers))
    requeued = [i for report in reports for i in report.of("requeued")]
    assert sorted(requeued) == sorted(ids)
    messages = await _messages(aredis)
    assert sorted(m.args[0] for m in messages) == sorted(ids)
    # and with the lock, one pass runs at a time
    await aredis.delete(LOCK_KEY)
    ran = await asyncio.gather(*(r.run_once(now=FAR) for r in racers))
    assert sum(report.ran for report in ran) >= 1
    assert len(await _messages(aredis)) == 20


async def test_the_lock_keeps_a_second_pass_out(
    store: TaskStore, broker: TaskBroker, aredis: aioredis.Redis
) -> None:
    await aredis.set(LOCK_KEY, "someone-else", px=10_000)
    assert not (await _reconciler(store, broker).run_once(now=FAR)).ran
