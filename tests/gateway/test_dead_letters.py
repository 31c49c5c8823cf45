"""Dead letters through the admin API: listed, inspected, requeued exactly once (and the
requeued task completes on a worker), discarded; each action audited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import dramatiq
import httpx
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from agentqueue.core.calls.fallback import FallbackChain
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.queues.broker import TaskBroker, make_broker
from agentqueue.core.tasks.model import TaskError, TaskRecord, TaskSpec, TaskState
from agentqueue.core.tasks.store import INFLIGHT_KEY, TaskStore
from agentqueue.core.tasks.submission import submit
from agentqueue.gateway.app import create_app
from agentqueue.gateway.settings import GatewaySettings
from agentqueue.worker.runner import TaskRunner

ADMIN_KEY = "admin-bootstrap-key-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
SPEC = TaskSpec(input=CompletionRequest(messages=[ChatMessage(role="user", content="Say hi")]))


@pytest.fixture
def broker(redis_url: str) -> Iterator[TaskBroker]:
    b = make_broker(redis_url)
    yield b
    b.close()


@pytest.fixture
async def gw(redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(
        redis_url=SecretStr(redis_url), admin_key=SecretStr(ADMIN_KEY), reconcile_interval=0
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c,
    ):
        yield c


def take(broker: TaskBroker, queue: str = "standard") -> dramatiq.MessageProxy:
    """The next message of ``queue``, as a worker's consumer fetches it."""
    consumer = broker.consume(queue, prefetch=1, timeout=200)
    for _ in range(50):
        message = next(consumer)
        if message is not None:
            take.consumer = consumer  # type: ignore[attr-defined]
            return message
    raise AssertionError("no message")


async def dead_task(store: TaskStore, broker: TaskBroker) -> str:
    """A task that failed for good and whose message Dramatiq dead-lettered."""
    record, _ = await submit(store, broker, TaskRecord(tenant="t1", spec=SPEC))
    message = await asyncio.to_thread(take, broker)
    started = await store.start(record.id)
    assert started is not None
    await store.fail(record.id, TaskError(type="Boom", message="it broke"), attempt=1)
    take.consumer.nack(message)  # type: ignore[attr-defined]
    return record.id


async def test_a_requeued_dead_letter_runs_once_and_completes(
    gw: httpx.AsyncClient, aredis: aioredis.Redis, broker: TaskBroker, chain: FallbackChain
) -> None:
    store = TaskStore(aredis, ttl=600)
    task_id = await dead_task(store, broker)
    listed = (await gw.get("/admin/v1/dead-letters", headers=ADMIN)).json()["dead_letters"]
    assert len(listed) == 1 and listed[0]["task_id"] == task_id
    message_id = listed[0]["message_id"]
    one = (await gw.get(f"/admin/v1/dead-letters/{message_id}", headers=ADMIN)).json()
    assert one["tenant"] == "t1" and one["task_status"] == "failed"
    assert one["error"]["type"] == "Boom" and one["message"]["actor_name"] == "run_task"

    url = f"/admin/v1/dead-letters/{message_id}/requeue"
    answers = await asyncio.gather(*(gw.post(url, headers=ADMIN) for _ in range(3)))
    assert sorted(r.status_code for r in answers) == [202, 404, 404]
    record = await store.get(task_id)
    assert record.state is TaskState.QUEUED and record.last_error is not None
    assert await aredis.zscore(INFLIGHT_KEY, task_id) is not None
    assert (await gw.get("/admin/v1/dead-letters", headers=ADMIN)).json()["dead_letters"] == []

    message = await asyncio.to_thread(take, broker)  # exactly one message came back
    assert message.args == (task_id,)
    runner = TaskRunner(store, chain, backoff=0.1, backoff_max=0.2)
    await runner.run(task_id, retries_done=0, retries_left=0)
    take.consumer.ack(message)  # type: ignore[attr-defined]
    done = await store.get(task_id)
    assert done.state is TaskState.SUCCEEDED and done.result is not None
    assert await aredis.llen("dramatiq:standard") == 0  # and no second message
    entries = (await gw.get("/admin/v1/audit", headers=ADMIN)).json()["entries"]
    assert [(e["action"], e["target"]) for e in entries] == [("dead_letter.requeue", message_id)]


async def test_discard_and_conflict(
    gw: httpx.AsyncClient, aredis: aioredis.Redis, broker: TaskBroker
) -> None:
    store = TaskStore(aredis, ttl=600)
    first = await dead_task(store, broker)
    second = await dead_task(store, broker)
    letters = {
        d["task_id"]: d["message_id"]
        for d in (await gw.get("/admin/v1/dead-letters", headers=ADMIN)).json()["dead_letters"]
    }
    r = await gw.delete(f"/admin/v1/dead-letters/{letters[first]}", headers=ADMIN)
    assert r.status_code == 200 and r.json()["task_id"] == first
    assert (
        await gw.delete(f"/admin/v1/dead-letters/{letters[first]}", headers=ADMIN)
    ).status_code == 404
    assert (await store.get(first)).state is TaskState.FAILED  # the record stays
    # a task no longer failed is not revived, and its dead letter stays
    await aredis.set(
        f"aq:task:{second}",
        (await store.get(second))
        .model_copy(update={"state": TaskState.SUCCEEDED})
        .model_dump_json(),
    )
    r = await gw.post(f"/admin/v1/dead-letters/{letters[second]}/requeue", headers=ADMIN)
    assert r.status_code == 409, r.text
    remaining = (await gw.get("/admin/v1/dead-letters", headers=ADMIN)).json()["dead_letters"]
    assert [d["task_id"] for d in remaining] == [second]
    assert (await gw.get("/admin/v1/dead-letters/nope", headers=ADMIN)).status_code == 404
