"""What a queue's workers consume, per minute: tokens and finished messages.

The autoscaler must know how many tokens per minute one worker burns, to know how many
workers a budget can feed. Workers know their usage exactly (every provider response
carries it), so each adds it to a per-queue, per-minute counter in Redis; the operator
reads the closed minutes and divides by the replicas that ran. A shared counter rather
than scraping each pod's Prometheus endpoint: the operator already holds the Redis
connection, needs no pod discovery, and the sum over the fleet is what it wants anyway.

Keys: ``aq:usage:<queue>:<bucket>`` hashes with fields ``tokens`` and ``messages``, where
``bucket`` is the Unix time divided by the bucket length (60 s; shorter only in tests).
They expire after an hour. Recording never fails a task: usage is telemetry.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

PREFIX = "aq:usage:"
#: Seconds per counter bucket: a provider's rate-limit minute.
BUCKET_SECONDS = 60
#: Seconds the counters are kept.
RETENTION_SECONDS = 3600


@dataclass(frozen=True)
class BucketUsage:
    """What a queue's whole fleet consumed in one bucket."""

    bucket: int
    tokens: int
    messages: int


def bucket_of(now: float, bucket_seconds: int = BUCKET_SECONDS) -> int:
    return int(now // bucket_seconds)


def usage_key(queue: str, bucket: int) -> str:
    return f"{PREFIX}{queue}:{bucket}"


async def record_usage(
    redis: aioredis.Redis,
    queue: str,
    *,
    tokens: int = 0,
    messages: int = 0,
    now: float | None = None,
    bucket_seconds: int = BUCKET_SECONDS,
) -> None:
    """Add ``tokens`` and finished ``messages`` to ``queue``'s current bucket."""
    if tokens <= 0 and messages <= 0:
        return
    key = usage_key(queue, bucket_of(time.time() if now is None else now, bucket_seconds))
    try:
        async with redis.pipeline(transaction=True) as pipe:
            if tokens > 0:
                pipe.hincrby(key, "tokens", tokens)
            if messages > 0:
                pipe.hincrby(key, "messages", messages)
            pipe.expire(key, RETENTION_SECONDS)
            await pipe.execute()
    except RedisError as exc:
        log.debug("queue usage not recorded for %s: %s", queue, exc)


async def read_usage(redis: aioredis.Redis, queue: str, buckets: list[int]) -> list[BucketUsage]:
    """The counters of ``buckets`` (zero where nothing was recorded), in the order given."""
    if not buckets:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for bucket in buckets:
            pipe.hmget(usage_key(queue, bucket), "tokens", "messages")
        rows = await pipe.execute()
    return [
        BucketUsage(bucket, int(tokens or 0), int(messages or 0))
        for bucket, (tokens, messages) in zip(buckets, rows, strict=True)
    ]
