"""A request's phases (``core/telemetry/timing.py``): added up, in order, and nothing at
all outside a request."""

from __future__ import annotations

from agentqueue.core.telemetry import timing
from agentqueue.core.telemetry.timing import Timing, current_timing


def test_phases_add_up_and_are_listed_in_the_order_they_happen() -> None:
    t = Timing(started=100.0)
    t.add("provider", 0.2)
    t.add("budget", 0.010)
    t.add("budget", 0.005)  # a second attempt's wait
    t.add("custom", 0.001)
    assert t.header(now=100.5) == (
        "budget;dur=15.0, provider;dur=200.0, custom;dur=1.0, total;dur=500.0"
    )


def test_a_phase_is_recorded_into_the_current_request_only() -> None:
    with timing.phase("cache"):
        pass
    timing.record("budget", 1.0)  # no request: nothing to record into, and no error
    t = Timing()
    token = current_timing.set(t)
    try:
        with timing.phase("cache"):
            pass
        timing.record("budget", 0.25)
    finally:
        current_timing.reset(token)
    assert set(t.phases) == {"cache", "budget"} and t.phases["budget"] == 0.25
    assert t.phases["cache"] >= 0
