"""Continuous-refill token buckets, as Anthropic and OpenAI describe their limits.

A bucket holds up to ``capacity`` (the per-minute limit) and refills at
``capacity / minute`` per second, continuously: there is no window edge at which a
burst of twice the limit gets through.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(
        self,
        capacity: int,
        minute_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.rate = capacity / minute_seconds
        self._clock = clock
        self._level = float(capacity)
        self._at = clock()

    def level(self) -> float:
        now = self._clock()
        self._level = min(self.capacity, self._level + (now - self._at) * self.rate)
        self._at = now
        return self._level

    def wait_for(self, amount: int) -> float:
        """Seconds until ``amount`` is available (0 if now; inf if it never fits)."""
        if amount > self.capacity:
            return math.inf
        return max(0.0, (amount - self.level()) / self.rate)

    def take(self, amount: int) -> None:
        self._level = self.level() - amount

    def give(self, amount: int) -> None:
        self._level = min(self.capacity, self.level() + amount)

    def seconds_to_full(self) -> float:
        return (self.capacity - self.level()) / self.rate


class KeyBuckets:
    """The request and token buckets of one (provider, API key)."""

    def __init__(
        self, rpm: int, tpm: int, minute_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.requests = TokenBucket(rpm, minute_seconds, clock)
        self.tokens = TokenBucket(tpm, minute_seconds, clock)

    def admit(self, tokens: int) -> float:
        """Charge one request and ``tokens`` and return 0, or return the seconds to wait."""
        wait = max(self.requests.wait_for(1), self.tokens.wait_for(tokens))
        if wait == 0:
            self.requests.take(1)
            self.tokens.take(tokens)
        return wait
