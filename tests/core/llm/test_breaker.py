import pytest

from agentqueue.core.base.errors import CircuitOpen
from agentqueue.core.llm.breaker import BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_consecutive_failures_and_refuses_fast() -> None:
    clock = Clock()
    b = CircuitBreaker("p", failure_threshold=3, cooldown=10, clock=clock)
    for _ in range(2):
        b.before_call()
        b.record_failure()
    assert b.state is BreakerState.CLOSED
    b.before_call()
    b.record_failure()
    assert b.state is BreakerState.OPEN
    with pytest.raises(CircuitOpen) as info:
        b.before_call()
    assert info.value.reopens_in == pytest.approx(10)


def test_success_resets_the_count() -> None:
    b = CircuitBreaker("p", failure_threshold=2, clock=Clock())
    b.record_failure()
    b.record_success()
    b.record_failure()
    assert b.state is BreakerState.CLOSED


def test_half_open_lets_one_probe_through_and_its_success_closes() -> None:
    clock = Clock()
    b = CircuitBreaker("p", failure_threshold=1, cooldown=5, clock=clock)
    b.record_failure()
    clock.now = 5.0
    assert b.state is BreakerState.HALF_OPEN
    b.before_call()  # the probe
    with pytest.raises(CircuitOpen):
        b.before_call()  # a second caller while the probe is out
    b.record_success()
    assert b.state is BreakerState.CLOSED
    b.before_call()


def test_failed_probe_reopens_for_another_cooldown() -> None:
    clock = Clock()
    b = CircuitBreaker("p", failure_threshold=3, cooldown=5, clock=clock)
    for _ in range(3):
        b.record_failure()
    clock.now = 6.0
    b.before_call()
    b.record_failure()
    assert b.state is BreakerState.OPEN
    clock.now = 10.0
    assert b.state is BreakerState.OPEN
    clock.now = 11.0
    assert b.state is BreakerState.HALF_OPEN


def test_neutral_outcome_frees_the_probe_slot_without_closing() -> None:
    clock = Clock()
    b = CircuitBreaker("p", failure_threshold=1, cooldown=1, clock=clock)
    b.record_failure()
    clock.now = 2.0
    b.before_call()
    b.record_neutral()
    b.before_call()  # another probe may go


def test_only_its_own_openings_are_announced() -> None:
    clock = Clock()
    opened: list[str] = []
    b = CircuitBreaker("p", failure_threshold=2, cooldown=10, clock=clock)
    b.on_open = lambda: opened.append("p")
    b.record_failure()
    assert opened == []
    b.record_failure()
    assert opened == ["p"] and b.state is BreakerState.OPEN
    clock.now = 20
    assert b.open_by_peer()  # a peer's opening: applied, not announced again
    assert opened == ["p"] and b.state is BreakerState.OPEN
    with pytest.raises(CircuitOpen) as info:
        b.before_call()
    assert info.value.reopens_in == pytest.approx(10)  # a full cool-down from hearing it


def test_a_peers_opening_waits_for_this_ones_own_probe() -> None:
    clock = Clock()
    b = CircuitBreaker("p", failure_threshold=1, cooldown=10, clock=clock)
    b.record_failure()
    clock.now = 11
    b.before_call()  # half-open: this process's probe is out
    assert not b.open_by_peer()
    b.record_success()  # the probe's answer decides
    assert b.state is BreakerState.CLOSED


def test_a_call_let_through_before_the_breaker_opened_is_stopped_after_its_wait() -> None:
    clock = Clock()
    b = CircuitBreaker("p", failure_threshold=1, cooldown=10, clock=clock)
    waiting = b.before_call()  # let through, then waits for its budget…
    assert waiting is False
    b.record_failure()  # …while another call finds the provider dead
    with pytest.raises(CircuitOpen):
        b.still_closed(waiting)
    clock.now = 11
    probe = b.before_call()
    assert probe is True
    b.still_closed(probe)  # the probe itself goes on
    b.record_success()
    b.still_closed(b.before_call())  # closed again: nothing to stop
