"""Redis clients with a bounded, blocking pool.

redis-py's default async pool raises ``MaxConnectionsError`` once 100 connections are in
use, which under a burst turns into 500s. A blocking pool makes the 101st caller wait
for a free connection (up to ``timeout`` seconds), so a burst queues instead of failing.
"""

from __future__ import annotations

import redis.asyncio as aioredis


def async_redis(url: str, *, max_connections: int = 64, timeout: float = 5.0) -> aioredis.Redis:
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=timeout
    )
    return aioredis.Redis.from_pool(pool)  # the client owns (and closes) its pool
