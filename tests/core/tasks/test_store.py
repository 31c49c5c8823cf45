import asyncio

import pytest
import redis.asyncio as aioredis

from agentqueue.core.base.errors import IdempotencyConflict, TaskNotFound
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest, Usage
from agentqueue.core.queues.broker import MARKER_KEY
from agentqueue.core.tasks.events import events_key
from agentqueue.core.tasks.model import (
    CallRecord,
    TaskError,
    TaskRecord,
    TaskResult,
    TaskSpec,
    TaskState,
)
from agentqueue.core.tasks.store import INFLIGHT_KEY, REQUEUED_KEY, TaskStore


def _record(tenant: str = "t1") -> TaskRecord:
    spec = TaskSpec(input=CompletionRequest(messages=[ChatMessage(role="user", content="hi")]))
    return TaskRecord(tenant=tenant, spec=spec)


async def test_create_then_get_round_trips(store: TaskStore) -> None:
    record, created = await store.create(_record())
    assert created
    assert (await store.get(record.id)).model_dump() == record.model_dump()


async def test_records_expire(store: TaskStore, aredis: aioredis.Redis) -> None:
    record, _ = await store.create(_record())
    ttl = await aredis.ttl(f"aq:task:{record.id}")
    assert 0 < ttl <= 600


async def test_other_tenant_sees_nothing(store: TaskStore) -> None:
    record, _ = await store.create(_record("t1"))
    with pytest.raises(TaskNotFound):
        await store.get(record.id, tenant="t2")
    with pytest.raises(TaskNotFound):
        await store.get("task_missing")


async def test_idempotency_key_returns_the_first_task(store: TaskStore) -> None:
    first, created = await store.create(_record(), idempotency_key="k", body_hash="h")
    again, created_again = await store.create(_record(), idempotency_key="k", body_hash="h")
    assert created and not created_again and again.id == first.id


async def test_idempotency_key_is_per_tenant(store: TaskStore) -> None:
    a, _ = await store.create(_record("t1"), idempotency_key="k", body_hash="h")
    b, created = await store.create(_record("t2"), idempotency_key="k", body_hash="h")
    assert created and a.id != b.id


async def test_idempotency_key_with_another_body_conflicts(store: TaskStore) -> None:
    await store.create(_record(), idempotency_key="k", body_hash="h1")
    with pytest.raises(IdempotencyConflict):
        await store.create(_record(), idempotency_key="k", body_hash="h2")


async def test_concurrent_idempotent_creates_make_one_task(store: TaskStore) -> None:
    results = await asyncio.gather(
        *(store.create(_record(), idempotency_key="same", body_hash="h") for _ in range(20))
    )
    assert len({r.id for r, _ in results}) == 1
    assert sum(created for _, created in results) == 1


async def test_start_counts_attempts_and_skips_finished_tasks(store: TaskStore) -> None:
    record, _ = await store.create(_record())
    started = await store.start(record.id)
    assert started is not None and started.state is TaskState.RUNNING and started.attempts == 1
    assert await store.succeed(record.id, TaskResult(text="x", provider="p", model="m"))
    assert await store.start(record.id) is None


async def test_a_task_completes_exactly_once_under_racing_runs(store: TaskStore) -> None:
    record, _ = await store.create(_record())
    await store.start(record.id)
    outcomes = await asyncio.gather(
        *(
            store.succeed(record.id, TaskResult(text=str(i), provider="p", model="m"))
            for i in range(10)
        ),
        store.fail(record.id, TaskError(type="X", message="late failure")),
    )
    assert sum(outcomes) == 1
    final = await store.get(record.id)
    assert final.state.terminal


async def test_racing_terminal_writes_leave_exactly_one_terminal_event(
    store: TaskStore,
) -> None:
    """The terminal event is written in the terminal transition's transaction: one
    winner, one event, carrying the winner's outcome."""
    record, _ = await store.create(_record())
    await store.start(record.id)
    await asyncio.gather(
        *(
            store.succeed(record.id, TaskResult(text=str(i), provider="p", model="m"))
            for i in range(5)
        ),
        store.fail(record.id, TaskError(type="X", message="late failure")),
        store.cancel(record.id),
    )
    final = await store.get(record.id)
    terminal = [e for e in await store.events.read(record.id) if e.type.terminal]
    assert [e.type.value for e in terminal] == [final.state.value]
    assert store.redis is not None and await store.redis.ttl(events_key(record.id)) > 0


async def test_requeued_keeps_the_error_and_calls_add_up(store: TaskStore) -> None:
    record, _ = await store.create(_record())
    await store.start(record.id)
    call = CallRecord(
        provider="p",
        model="m",
        usage=Usage(input_tokens=3, output_tokens=4),
        cost_usd="0.5",
        latency_s=0.1,
        attempts=[],
    )
    await store.add_call(record.id, call)
    await store.add_call(record.id, call.model_copy(update={"id": "another-call"}))
    await store.add_call(record.id, call)  # the same call again (a retried write): once
    assert await store.requeued(record.id, TaskError(type="RateLimited", message="slow down"))
    final = await store.get(record.id)
    assert final.state is TaskState.QUEUED and final.last_error is not None
    assert final.usage.total_tokens == 14 and float(final.cost_usd) == 1.0


async def test_a_terminal_transition_takes_the_task_out_of_flight(
    store: TaskStore, aredis: aioredis.Redis
) -> None:
    ids = []
    for _ in range(3):
        record, _ = await store.create(_record())
        await aredis.zadd(INFLIGHT_KEY, {record.id: 1.0})
        await aredis.hset(MARKER_KEY, record.id, "standard|m")
        await aredis.hset(REQUEUED_KEY, record.id, 1)
        ids.append(record.id)
    await store.start(ids[0])
    assert await store.succeed(ids[0], TaskResult(text="ok", provider="p", model="m"))
    assert await store.fail(ids[1], TaskError(type="X", message="no"))
    await store.cancel(ids[2])
    assert await aredis.zcard(INFLIGHT_KEY) == 0
    assert await aredis.hlen(MARKER_KEY) == 0 and await aredis.hlen(REQUEUED_KEY) == 0


async def test_a_terminal_write_replayed_by_its_own_run_is_recognised(store: TaskStore) -> None:
    """A reply lost in a Redis blink: the run's write went through, the client wrote again.
    The same attempt sees its own outcome (True); another attempt sees a duplicate."""
    record, _ = await store.create(_record())
    started = await store.start(record.id)
    assert started is not None
    result = TaskResult(text="ok", provider="p", model="m")
    assert await store.succeed(record.id, result, attempt=started.attempts)
    assert await store.succeed(record.id, result, attempt=started.attempts)
    assert not await store.succeed(record.id, result, attempt=started.attempts + 1)
    assert not await store.succeed(record.id, result)
    assert not await store.fail(record.id, TaskError(type="X", message="no"), attempt=1)
    other, _ = await store.create(_record())
    await store.start(other.id)
    assert await store.fail(other.id, TaskError(type="X", message="no"), attempt=1)
    assert await store.fail(other.id, TaskError(type="X", message="no"), attempt=1)
    assert (await store.get(other.id)).finished_attempt == 1
