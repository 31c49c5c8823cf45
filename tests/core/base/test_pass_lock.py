"""The pass lock on a real Redis: held however long the pass, gone soon after its holder."""

from __future__ import annotations

import asyncio
import sys

import redis.asyncio as aioredis

from agentqueue.core.base.pass_lock import renewed_lock

KEY = "aq:test:pass-lock"


async def test_a_pass_longer_than_the_ttl_keeps_the_lock(aredis: aioredis.Redis) -> None:
    async with renewed_lock(aredis, KEY, ttl=0.3) as held:
        assert held
        for _ in range(4):  # 1.2 s: four times the expiry
            await asyncio.sleep(0.3)
            async with renewed_lock(aredis, KEY, ttl=0.3) as other:
                assert not other
            assert 0 < await aredis.pttl(KEY) <= 300
    assert not await aredis.exists(KEY)  # released at the end, not left to expire
    async with renewed_lock(aredis, KEY, ttl=0.3) as again:
        assert again


HOLDER = """
import asyncio, sys
import redis.asyncio as aioredis
from agentqueue.core.base.pass_lock import renewed_lock

async def main() -> None:
    async with renewed_lock(aioredis.Redis.from_url(sys.argv[1]), sys.argv[2], ttl=1.0) as held:
        print("held" if held else "refused", flush=True)
        await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_a_holder_killed_mid_pass_frees_the_lock_within_its_ttl(
    aredis: aioredis.Redis, redis_url: str
) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, redis_url, KEY, stdout=asyncio.subprocess.PIPE
    )
    assert holder.stdout is not None
    try:
        assert (await asyncio.wait_for(holder.stdout.readline(), 60)).strip() == b"held"
        await asyncio.sleep(2.5)  # past the ttl: renewed meanwhile
        assert await aredis.exists(KEY)
    finally:
        holder.kill()
        await holder.wait()
    # Dead, it leaves at most its ttl behind (a fixed-expiry lock sized for the slowest
    # pass left 120 s), and then Redis drops it.
    assert 0 < await aredis.pttl(KEY) <= 1000
    for _ in range(200):
        if not await aredis.exists(KEY):
            break
        await asyncio.sleep(0.05)
    async with renewed_lock(aredis, KEY, ttl=1.0) as held:
        assert held
