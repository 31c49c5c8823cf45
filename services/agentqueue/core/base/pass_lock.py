"""A Redis lock that one process holds for a whole pass, however long, and that frees
itself soon after its holder dies.

Singleton passes (the batch processor's flush and poll, the reconciler's sweep) run in
any worker, one at a time. A lock with a fixed expiry has to choose: long enough for the
slowest pass (then a worker killed mid-pass blocks every other one for that long), or
short (then a slow pass loses its lock halfway and two run at once). Here the expiry is
short and a background task renews it every third of it while the pass runs, so a dead
holder's lock is gone within ``ttl`` and a live holder's never lapses. The lock itself is
redis-py's (token compare-and-set on renewal and release).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from redis.asyncio.lock import Lock
from redis.exceptions import LockNotOwnedError, RedisError

log = logging.getLogger(__name__)


async def _renew(lock: Lock, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await lock.reacquire()
        except LockNotOwnedError:
            # Expired before a renewal got through (Redis out of reach longer than the
            # ttl): another process may run a pass now. Passes apply their writes under
            # compare-and-set, so two at once are slower, not wrong.
            log.warning("lock %s lapsed during a pass; another may run beside it", lock.name)
            return
        except RedisError as exc:
            log.warning("lock %s not renewed (%s); trying again", lock.name, exc)


@contextlib.asynccontextmanager
async def renewed_lock(redis: aioredis.Redis, key: str, *, ttl: float) -> AsyncIterator[bool]:
    """Try the lock once; yield whether it was taken, renewing it until the block ends."""
    lock = Lock(redis, key, timeout=ttl, blocking=False, thread_local=False)
    if not await lock.acquire():
        yield False
        return
    renewal = asyncio.create_task(_renew(lock, ttl / 3), name=f"renew {key}")
    try:
        yield True
    finally:
        renewal.cancel()
        # wait for it without catching CancelledError: a cancellation of this task
        # (shutdown) must go on to the caller, not be swallowed here
        await asyncio.wait([renewal])
        with contextlib.suppress(RedisError):  # not ours any more, or Redis away: it expires
            await lock.release()
