"""The task runner in-process: real Redis, real SDKs, the simulator as provider."""

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.llm.call_result import CallResult
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.llm.usage import UsageLedger
from agentqueue.core.tasks.events import EventType, TaskEvents
from agentqueue.core.tasks.model import TaskRecord, TaskSpec, TaskState
from agentqueue.core.tasks.store import INFLIGHT_KEY, TaskStore
from agentqueue.worker.runner import RetryLater, TaskFailed, TaskRunner


@pytest.fixture
def store(aredis: aioredis.Redis) -> TaskStore:
    return TaskStore(aredis, ttl=600)


@pytest.fixture
def runner(store: TaskStore, chain: FallbackChain) -> TaskRunner:
    return TaskRunner(store, chain, backoff=1.0, backoff_max=8.0)


async def _task(store: TaskStore, kind: str = "completion") -> str:
    spec = TaskSpec(
        kind=kind,
        input=CompletionRequest(
            messages=[ChatMessage(role="user", content="Say hi")], max_tokens=64
        ),
    )
    record, _ = await store.create(TaskRecord(tenant="t", spec=spec))
    return record.id


async def test_success_records_result_usage_and_cost(runner: TaskRunner, store: TaskStore) -> None:
    task_id = await _task(store)
    await runner.run(task_id, retries_done=0, retries_left=3)
    record = await store.get(task_id)
    assert record.state is TaskState.SUCCEEDED and record.attempts == 1
    assert record.result is not None and record.result.provider == "anthropic"
    assert record.usage.output_tokens > 0 and record.cost_usd > 0
    assert len(record.calls) == 1 and record.finished_at is not None


async def test_duplicate_delivery_of_a_finished_task_changes_nothing(
    runner: TaskRunner, store: TaskStore
) -> None:
    task_id = await _task(store)
    await runner.run(task_id, retries_done=0, retries_left=3)
    before = await store.get(task_id)
    await runner.run(task_id, retries_done=0, retries_left=3)
    assert (await store.get(task_id)).model_dump() == before.model_dump()


async def test_a_redelivered_finished_task_publishes_its_missing_terminal_event_once(
    runner: TaskRunner, store: TaskStore
) -> None:
    """A worker killed between writing ``succeeded`` and publishing it: the broker's
    redelivery repairs the event log, and a further one adds nothing."""
    task_id = await _task(store)
    await runner.run(task_id, retries_done=0, retries_left=3)
    events = TaskEvents(store.redis)
    logged = await events.read(task_id)
    terminal = [e for e in logged if e.type.terminal]
    assert [e.type for e in terminal] == [EventType.SUCCEEDED]
    await store.redis.xdel(f"aq:task:{task_id}:events", terminal[0].id)  # the death
    for _ in range(2):
        await runner.run(task_id, retries_done=0, retries_left=3)
    repaired = [e for e in await events.read(task_id) if e.type.terminal]
    assert [e.type for e in repaired] == [EventType.SUCCEEDED]
    assert repaired[0].data["usage"] == terminal[0].data["usage"]


async def test_rate_limit_asks_for_a_retry_no_sooner_than_retry_after(
    runner: TaskRunner, store: TaskStore, simulator
) -> None:
    simulator.configure({"all": {"rpm": 1}})
    for _ in range(3):  # use each provider's one request of the minute
        await runner.run(await _task(store), retries_done=0, retries_left=3)
    task_id = await _task(store)
    with pytest.raises(RetryLater) as info:
        await runner.run(task_id, retries_done=0, retries_left=3)
    asked = info.value.error
    assert asked.type == "NoProviderAvailable" and asked.retryable
    assert info.value.delay >= 1.0  # at least the providers' retry-after (whole seconds)
    record = await store.get(task_id)
    assert record.state is TaskState.QUEUED and record.last_error is not None


async def test_transient_failure_without_retries_left_fails_visibly(
    runner: TaskRunner, store: TaskStore, simulator
) -> None:
    simulator.configure({"all": {"outage": True}})
    task_id = await _task(store)
    with pytest.raises(TaskFailed):
        await runner.run(task_id, retries_done=3, retries_left=0)
    record = await store.get(task_id)
    assert record.state is TaskState.FAILED and record.error is not None
    assert record.error.type == "NoProviderAvailable"
    assert "anthropic" in record.error.message and "google" in record.error.message


async def test_backoff_grows_when_the_provider_names_no_wait(
    runner: TaskRunner, store: TaskStore, simulator
) -> None:
    simulator.configure({"all": {"error_rate": 1.0}})
    delays = []
    for done in (0, 3):
        with pytest.raises(RetryLater) as info:
            await runner.run(await _task(store), retries_done=done, retries_left=2)
        delays.append(info.value.delay)
    assert 0.5 <= delays[0] <= 1.0 and 4.0 <= delays[1] <= 8.0


async def test_unknown_agent_fails_at_once_with_a_readable_error(
    runner: TaskRunner, store: TaskStore
) -> None:
    task_id = await _task(store, kind="research")
    with pytest.raises(TaskFailed):
        await runner.run(task_id, retries_done=0, retries_left=5)
    record = await store.get(task_id)
    assert record.state is TaskState.FAILED and record.error is not None
    assert record.error.type == "UnknownAgent" and "research" in record.error.message


async def test_a_finished_task_whose_webhook_was_never_queued_gets_it_queued(
    store: TaskStore, chain: FallbackChain
) -> None:
    """The worker died between finishing the task and queueing its webhook; the task's
    message comes back: the webhook is queued then, once."""
    queued: list[str] = []

    async def notify(task_id: str, _priority: object) -> None:
        queued.append(task_id)

    spec = TaskSpec(
        input=CompletionRequest(messages=[ChatMessage(role="user", content="Say hi")]),
        webhook_url="https://hooks.example.com/done",
    )
    record, _ = await store.create(TaskRecord(tenant="t", spec=spec))
    dying = TaskRunner(store, chain)  # no notify: as if killed before queueing
    await dying.run(record.id, retries_done=0, retries_left=3)
    assert (await store.get(record.id)).state is TaskState.SUCCEEDED and not queued
    again = TaskRunner(store, chain, notify=notify)
    await again.run(record.id, retries_done=0, retries_left=3)  # the redelivered message
    assert queued == [record.id]


async def test_writes_replayed_after_a_lost_reply_count_once(
    runner: TaskRunner, store: TaskStore, aredis: aioredis.Redis, monkeypatch
) -> None:
    """What the Redis client's retry does when a reply is lost: the write again. The call
    is recorded once, and the run still knows the success is its own (announced once)."""
    real_add, real_succeed = store.add_call, store.succeed

    async def add_twice(task_id, call, *, ledger=False):  # type: ignore[no-untyped-def]
        await real_add(task_id, call, ledger=ledger)
        await real_add(task_id, call, ledger=ledger)

    async def succeed_twice(task_id, result, *, attempt=None):  # type: ignore[no-untyped-def]
        await real_succeed(task_id, result, attempt=attempt)
        return await real_succeed(task_id, result, attempt=attempt)

    monkeypatch.setattr(store, "add_call", add_twice)
    monkeypatch.setattr(store, "succeed", succeed_twice)
    task_id = await _task(store)
    await aredis.zadd(INFLIGHT_KEY, {task_id: 1.0})
    await runner.run(task_id, retries_done=0, retries_left=0)
    record = await store.get(task_id)
    assert record.state is TaskState.SUCCEEDED and len(record.calls) == 1
    assert record.finished_attempt == 1
    [(_, models)] = await UsageLedger(aredis).by_day(record.tenant, 1)
    assert sum(int(m["calls"]) for m in models.values()) == 1  # charged once, by the record
    events = [e.type for e in await TaskEvents(aredis).read(task_id)]
    assert events.count(EventType.SUCCEEDED) == 1
    assert await aredis.zscore(INFLIGHT_KEY, task_id) is None  # out of flight with it


class _PoolExhausted:
    """A pipeline whose Redis pool had no connection free in time (a burst under load)."""

    async def complete(self, *args: object, **kwargs: object) -> CallResult:
        raise RedisConnectionError("No connection available.")


async def test_redis_out_of_reach_mid_run_retries_the_task_rather_than_failing_it(
    runner: TaskRunner, store: TaskStore
) -> None:
    runner.chain = _PoolExhausted()
    task_id = await _task(store)
    with pytest.raises(RetryLater):
        await runner.run(task_id, retries_done=0, retries_left=3)
    record = await store.get(task_id)
    assert record.state is TaskState.QUEUED and record.last_error is not None
    assert record.last_error.type == "ConnectionError" and record.last_error.retryable
    assert "Redis could not be reached" in record.last_error.message
    with pytest.raises(TaskFailed):  # out of retries: failed, visibly, with the reason
        await runner.run(task_id, retries_done=3, retries_left=0)
    record = await store.get(task_id)
    assert record.state is TaskState.FAILED and record.error is not None
    assert record.error.type == "ConnectionError"
