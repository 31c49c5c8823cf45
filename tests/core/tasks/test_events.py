"""The task event log on a real Redis: order, resumption, blocking reads, cap and expiry."""

import asyncio
import time

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.tasks.events import (
    EVENT_ID,
    EventType,
    TaskEvents,
    events_key,
    terminal_event,
)
from agentqueue.core.tasks.model import TaskError, TaskRecord, TaskResult, TaskSpec, TaskState


@pytest.fixture
def events(aredis: aioredis.Redis) -> TaskEvents:
    return TaskEvents(aredis, ttl=600)


async def test_events_read_back_in_order_with_increasing_ids(events: TaskEvents) -> None:
    for n, type_ in enumerate([EventType.QUEUED, EventType.STARTED, EventType.SUCCEEDED]):
        await events.publish("t1", type_, {"n": n})
    got = await events.read("t1")
    assert [e.type for e in got] == [EventType.QUEUED, EventType.STARTED, EventType.SUCCEEDED]
    assert [e.data["n"] for e in got] == [0, 1, 2]
    assert all(EVENT_ID.match(e.id) for e in got)
    stamps = [tuple(map(int, e.id.split("-"))) for e in got]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3
    assert all(abs(e.data["at"] - time.time()) < 5 for e in got)
    assert got[-1].type.terminal and not got[0].type.terminal


async def test_reading_after_an_id_resumes_exactly_there(events: TaskEvents) -> None:
    ids = [await events.publish("t1", EventType.LLM_CALL, {"n": n}) for n in range(5)]
    rest = await events.read("t1", after=ids[1])
    assert [e.id for e in rest] == ids[2:]
    assert await events.read("t1", after=ids[-1]) == []


async def test_tasks_have_separate_logs(events: TaskEvents) -> None:
    await events.publish("a", EventType.QUEUED, {})
    await events.publish("b", EventType.STARTED, {})
    assert [e.type for e in await events.read("a")] == [EventType.QUEUED]
    assert [e.type for e in await events.read("b")] == [EventType.STARTED]


async def test_a_blocking_read_wakes_on_the_next_event(events: TaskEvents) -> None:
    first = await events.publish("t1", EventType.QUEUED, {})

    async def later() -> None:
        await asyncio.sleep(0.2)
        await events.publish("t1", EventType.STARTED, {"attempt": 1})

    started = time.monotonic()
    publisher = asyncio.create_task(later())
    got = await events.read("t1", after=first, block=5)
    await publisher
    assert [e.type for e in got] == [EventType.STARTED]
    assert 0.15 < time.monotonic() - started < 3


async def test_a_blocking_read_times_out_empty(events: TaskEvents) -> None:
    started = time.monotonic()
    assert await events.read("nothing", block=0.2) == []
    assert time.monotonic() - started >= 0.18


async def test_log_expires_with_the_record_ttl_and_is_capped(
    events: TaskEvents, aredis: aioredis.Redis
) -> None:
    for _ in range(1500):
        await events.publish("t1", EventType.RETRY, {"delay_s": 1})
    assert 0 < await aredis.ttl(events_key("t1")) <= 600
    length = await aredis.xlen(events_key("t1"))
    assert 1000 <= length < 1500  # MAXLEN ~ trims whole nodes: about 1,000 stay


async def test_try_publish_swallows_a_dead_redis() -> None:
    dead = aioredis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    try:
        await TaskEvents(dead).try_publish("t1", EventType.QUEUED, {})  # must not raise
    finally:
        await dead.aclose()


def _record(state: TaskState) -> TaskRecord:
    spec = TaskSpec(input=CompletionRequest(messages=[ChatMessage(role="user", content="hi")]))
    record = TaskRecord(tenant="t", spec=spec, state=state)
    if state is TaskState.SUCCEEDED:
        record.result = TaskResult(text="hello", provider="anthropic", model="m")
    if state is TaskState.FAILED:
        record.error = TaskError(type="NoProviderAvailable", message="all down")
    return record


@pytest.mark.parametrize("state", [TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED])
def test_a_finished_record_implies_its_terminal_event(state: TaskState) -> None:
    event = terminal_event(_record(state))
    assert event.type.value == state.value and event.type.terminal and event.id == ""
    if state is TaskState.SUCCEEDED:
        assert event.data["result"]["text"] == "hello"
    if state is TaskState.FAILED:
        assert event.data["error"]["type"] == "NoProviderAvailable"


def test_an_unfinished_record_has_no_terminal_event() -> None:
    with pytest.raises(ValueError, match="not finished"):
        terminal_event(_record(TaskState.RUNNING))
