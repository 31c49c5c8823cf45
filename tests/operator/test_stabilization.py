"""Scale up at once, down only after the window, and a lower budget cap at once."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agentqueue.operator.stabilization import StabilizationWindow


def test_up_at_once_down_after_the_window() -> None:
    w = StabilizationWindow(seconds=30)
    assert w.apply(0, 2) == 2
    assert w.apply(5, 8) == 8  # a rise shows at once
    assert w.apply(10, 1) == 8  # a fall waits
    assert w.apply(34, 1) == 8  # 8 was recommended at t=5: still inside [4, 34]
    assert w.apply(36, 1) == 1  # now every higher one has aged out


def test_a_lower_budget_cap_applies_at_once() -> None:
    w = StabilizationWindow(seconds=300)
    assert w.apply(0, 10) == 10
    assert w.apply(1, 3, ceiling=3) == 3


def test_the_ceiling_never_goes_below_the_recommendation() -> None:
    w = StabilizationWindow(seconds=300)
    # The law keeps one worker for waiting messages even when the budget feeds none.
    assert w.apply(0, 1, ceiling=0) == 1


def test_zero_window_follows_the_recommendation() -> None:
    w = StabilizationWindow(seconds=0)
    assert [w.apply(t, r) for t, r in enumerate([5, 2, 7, 0])] == [5, 2, 7, 0]


@given(st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=60))
def test_it_is_the_highest_recommendation_of_the_window(recs: list[int]) -> None:
    w = StabilizationWindow(seconds=10)
    for t, r in enumerate(recs):
        applied = w.apply(float(t), r)
        assert applied == max(recs[max(0, t - 10) : t + 1])
        assert applied >= r
