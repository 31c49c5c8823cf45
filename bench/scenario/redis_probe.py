"""How long Redis takes to answer a PING, sampled all run: every component's shared state.

A slow first token whose cache lookup and budget both took hundreds of milliseconds points
at Redis (or at the path to it); this says whether Redis itself was slow then.
"""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis


class RedisProbe:
    """PINGs every ``every`` seconds; keeps (when, seconds) of each answer."""

    def __init__(self, redis_url: str, every: float = 0.1) -> None:
        self.redis_url, self.every = redis_url, every
        self.samples: list[tuple[float, float]] = []
        self.stopped = False

    async def run(self) -> None:
        client = aioredis.Redis.from_url(self.redis_url)
        try:
            while not self.stopped:
                started = time.perf_counter()
                await client.ping()  # type: ignore[misc]
                self.samples.append((time.time(), time.perf_counter() - started))
                await asyncio.sleep(self.every)
        finally:
            await client.aclose()

    def summary(self, t0: float, worst: int = 5) -> str:
        """p50 / p99 / worst PING times, and when the worst happened (seconds after t0)."""
        if not self.samples:
            return "redis PING: no samples"
        ordered = sorted(s for _, s in self.samples)
        slowest = sorted(self.samples, key=lambda pair: -pair[1])[:worst]
        when = ", ".join(f"{s * 1000:.0f} ms at {at - t0:.1f} s" for at, s in slowest)
        return (
            f"redis PING p50 / p99 {ordered[len(ordered) // 2] * 1000:.1f} / "
            f"{ordered[int(0.99 * (len(ordered) - 1))] * 1000:.1f} ms; slowest: {when}"
        )
