"""Single-flight through Redis: identical requests in flight make one provider call.

The first request takes a lock (``SET NX PX`` with a token of its own) and becomes the
leader; the others see the lock's token and wait on a list named after it, which the
leader pushes to when its answer is stored. A follower that wakes passes the wake-up on
(it pushes the item back for the next follower) and reads the cache. Followers wait in
slices of ``poll`` seconds and read the cache after each, so a lost wake-up costs one
slice, not the whole wait.

The leader releases the lock when it finishes, whether it succeeded or failed, and a
failure wakes the followers too: one of them takes the lock and becomes the next leader
(a failed call is not shared, so every follower does not retry at once). A follower
that has waited ``timeout`` seconds calls the provider itself. A lock whose leader died
expires after ``timeout`` seconds. Redis being down means no coordination: every
request calls for itself, as without the cache.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agentqueue.core.base.ids import random_id
from agentqueue.core.cache.metrics import FLIGHT_JOINS

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Delete the lock if it is still ours, then wake the followers waiting on our token.
_END = """
if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) end
redis.call('rpush', KEYS[2], ARGV[2])
redis.call('pexpire', KEYS[2], ARGV[3])
return 1
"""


class Role(StrEnum):
    """How a request got its answer."""

    LEADER = "leader"  # it called the provider for everyone
    JOINED = "joined"  # another request's call answered it
    ALONE = "alone"  # it waited too long, or Redis was down, and called for itself


class SingleFlight:
    def __init__(self, redis: aioredis.Redis, timeout: float, *, poll: float = 1.0) -> None:
        self.redis = redis
        self.timeout = timeout
        self.poll = poll
        self._end = redis.register_script(_END)

    async def run(
        self,
        key: str,
        call: Callable[[], Awaitable[T]],
        check: Callable[[], Awaitable[T | None]],
    ) -> tuple[T, Role]:
        """``call()`` once across every process for identical ``key``s; ``check()`` reads
        the answer another request's call stored (None while there is none)."""
        if self.timeout <= 0:
            return await call(), Role.ALONE
        token = random_id()
        deadline = time.monotonic() + self.timeout
        lock = f"{key}:lock"
        while True:
            try:
                holder = await self.redis.set(
                    lock, token, nx=True, px=max(1, int(self.timeout * 1000)), get=True
                )
            except RedisError as exc:
                log.warning("single-flight unavailable (calling alone): %s", exc)
                return await call(), Role.ALONE
            if holder is None:
                return await self._lead(key, lock, token, call, check)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                FLIGHT_JOINS.labels("timeout").inc()
                return await call(), Role.ALONE
            await self._wait(key, _text(holder), min(self.poll, remaining))
            found = await check()
            if found is not None:
                FLIGHT_JOINS.labels("joined").inc()
                return found, Role.JOINED

    async def _lead(
        self,
        key: str,
        lock: str,
        token: str,
        call: Callable[[], Awaitable[T]],
        check: Callable[[], Awaitable[T | None]],
    ) -> tuple[T, Role]:
        outcome = "failed"
        try:
            # a flight that ended between our cache miss and our lock may have stored it
            found = await check()
            if found is not None:
                outcome = "done"
                return found, Role.JOINED
            result = await call()
            outcome = "done"
            return result, Role.LEADER
        finally:
            try:
                await self._end(
                    keys=[lock, _done(key, token)],
                    args=[token, outcome, max(1000, int(self.timeout * 1000))],
                )
            except RedisError as exc:  # the lock expires by itself
                log.warning("single-flight lock not released: %s", exc)

    async def _wait(self, key: str, holder: str, seconds: float) -> None:
        """Wait for the holder's flight to end, at most ``seconds``."""
        done = _done(key, holder)
        try:
            popped = await self.redis.blpop([done], timeout=seconds)
            if popped is not None:
                await self.redis.rpush(done, popped[1])  # pass the wake-up on
        except RedisError as exc:
            log.warning("single-flight wait failed: %s", exc)


def _done(key: str, token: str) -> str:
    return f"{key}:done:{token}"


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
