"""Writes whose reply is lost: the client's retry runs them again, and each counts once.

A proxy (``lossy_proxy.py``) lets the command reach Redis and run, then drops the
connection before the answer: the Redis client reconnects and sends it again."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import pytest
import redis.asyncio as aioredis

from agentqueue.core.base.redisconn import async_redis
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest, Usage
from agentqueue.core.llm.usage import UsageLedger
from agentqueue.core.queues.broker import TaskBroker, make_broker
from agentqueue.core.tasks.model import CallRecord, TaskRecord, TaskResult, TaskSpec
from agentqueue.core.tasks.store import TaskStore
from agentqueue.core.tasks.submission import _ACCEPT, submit
from tests.core.base.lossy_proxy import LossyProxy, lossy_proxy


@pytest.fixture
async def proxy(redis_url: str) -> AsyncIterator[LossyProxy]:
    async with lossy_proxy(redis_url) as proxy:
        yield proxy


@pytest.fixture
async def client(proxy: LossyProxy) -> AsyncIterator[aioredis.Redis]:
    client = async_redis(proxy.url, retry_seconds=5)
    yield client
    await client.aclose()


@pytest.fixture
def broker(redis_url: str) -> Iterator[TaskBroker]:
    broker = make_broker(redis_url)
    yield broker
    broker.close()


def _record() -> TaskRecord:
    spec = TaskSpec(input=CompletionRequest(messages=[ChatMessage(role="user", content="hi")]))
    return TaskRecord(tenant="t1", spec=spec)


async def test_a_usage_record_replayed_counts_once(
    proxy: LossyProxy, client: aioredis.Redis, aredis: aioredis.Redis
) -> None:
    ledger = UsageLedger(client)
    usage = Usage(input_tokens=10, output_tokens=5)
    await ledger.record("warmup", "m", usage, Decimal("0.01"))  # the script is loaded
    await aredis.config_resetstat()
    proxy.lose_reply_to(b"EVALSHA")
    await ledger.record("t1", "m", usage, Decimal("0.25"))
    assert proxy.fired == 1
    assert (await aredis.info("commandstats"))["cmdstat_evalsha"]["calls"] == 2  # replayed
    [(_, models)] = await UsageLedger(aredis).by_day("t1", 1)
    assert models["m"]["calls"] == 1 and models["m"]["input_tokens"] == 10
    assert await UsageLedger(aredis).spent("t1") == Decimal("0.25")


async def test_a_call_recorded_again_is_kept_once(
    proxy: LossyProxy, client: aioredis.Redis, aredis: aioredis.Redis
) -> None:
    store = TaskStore(client, ttl=600)
    record, _ = await TaskStore(aredis, ttl=600).create(_record())
    started = await store.start(record.id)
    assert started is not None
    call = CallRecord(
        provider="p", model="m", usage=Usage(), cost_usd=Decimal(1), latency_s=0.1, attempts=[]
    )
    proxy.lose_reply_to(b"EXEC")
    await store.add_call(record.id, call, ledger=True)
    assert proxy.fired == 1
    assert len((await store.get(record.id)).calls) == 1
    [(_, models)] = await UsageLedger(aredis).by_day(record.tenant, 1)
    assert models["m"]["calls"] == 1  # the ledger, written with the record, once too
    assert await UsageLedger(aredis).spent(record.tenant) == Decimal(1)
    proxy.lose_reply_to(b"EXEC")
    result = TaskResult(text="ok", provider="p", model="m")
    assert await store.succeed(record.id, result, attempt=started.attempts)  # its own
    assert proxy.fired == 2


async def test_an_acceptance_replayed_is_one_task_and_one_message(
    proxy: LossyProxy, client: aioredis.Redis, aredis: aioredis.Redis, broker: TaskBroker
) -> None:
    store = TaskStore(client, ttl=600)
    await submit(store, broker, _record())  # the script is loaded
    proxy.lose_reply_to(hashlib.sha1(_ACCEPT.encode()).hexdigest().encode())
    record, created = await submit(store, broker, _record(), idempotency_key="k")
    assert proxy.fired == 1 and created
    assert await aredis.llen("dramatiq:standard") == 2
    assert (await store.get(record.id)).id == record.id


async def test_a_batch_of_acceptances_replayed_is_one_task_and_one_message_each(
    proxy: LossyProxy, client: aioredis.Redis, aredis: aioredis.Redis, broker: TaskBroker
) -> None:
    """Concurrent submissions go to Redis as one pipeline (``core/base/batched_script.py``);
    its reply lost, the client sends the whole pipeline again and each script finds its
    own record."""
    store = TaskStore(client, ttl=600)
    await submit(store, broker, _record())  # the script is loaded
    await aredis.config_resetstat()
    proxy.lose_reply_to(hashlib.sha1(_ACCEPT.encode()).hexdigest().encode())
    accepted = await asyncio.gather(
        *(submit(store, broker, _record(), idempotency_key=f"k{i}") for i in range(8))
    )
    assert proxy.fired == 1 and all(created for _, created in accepted)
    # one pipeline, run, its reply lost, sent again whole: 16 scripts (8 one by one: 9)
    assert (await aredis.info("commandstats"))["cmdstat_evalsha"]["calls"] == 16
    assert await aredis.llen("dramatiq:standard") == 9
    assert len({record.id for record, _ in accepted}) == 8
    for record, _ in accepted:
        assert (await store.get(record.id)).id == record.id
