"""The batch path's bookkeeping on a real Redis, with a scripted provider backend.

The providers' own batch APIs (through their SDKs, against the simulator) are in
``tests/worker/test_batch_path.py``; here the backend is a stand-in whose answers each
test chooses, so that every branch — flush triggers, exactly-once application, a fresh
processor resuming, per-request errors, expiry, the token cap, the reconciler — is
checked without waiting on a provider.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import pytest
import redis.asyncio as aioredis

from agentqueue.core.batches import layout
from agentqueue.core.batches.backends import BatchBackend, BatchState, Outcome, RequestError
from agentqueue.core.batches.collector import BatchCollector, BatchPolicy
from agentqueue.core.batches.processor import BatchProcessor
from agentqueue.core.calls.registry import build_providers
from agentqueue.core.llm.catalog import load_catalog
from agentqueue.core.llm.messages import ChatMessage, Completion, CompletionRequest, Usage
from agentqueue.core.settings import CoreSettings
from agentqueue.core.tasks.model import TaskRecord, TaskSpec, TaskState
from agentqueue.core.tasks.reconciler import Reconciler
from agentqueue.core.tasks.store import INFLIGHT_KEY, TaskStore, batch_owner_key

USAGE = Usage(input_tokens=1000, output_tokens=500)


class ScriptedBackend:
    """Builds lines with the real adapter; answers as the test says."""

    def __init__(self, real: BatchBackend) -> None:
        self.real = real
        self.provider = real.provider
        self.submitted: dict[str, list[str]] = {}
        self.state_of: dict[str, BatchState] = {}
        #: custom id → what its next result is ("ok", "error", "fatal", "missing")
        self.plan: dict[str, str] = {}
        self.results_calls = 0

    def line(self, custom_id: str, request: CompletionRequest, model: str) -> dict[str, Any]:
        return self.real.line(custom_id, request, model)

    async def submit(self, lines: list[dict[str, Any]], model: str) -> str:
        batch_id = f"prov_{len(self.submitted)}"
        self.submitted[batch_id] = [ln["custom_id"] for ln in lines]
        self.state_of[batch_id] = BatchState.RUNNING
        return batch_id

    async def state(self, batch_id: str) -> BatchState:
        return self.state_of[batch_id]

    async def results(
        self, batch_id: str, order: list[str], lines: dict[str, dict[str, Any]], model: str
    ) -> dict[str, Outcome]:
        self.results_calls += 1
        out: dict[str, Outcome] = {}
        for custom_id in order:
            what = self.plan.pop(custom_id, "ok")
            if what == "ok":
                out[custom_id] = Completion(
                    text=f"answer {custom_id}", provider=self.provider, model=model, usage=USAGE
                )
            elif what == "error":
                out[custom_id] = RequestError("server_error", "boom", retryable=True)
            elif what == "fatal":
                out[custom_id] = RequestError("invalid_request", "bad", retryable=False)
            else:
                out[custom_id] = None
        return out

    def end_all(self, state: BatchState = BatchState.ENDED) -> None:
        for batch_id in self.state_of:
            self.state_of[batch_id] = state


@pytest.fixture
def store(aredis: aioredis.Redis) -> TaskStore:
    return TaskStore(aredis, ttl=600)


def _collector(store: TaskStore, policy: BatchPolicy) -> BatchCollector:
    providers = build_providers(CoreSettings(simulator_url="http://127.0.0.1:9"))
    return BatchCollector(store, providers, load_catalog(), provider="openai", policy=policy)


def _script(collector: BatchCollector, backend: ScriptedBackend | None = None) -> ScriptedBackend:
    provider = collector.providers[0]
    model = collector.catalog.default_model(
        "openai", CompletionRequest(messages=[ChatMessage(role="user", content="x")]).tier
    ).model
    group = layout.group_name("openai", model, provider.deployment)
    real = collector.backend(group)
    assert real is not None
    backend = backend or ScriptedBackend(real)
    collector.backends[group] = backend
    return backend


async def _tasks(store: TaskStore, collector: BatchCollector, n: int) -> list[str]:
    ids = []
    for i in range(n):
        spec = TaskSpec(
            input=CompletionRequest(messages=[ChatMessage(role="user", content=f"q{i}")]),
            batch_api=True,
        )
        record, _ = await store.create(TaskRecord(tenant="t", spec=spec))
        await store.redis.zadd(INFLIGHT_KEY, {record.id: 0})
        started = await store.start(record.id)
        assert started is not None
        assert await collector.collect(started)
        ids.append(record.id)
    return ids


POLICY = BatchPolicy(max_requests=50, max_age=3600, poll_interval=0.01, poll_max=0.01)


async def test_tasks_complete_once_at_batch_prices(store: TaskStore) -> None:
    collector = _collector(store, POLICY)
    backend = _script(collector)
    ids = await _tasks(store, collector, 5)
    processor = BatchProcessor(collector)
    assert await processor.flush() == []  # 5 < 50 and young: not due
    assert len(await processor.flush(force=True)) == 1
    assert await processor.poll(force=True) == []  # still running
    backend.end_all()
    assert len(await processor.poll(force=True)) == 1
    # a second poll (another worker, or a replay) finds nothing to apply
    assert await processor.poll(force=True) == []
    online = collector.catalog.cost_usd(
        collector.catalog.default_model(
            "openai",
            TaskSpec(
                input=CompletionRequest(messages=[ChatMessage(role="user", content="x")])
            ).input.tier,
        ).model,
        USAGE,
    )
    for task_id in ids:
        record = await store.get(task_id)
        assert record.state is TaskState.SUCCEEDED
        assert record.result is not None and record.result.text == f"answer {task_id}"
        assert len(record.calls) == 1
        assert record.cost_usd == online * Decimal("0.5")
        assert not await store.redis.exists(batch_owner_key(task_id))
        assert await store.redis.zscore(INFLIGHT_KEY, task_id) is None
    assert int(await store.redis.get(layout.enqueued_key("openai")) or 0) == 0
    assert await store.redis.zcard(layout.OPEN_KEY) == 0


async def test_flush_by_count_and_by_age(store: TaskStore) -> None:
    collector = _collector(store, BatchPolicy(max_requests=3, max_age=3600))
    backend = _script(collector)
    await _tasks(store, collector, 7)
    processor = BatchProcessor(collector)
    assert len(await processor.flush()) == 2  # 3 + 3; one left, young
    assert [len(v) for v in backend.submitted.values()] == [3, 3]
    collector.policy = processor.policy = BatchPolicy(max_requests=3, max_age=0)
    assert len(await processor.flush()) == 1


async def test_a_fresh_processor_resumes_an_open_batch(store: TaskStore) -> None:
    collector = _collector(store, POLICY)
    backend = _script(collector)
    ids = await _tasks(store, collector, 4)
    await BatchProcessor(collector).flush(force=True)  # then this worker "dies"
    backend.end_all()
    fresh = _collector(store, POLICY)  # another worker: nothing in memory
    _script(fresh, backend)
    processor = BatchProcessor(fresh)
    assert len(await processor.poll(force=True)) == 1
    for task_id in ids:
        record = await store.get(task_id)
        assert record.state is TaskState.SUCCEEDED and len(record.calls) == 1


class SlowSubmit(ScriptedBackend):
    """A provider that takes its time to accept a batch: a pass longer than the lock."""

    async def submit(self, lines: list[dict[str, Any]], model: str) -> str:
        await asyncio.sleep(1.2)
        return await super().submit(lines, model)


async def test_a_pass_outlasting_the_lock_keeps_other_workers_out(store: TaskStore) -> None:
    collector = _collector(store, POLICY)
    first = _collector(store, POLICY)
    _script(first, SlowSubmit(_script(collector).real))
    await _tasks(store, collector, 3)
    slow = asyncio.create_task(BatchProcessor(first, lock_seconds=0.3).run_once(force=True))
    await asyncio.sleep(0.8)  # the lock's expiry has passed twice: renewed meanwhile
    assert not slow.done()
    assert await BatchProcessor(collector, lock_seconds=0.3).run_once() is False
    assert 0 < await store.redis.pttl(layout.LOCK_KEY) <= 300
    assert await slow is True
    assert await BatchProcessor(collector, lock_seconds=0.3).run_once() is True


async def test_failed_requests_retry_in_the_next_batch(store: TaskStore) -> None:
    collector = _collector(store, POLICY)
    backend = _script(collector)
    ids = await _tasks(store, collector, 4)
    processor = BatchProcessor(collector)
    await processor.flush(force=True)
    backend.plan = {ids[0]: "error", ids[1]: "fatal"}
    backend.end_all()
    await processor.poll(force=True)
    assert (await store.get(ids[1])).state is TaskState.FAILED  # not retryable
    assert (await store.get(ids[0])).state is TaskState.RUNNING
    assert await store.redis.get(batch_owner_key(ids[0])) == b"pending"
    assert len(await processor.flush(force=True)) == 1
    assert list(backend.submitted.values())[-1] == [ids[0]]
    backend.end_all()
    await processor.poll(force=True)
    for task_id in (ids[0], ids[2], ids[3]):
        assert (await store.get(task_id)).state is TaskState.SUCCEEDED


async def test_retries_are_bounded(store: TaskStore) -> None:
    policy = BatchPolicy(max_requests=50, max_age=3600, max_retries=1)
    collector = _collector(store, policy)
    backend = _script(collector)
    [task_id] = await _tasks(store, collector, 1)
    processor = BatchProcessor(collector)
    for _ in range(2):
        await processor.flush(force=True)
        backend.plan = {task_id: "error"}
        backend.end_all()
        await processor.poll(force=True)
    record = await store.get(task_id)
    assert record.state is TaskState.FAILED and record.error is not None


async def test_failed_requests_can_go_online(store: TaskStore) -> None:
    policy = BatchPolicy(max_requests=50, max_age=3600, retry_online=True)
    collector = _collector(store, policy)
    backend = _script(collector)
    [task_id] = await _tasks(store, collector, 1)
    requeued: list[str] = []

    async def requeue(tid: str, _priority: Any) -> None:
        requeued.append(tid)

    processor = BatchProcessor(collector, requeue=requeue)
    await processor.flush(force=True)
    backend.plan = {task_id: "error"}
    backend.end_all()
    await processor.poll(force=True)
    assert requeued == [task_id]
    record = await store.get(task_id)
    assert record.state is TaskState.QUEUED and record.last_error is not None
    assert not await store.redis.exists(batch_owner_key(task_id))


async def test_an_expired_batch_resubmits_what_did_not_run(store: TaskStore) -> None:
    collector = _collector(store, POLICY)
    backend = _script(collector)
    ids = await _tasks(store, collector, 4)
    processor = BatchProcessor(collector)
    await processor.flush(force=True)
    backend.plan = {ids[2]: "missing", ids[3]: "missing"}
    backend.end_all(BatchState.INCOMPLETE)
    await processor.poll(force=True)
    assert (await store.get(ids[0])).state is TaskState.SUCCEEDED
    assert (await store.get(ids[2])).state is TaskState.RUNNING
    await processor.flush(force=True)
    assert sorted(list(backend.submitted.values())[-1]) == sorted(ids[2:])
    backend.end_all()
    await processor.poll(force=True)
    for task_id in ids:
        record = await store.get(task_id)
        assert record.state is TaskState.SUCCEEDED and len(record.calls) == 1


async def test_the_enqueued_token_cap_holds_a_group_back(store: TaskStore) -> None:
    collector = _collector(store, BatchPolicy(max_requests=2, enqueued_tokens={"openai": 1}))
    _script(collector)
    await _tasks(store, collector, 2)
    processor = BatchProcessor(collector)
    # one request alone always goes (else it would wait forever); the next waits for it
    assert len(await processor.flush(force=True)) == 1
    assert await store.redis.zcard(layout.pending_key(next(iter(collector.backends)))) == 1
    assert await processor.flush(force=True) == []


async def test_a_submitter_that_died_before_the_provider_answered(store: TaskStore) -> None:
    policy = BatchPolicy(max_requests=50, max_age=3600, preparing_timeout=0)
    collector = _collector(store, policy)
    backend = _script(collector)
    ids = await _tasks(store, collector, 2)

    async def dies(lines: list[dict[str, Any]], model: str) -> str:
        raise RuntimeError("connection reset")

    backend.submit = dies  # type: ignore[method-assign]
    processor = BatchProcessor(collector)
    assert await processor.flush(force=True) == []
    for task_id in ids:  # given back to pending at once
        assert await store.redis.get(batch_owner_key(task_id)) == b"pending"
    assert int(await store.redis.get(layout.enqueued_key("openai")) or 0) == 0


async def test_the_reconciler_leaves_batch_owned_tasks_alone(store: TaskStore) -> None:
    collector = _collector(store, POLICY)
    _script(collector)
    [task_id] = await _tasks(store, collector, 1)
    report = await Reconciler(store, interval=1).run_once(now=time.time() + 10)
    assert report.of("batch") == [task_id]
    assert (await store.get(task_id)).last_error is None


async def test_a_redelivered_message_is_only_acked(store: TaskStore) -> None:
    collector = _collector(store, POLICY)
    _script(collector)
    [task_id] = await _tasks(store, collector, 1)
    assert not await collector.collect(await store.get(task_id))
