"""The task event log on a real Redis: order, resumption, blocking reads, cap and expiry."""

import asyncio
import time

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.settings import CoreSettings
from agentqueue.core.tasks.events import (
    EVENT_ID,
    EventType,
    TaskEvents,
    default_ttl_after_finish,
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


async def test_the_terminal_event_shortens_the_logs_life_and_nothing_lengthens_it_again(
    aredis: aioredis.Redis,
) -> None:
    events = TaskEvents(aredis, ttl=600, ttl_after_finish=30)
    await events.publish("t1", EventType.QUEUED, {})
    await events.publish("t1", EventType.STARTED, {"attempt": 1})
    assert 30 < await aredis.ttl(events_key("t1")) <= 600  # running: the record's TTL
    await events.publish("t1", EventType.CANCELLED, {"reason": "client"})
    assert 0 < await aredis.ttl(events_key("t1")) <= 30
    # the call that was in flight when the task was cancelled is still logged, but does
    # not keep the finished task's log for another week
    await events.publish("t1", EventType.LLM_CALL, {"provider": "openai"})
    assert 0 < await aredis.ttl(events_key("t1")) <= 30
    assert [e.type for e in await events.read("t1")][-2:] == [
        EventType.CANCELLED,
        EventType.LLM_CALL,
    ]


@pytest.mark.parametrize("terminal", [EventType.SUCCEEDED, EventType.FAILED])
async def test_a_finished_log_expires_and_the_reader_sees_nothing(
    aredis: aioredis.Redis, terminal: EventType
) -> None:
    events = TaskEvents(aredis, ttl=600, ttl_after_finish=1)
    await events.publish("t1", EventType.STARTED, {"attempt": 1})
    await events.publish("t1", terminal, {"attempts": 1})
    await asyncio.sleep(1.2)
    assert not await aredis.exists(events_key("t1"))
    assert await events.read("t1") == []


def test_the_after_finish_ttl_comes_from_the_settings_and_never_exceeds_the_records(
    aredis: aioredis.Redis,
) -> None:
    assert CoreSettings.model_fields["events_ttl_after_finish"].default == 3600
    assert TaskEvents(aredis).ttl_after_finish == default_ttl_after_finish()
    assert TaskEvents(aredis, ttl=120).ttl_after_finish == 120
    assert TaskEvents(aredis, ttl=600, ttl_after_finish=5).ttl_after_finish == 5


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
