"""Listing latency of ``GET /v1/tasks`` at 10,000 and 1,000,000 task records.

    .venv/bin/python -m bench.task_listing --tasks 10000
    .venv/bin/python -m bench.task_listing --tasks 1000000

Starts a private ``redis-server``, fills it with ``--tasks`` tasks of one tenant (and a
tenth as many of another, so the index is not alone), then times the gateway's listing
(the app in-process over ASGI, so the figures are the route's, not a client's):

- the **first page** (no cursor, ``limit=50``),
- a **deep page** (a cursor 90% of the way down the index, as a client following
  ``next_cursor`` would hold),
- a **filtered page** (``status=failed`` with no failed task: the worst case, the page
  looks at its cap of 1,000 tasks and returns a cursor),

each ``--requests`` times: p50 and p99 in ms; and the index's memory (``MEMORY USAGE``)
beside the total ``used_memory``.

**How the tasks are written.** The first 1,000 go through the real path
(``core.tasks.submission.submit``: the acceptance script). The rest are written by the
*same script* (``accept.lua``, by its SHA) with the same keys and arguments ``submit``
gives it, pipelined 1,000 at a time — so they are exactly what the real path writes
(record, ``queued`` event, in-flight entry, message and marker, listing index), only
faster; the bench checks that a pipelined task has the same keys, of the same types, as
a real one before it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
from pydantic import SecretStr

from agentqueue.cli.processes import ProcessGroup, start_redis
from agentqueue.core.llm.messages import ChatMessage, CompletionRequest
from agentqueue.core.queues.broker import (
    MARKER_KEY,
    NAMESPACE,
    make_broker,
    messages_key,
    queue_key,
    stamped,
    task_message,
)
from agentqueue.core.tasks.events import MAX_EVENTS, EventType, event_data, events_key
from agentqueue.core.tasks.listing import (
    TENANTS_KEY,
    created_ms,
    encode_cursor,
    index_key,
    oldest_kept_ms,
)
from agentqueue.core.tasks.model import TaskRecord, TaskSpec
from agentqueue.core.tasks.store import INFLIGHT_KEY, TaskStore, task_key
from agentqueue.core.tasks.submission import _ACCEPT, _ACCEPT_SHA, FIRST_CHECK_S, submit
from agentqueue.gateway.app import create_app
from agentqueue.gateway.settings import GatewaySettings

KEY = "bench-listing-key-0123456789"
TENANT = "bench"
TTL = 7 * 24 * 3600
SPEC = TaskSpec(
    input=CompletionRequest(messages=[ChatMessage(role="user", content="Summarise the report.")]),
    metadata={"source": "bench"},
)


def accept_call(record: TaskRecord, ttl: int = TTL) -> tuple[list[str], list[Any]]:
    """The acceptance script's keys and arguments for ``record``, as ``submit`` builds
    them (no Idempotency-Key, no trace context)."""
    message = stamped(task_message(record.id, record.spec.priority))
    queue = message.queue_name
    queued = {"priority": record.spec.priority.value, "kind": record.spec.kind}
    keys = [
        task_key(record.id),
        task_key(record.id),
        INFLIGHT_KEY,
        MARKER_KEY,
        messages_key(NAMESPACE, queue),
        queue_key(NAMESPACE, queue),
        events_key(record.id),
        index_key(record.tenant),
        TENANTS_KEY,
    ]
    args = [
        record.id,
        record.model_dump_json(exclude_none=True),
        ttl,
        "",
        "0",
        time.time() + FIRST_CHECK_S,
        str(message.options["redis_message_id"]),
        message.encode(),
        queue,
        MAX_EVENTS,
        EventType.QUEUED.value,
        event_data(queued),
        created_ms(record),
        oldest_kept_ms(ttl),
        record.tenant,
    ]
    return keys, args


async def fill(redis: aioredis.Redis, url: str, tenant: str, n: int, real: int) -> list[str]:
    """``n`` tasks of ``tenant``: ``real`` through ``submit``, the rest pipelined."""
    store = TaskStore(redis, ttl=TTL)
    broker = make_broker(url)
    ids: list[str] = []
    try:
        for start in range(0, min(real, n), 50):
            batch = [TaskRecord(tenant=tenant, spec=SPEC) for _ in range(min(50, real - start))]
            await asyncio.gather(*(submit(store, broker, r) for r in batch))
            ids += [r.id for r in batch]
    finally:
        broker.close()
    await redis.script_load(_ACCEPT)
    done = len(ids)
    while done < n:
        async with redis.pipeline(transaction=False) as pipe:
            for _ in range(min(1000, n - done)):
                record = TaskRecord(tenant=tenant, spec=SPEC)
                keys, args = accept_call(record)
                pipe.evalsha(_ACCEPT_SHA, len(keys), *keys, *args)
                ids.append(record.id)
            await pipe.execute()
        done = len(ids)
        if done % 100_000 == 0:
            print(f"  {tenant}: {done:,} tasks written")
    return ids


async def same_shape(redis: aioredis.Redis, real_id: str, piped_id: str) -> None:
    """A pipelined task has the keys, of the types, a real one has."""

    async def shape(task_id: str) -> dict[str, str]:
        out = {}
        for suffix in ("", ":events"):
            kind: Any = await redis.type(f"aq:task:{task_id}{suffix}")
            out[suffix] = kind.decode()
        out["inflight"] = str(await redis.zscore(INFLIGHT_KEY, task_id) is not None)
        out["marker"] = str(await redis.hexists(MARKER_KEY, task_id))
        out["index"] = str(await redis.zscore(index_key(TENANT), task_id) is not None)
        return out

    real, piped = await shape(real_id), await shape(piped_id)
    assert real == piped, (real, piped)


async def timed(client: httpx.AsyncClient, url: str, n: int) -> tuple[float, float, int]:
    times = []
    count = 0
    for _ in range(n):
        started = time.perf_counter()
        r = await client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, r.text
        count = len(r.json()["tasks"])
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1], count


async def run(args: argparse.Namespace) -> None:
    group = ProcessGroup(log_dir=Path(tempfile.mkdtemp(prefix="aq-bench-listing-")))
    try:
        url = start_redis(group)
        redis = aioredis.Redis.from_url(url)
        t0 = time.perf_counter()
        ids = await fill(redis, url, TENANT, args.tasks, real=min(1000, args.tasks))
        await fill(redis, url, "other", args.tasks // 10, real=0)
        print(
            f"wrote {args.tasks:,} + {args.tasks // 10:,} tasks in {time.perf_counter() - t0:.1f}s"
        )
        if args.tasks > 1000:
            await same_shape(redis, ids[0], ids[-1])
        index = index_key(TENANT)
        index_bytes = await redis.memory_usage(index, samples=0) or 0
        used = (await redis.info("memory"))["used_memory"]
        deep_rank = int(args.tasks * 0.9)
        deep: Any = await redis.zrevrange(index, deep_rank, deep_rank, withscores=True)
        (member, score), *_ = deep
        deep_cursor = encode_cursor(int(score), member.decode())
        settings = GatewaySettings(
            redis_url=SecretStr(url), api_keys=SecretStr(f"{TENANT}:{KEY}"), reconcile_interval=0
        )
        app = create_app(settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://gateway",
                headers={"Authorization": f"Bearer {KEY}"},
            ) as client,
        ):
            await timed(client, "/v1/tasks?limit=50", 20)  # warm-up
            rows = [
                ("first page, limit=50", "/v1/tasks?limit=50"),
                ("deep page (90%), limit=50", f"/v1/tasks?limit=50&cursor={deep_cursor}"),
                ("filtered, no match (1,000 looked at)", "/v1/tasks?limit=50&status=failed"),
            ]
            print(f"\nGET /v1/tasks at {args.tasks:,} task records ({args.requests} requests each)")
            print("| request | p50 ms | p99 ms | tasks |\n|---|---:|---:|---:|")
            for label, path in rows:
                p50, p99, count = await timed(client, path, args.requests)
                print(f"| {label} | {p50:.2f} | {p99:.2f} | {count} |")
        print(
            f"\nindex {index}: {await redis.zcard(index):,} entries, "
            f"{index_bytes / 1e6:.1f} MB ({index_bytes / max(1, args.tasks):.0f} B/task); "
            f"Redis used_memory {used / 1e6:.0f} MB"
        )
        await redis.aclose()
    finally:
        group.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
