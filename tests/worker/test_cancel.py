"""Cancellation: ``DELETE /v1/tasks/{id}`` with the runner in-process (real Redis, SDKs,
simulator). A queued task never runs; a running one stops before its next LLM call; a
call already in flight finishes and is recorded, and the task stays cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.tasks.events import EventType, TaskEvents
from agentqueue.core.tasks.model import TaskResult, TaskSpec, TaskState
from agentqueue.core.tasks.store import TaskStore
from agentqueue.gateway.settings import GatewaySettings
from agentqueue.worker.agents import BUILTIN_AGENTS, AgentContext
from agentqueue.worker.runner import TaskRunner
from tests.gateway_app import gateway_client

KEY = "cancel-test-key-0123456789"
OTHER = "cancel-other-key-0123456789"
HI = {"messages": [{"role": "user", "content": "Say hi"}]}


class TwoSteps:
    """Two LLM calls with a pause between them, where the test cancels the task."""

    def __init__(self) -> None:
        self.between = asyncio.Event()
        self.go_on = asyncio.Event()

    async def run(self, spec: TaskSpec, ctx: AgentContext) -> TaskResult:
        first = await ctx.complete(spec.input)
        self.between.set()
        await self.go_on.wait()
        second = await ctx.complete(
            CompletionRequest(messages=[ChatMessage(role="user", content="And again")])
        )
        return TaskResult(text=first.text + second.text, provider="x", model="y")


@pytest.fixture
def two_steps(monkeypatch: pytest.MonkeyPatch) -> TwoSteps:
    agent = TwoSteps()
    monkeypatch.setitem(BUILTIN_AGENTS, "two_steps", agent)
    return agent


@pytest.fixture
async def api(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(
        redis_url=SecretStr(redis_url),
        api_keys=SecretStr(f"t:{KEY},u:{OTHER}"),
        task_kinds=["completion", "two_steps"],
    )
    async with gateway_client(settings, KEY) as client:
        yield client


@pytest.fixture
def store(aredis: aioredis.Redis) -> TaskStore:
    return TaskStore(aredis, ttl=600)


@pytest.fixture
def runner(store: TaskStore, chain: FallbackChain) -> TaskRunner:
    return TaskRunner(store, chain, backoff=0.1, backoff_max=0.2)


def _calls(simulator) -> int:
    return sum(p.get("requests", 0) for p in simulator.stats()["providers"].values())


async def _submit(api: httpx.AsyncClient, **extra: object) -> str:
    r = await api.post("/v1/tasks", json={**HI, **extra})
    assert r.status_code == 202, r.text
    task_id: str = r.json()["id"]
    return task_id


async def test_a_cancelled_queued_task_never_runs(
    api: httpx.AsyncClient, runner: TaskRunner, store: TaskStore, simulator
) -> None:
    task_id = await _submit(api)
    r = await api.delete(f"/v1/tasks/{task_id}")
    assert r.status_code == 202
    view = r.json()
    assert view["status"] == "cancelled" and view["finished_at"] is not None
    assert (await api.get(f"/v1/tasks/{task_id}")).json()["status"] == "cancelled"

    await runner.run(task_id, retries_done=0, retries_left=3)  # the message still arrives
    record = await store.get(task_id)
    assert record.state is TaskState.CANCELLED and record.attempts == 0 and not record.calls
    assert _calls(simulator) == 0


async def test_a_running_task_stops_before_its_next_call(
    api: httpx.AsyncClient, runner: TaskRunner, store: TaskStore, two_steps: TwoSteps, simulator
) -> None:
    task_id = await _submit(api, kind="two_steps")
    run = asyncio.create_task(runner.run(task_id, retries_done=0, retries_left=3))
    await asyncio.wait_for(two_steps.between.wait(), 10)
    assert (await api.get(f"/v1/tasks/{task_id}")).json()["status"] == "running"
    assert (await api.delete(f"/v1/tasks/{task_id}")).status_code == 202
    two_steps.go_on.set()
    await asyncio.wait_for(run, 10)  # returns: neither TaskFailed nor a retry

    record = await store.get(task_id)
    assert record.state is TaskState.CANCELLED
    assert record.error is None and record.result is None and record.last_error is None
    assert len(record.calls) == 1  # the first call was made and paid for; not the second
    assert _calls(simulator) == 1


@pytest.mark.slow
async def test_a_call_in_flight_finishes_and_is_recorded(
    api: httpx.AsyncClient, runner: TaskRunner, store: TaskStore, simulator
) -> None:
    simulator.configure({"all": {"speed": 1.0, "ttft_ms": 800}})
    task_id = await _submit(api)
    run = asyncio.create_task(runner.run(task_id, retries_done=0, retries_left=3))
    events = TaskEvents(store.redis)
    [queued] = await events.read(task_id)
    [started] = await events.read(task_id, after=queued.id, block=10)
    assert started.type is EventType.STARTED
    await asyncio.sleep(0.2)  # the call is in flight (its answer takes 0.8 s)
    assert (await api.delete(f"/v1/tasks/{task_id}")).status_code == 202
    await asyncio.wait_for(run, 15)
    record = await store.get(task_id)
    assert record.state is TaskState.CANCELLED and record.result is None
    assert len(record.calls) == 1 and record.cost_usd > 0  # paid for, so recorded


async def test_cancelling_a_finished_task_is_409(
    api: httpx.AsyncClient, runner: TaskRunner
) -> None:
    task_id = await _submit(api)
    await runner.run(task_id, retries_done=0, retries_left=3)
    r = await api.delete(f"/v1/tasks/{task_id}")
    assert r.status_code == 409 and "succeeded" in r.json()["error"]["message"]
    assert (await api.get(f"/v1/tasks/{task_id}")).json()["status"] == "succeeded"


async def test_cancelling_twice_is_409(api: httpx.AsyncClient) -> None:
    task_id = await _submit(api)
    assert (await api.delete(f"/v1/tasks/{task_id}")).status_code == 202
    r = await api.delete(f"/v1/tasks/{task_id}")
    assert r.status_code == 409 and "cancelled" in r.json()["error"]["message"]


async def test_another_tenant_cannot_cancel(api: httpx.AsyncClient) -> None:
    task_id = await _submit(api)
    r = await api.delete(f"/v1/tasks/{task_id}", headers={"Authorization": f"Bearer {OTHER}"})
    assert r.status_code == 404
    assert (await api.get(f"/v1/tasks/{task_id}")).json()["status"] == "queued"
    assert (await api.delete("/v1/tasks/task_unknown")).status_code == 404


async def test_a_task_cancelled_while_waiting_for_its_retry_never_runs_again(
    api: httpx.AsyncClient, runner: TaskRunner, store: TaskStore, simulator
) -> None:
    from agentqueue.worker.runner import RetryLater

    simulator.configure({"all": {"outage": True}})
    task_id = await _submit(api)
    with pytest.raises(RetryLater):
        await runner.run(task_id, retries_done=0, retries_left=3)
    assert (await api.delete(f"/v1/tasks/{task_id}")).status_code == 202
    simulator.configure({"all": {"outage": False}})
    before = _calls(simulator)
    await runner.run(task_id, retries_done=1, retries_left=2)
    record = await store.get(task_id)
    assert record.state is TaskState.CANCELLED and record.attempts == 1
    assert _calls(simulator) == before
