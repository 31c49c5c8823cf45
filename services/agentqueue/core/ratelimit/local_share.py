"""The fallback when Redis (the shared budget) is unreachable: a local share.

Failing open would let every replica spend the whole provider limit (the N-fold
overshoot the shared budget exists to prevent); failing closed would stop all work.
Instead each process keeps to ``limit ÷ replicas`` in memory until Redis answers again,
and says so loudly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from agentqueue.core.base.errors import BudgetExhausted
from agentqueue.core.ratelimit.budget import BudgetLimits


class LocalShare:
    """A continuous-refill bucket of one process's share of a budget (tokens and requests)."""

    def __init__(
        self,
        name: str,
        limits: BudgetLimits,
        replicas: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if replicas < 1:
            raise ValueError("replicas must be at least 1")
        self.name = name
        self.cap_t = limits.effective_tpm / replicas
        self.cap_r = limits.effective_rpm / replicas
        self.rate_t = self.cap_t / limits.minute_seconds
        self.rate_r = self.cap_r / limits.minute_seconds
        self._clock = clock
        # Start empty: the shared budget may have been spent already this minute.
        self.lvl_t = 0.0
        self.lvl_r = 0.0
        self._at = clock()

    def _refill(self) -> None:
        now = self._clock()
        self.lvl_t = min(self.cap_t, self.lvl_t + (now - self._at) * self.rate_t)
        self.lvl_r = min(self.cap_r, self.lvl_r + (now - self._at) * self.rate_r)
        self._at = now

    def wait_for(self, tokens: int) -> float:
        self._refill()
        if tokens > self.cap_t or self.cap_r < 1:
            return float("inf")
        return max(0.0, (tokens - self.lvl_t) / self.rate_t, (1 - self.lvl_r) / self.rate_r)

    async def acquire(self, tokens: int, max_wait: float) -> None:
        while (wait := self.wait_for(tokens)) > 0:
            if wait > max_wait:
                raise BudgetExhausted(self.name, retry_after=wait)
            await asyncio.sleep(wait)
        self.lvl_t -= tokens
        self.lvl_r -= 1

    def settle(self, reserved: int, actual: int) -> None:
        self._refill()
        self.lvl_t = min(self.cap_t, self.lvl_t + reserved - actual)
