"""A circuit breaker per provider, so that a dead provider costs one fast failure.

Closed: calls pass; ``failure_threshold`` consecutive failures that say the provider is
unhealthy (``ProviderError.trips_breaker``) open it. Open: calls are refused at once with
:class:`~agentqueue.core.base.errors.CircuitOpen` for ``cooldown`` seconds. Half-open: one
probe call is let through; its success closes the breaker, its failure reopens it for
another cool-down. Rate limits and bad requests do not count: the provider answered.

The state is per process; an opening can be shared: ``on_open`` hears every opening
this process's own failures caused, and :meth:`CircuitBreaker.open_by_peer` opens the
breaker for a peer's (``core/calls/breaker_exchange.py`` carries both over Redis), so a
replica that has not called the dead provider yet skips it from the start — the one that
would pay is often the gateway, where a person waits for the first token. Recovery is not
shared: each process probes for itself once its cool-down has passed. ``on_change`` hears
every state the breaker is seen in that differs from the last one heard (the metrics'
gauge): open → half-open happens by the clock, so it is heard when next looked at.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from agentqueue.core.base.errors import CircuitOpen


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Consecutive-failure breaker with a single half-open probe."""

    def __init__(
        self,
        provider: str,
        *,
        failure_threshold: int = 3,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], None] | None = None,
        on_open: Callable[[], None] | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.provider = provider
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_in_flight = False
        self.on_change = on_change
        self.on_open = on_open
        self._heard = BreakerState.CLOSED

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            state = BreakerState.CLOSED
        elif self._clock() - self._opened_at < self.cooldown:
            state = BreakerState.OPEN
        else:
            state = BreakerState.HALF_OPEN
        if state is not self._heard:
            self._heard = state
            if self.on_change is not None:
                self.on_change(state)
        return state

    def before_call(self) -> bool:
        """Raise :class:`CircuitOpen` unless a call may go out now; True when the call is
        the half-open breaker's probe."""
        state = self.state
        if state is BreakerState.CLOSED:
            return False
        if state is BreakerState.HALF_OPEN and not self._probe_in_flight:
            self._probe_in_flight = True
            return True
        raise self._refusal()

    def still_closed(self, probe: bool) -> None:
        """Raise :class:`CircuitOpen` if the breaker opened since :meth:`before_call` let
        this call through (``probe``: what it returned; the probe itself goes on).

        For calls that wait between the two — for their budget, up to the limiter's
        longest wait: when a provider dies, the calls that were waiting for its budget
        would otherwise all be sent to it as their budget frees up (every failure gives
        its reservation back), a burst of doomed requests that a real outage answers
        with timeouts rather than quick errors.
        """
        if not probe and self.state is not BreakerState.CLOSED:
            raise self._refusal()

    def _refusal(self) -> CircuitOpen:
        assert self._opened_at is not None
        remaining = max(0.0, self.cooldown - (self._clock() - self._opened_at))
        return CircuitOpen(self.provider, reopens_in=remaining)

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probe_in_flight = False
        _ = self.state  # heard

    def record_failure(self) -> None:
        """Count a failure that says the provider is unhealthy."""
        self._failures += 1
        opens = self._probe_in_flight or self._failures >= self.failure_threshold
        if opens:
            self._opened_at = self._clock()
        self._probe_in_flight = False
        _ = self.state  # heard
        if opens and self.on_open is not None:
            self.on_open()

    def open_by_peer(self) -> bool:
        """Open for a full cool-down because another process's breaker for the same
        deployment opened; False (nothing changed) while this one's own probe is out —
        its answer is fresher news than the peer's."""
        if self._probe_in_flight:
            return False
        self._opened_at = self._clock()
        self._failures = 0
        _ = self.state  # heard
        return True

    def record_neutral(self) -> None:
        """The provider answered, but not with success (429, 400): release a probe slot."""
        self._probe_in_flight = False
