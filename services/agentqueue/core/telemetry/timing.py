"""Where one request's time went, phase by phase: the W3C ``Server-Timing`` header.

Why: a slow first token has five possible owners — the cache lookup, the router reading
budgets' headroom, the wait for budget, the provider, or a provider that failed before
another answered — and the caller (a person at a chat, a benchmark, a browser's
developer tools, which show this header) cannot tell them apart from outside. The gateway
starts a :class:`Timing` per request (``gateway/server_timing.py``); code deep inside a
call adds its phases through :func:`phase` and :func:`record`, which cost one context
variable read and do nothing outside a request (a worker's calls).

A phase that happens more than once in a request (two attempts' budget waits) adds up.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: The phases a call reports, in the order they happen (the header lists them so).
PHASES = ("cache", "route", "budget", "failed", "provider")


class Timing:
    """One request's phases: seconds per name, and when the request started."""

    __slots__ = ("phases", "started")

    def __init__(self, started: float | None = None) -> None:
        self.started = time.perf_counter() if started is None else started
        self.phases: dict[str, float] = {}

    def add(self, name: str, seconds: float) -> None:
        self.phases[name] = self.phases.get(name, 0.0) + seconds

    def header(self, now: float | None = None) -> str:
        """The ``Server-Timing`` value: each phase seen, then ``total`` (the request's
        time so far: for a stream, to its first byte), in milliseconds."""
        total = (time.perf_counter() if now is None else now) - self.started
        known = [n for n in PHASES if n in self.phases]
        others = sorted(n for n in self.phases if n not in PHASES)
        parts = [f"{n};dur={self.phases[n] * 1000:.1f}" for n in (*known, *others)]
        parts.append(f"total;dur={total * 1000:.1f}")
        return ", ".join(parts)


#: The current request's timing (None outside a gateway request).
current_timing: ContextVar[Timing | None] = ContextVar("agentqueue_timing", default=None)


def record(name: str, seconds: float) -> None:
    """Add ``seconds`` to phase ``name`` of the current request, if there is one."""
    timing = current_timing.get()
    if timing is not None:
        timing.add(name, seconds)


@contextmanager
def phase(name: str) -> Iterator[None]:
    """The block's wall time is phase ``name`` of the current request (if any)."""
    timing = current_timing.get()
    if timing is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        timing.add(name, time.perf_counter() - started)
