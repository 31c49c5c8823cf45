"""The per-minute usage counters workers write and the operator reads (real Redis)."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from agentqueue.core.queues.usage import BucketUsage, bucket_of, read_usage, record_usage


async def test_counts_add_up_per_queue_and_bucket(aredis: aioredis.Redis) -> None:
    t = 1_000_000.0
    await record_usage(aredis, "standard", tokens=1200, now=t)
    await record_usage(aredis, "standard", tokens=300, messages=1, now=t + 10)
    await record_usage(aredis, "standard", messages=1, now=t + 70)
    await record_usage(aredis, "high", tokens=5, now=t)
    await record_usage(aredis, "standard", now=t)  # nothing to add: no key written
    b = bucket_of(t)
    assert b == bucket_of(t + 10) != bucket_of(t + 70)
    got = await read_usage(aredis, "standard", [b, b + 1, b + 2])
    assert got == [BucketUsage(b, 1500, 1), BucketUsage(b + 1, 0, 1), BucketUsage(b + 2, 0, 0)]
    assert 0 < await aredis.ttl(f"aq:usage:standard:{b}") <= 3600


async def test_an_unreachable_redis_never_fails_the_caller() -> None:
    no_retry = Retry(NoBackoff(), 0)
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=no_retry)
    await record_usage(dead, "standard", tokens=10)  # logged, not raised
    await dead.aclose()
