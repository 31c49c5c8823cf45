"""The scaling law's promises, checked over generated inputs (hypothesis)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentqueue.operator.scaling import ScalingInput, budget_cap, desired_replicas

#: Zero and small depths often: the floor rules live there.
counts = (
    st.just(0) | st.integers(min_value=0, max_value=20) | st.integers(min_value=0, max_value=5000)
)
maybe_rate = st.none() | st.floats(min_value=0.001, max_value=50, allow_nan=False)
maybe_tpm = st.none() | st.floats(min_value=0, max_value=5e6, allow_nan=False)


@st.composite
def inputs(draw: st.DrawFn) -> ScalingInput:
    max_replicas = draw(st.integers(min_value=1, max_value=200))
    return ScalingInput(
        ready=draw(counts),
        in_flight=draw(counts),
        delayed=draw(st.just(0) | st.integers(min_value=0, max_value=50)),
        target_per_replica=draw(st.integers(min_value=1, max_value=200)),
        drain_seconds=draw(st.floats(min_value=1, max_value=86400)),
        min_replicas=draw(st.just(0) | st.integers(min_value=0, max_value=max_replicas)),
        max_replicas=max_replicas,
        current_replicas=draw(st.integers(min_value=0, max_value=300)),
        scale_to_zero=draw(st.booleans()),
        throughput_per_replica=draw(maybe_rate),
        budget_tpm=draw(maybe_tpm),
        tpm_per_replica=draw(st.none() | st.floats(min_value=1, max_value=1e6)),
        held_cap=draw(st.none() | st.integers(min_value=0, max_value=300)),
    )


def floor_of(s: ScalingInput) -> int:
    waiting = s.depth > 0 or s.delayed > 0
    return max(s.min_replicas, 1 if waiting or not s.scale_to_zero else 0)


def cap_of(s: ScalingInput) -> int | None:
    return s.held_cap if s.held_cap is not None else budget_cap(s.budget_tpm, s.tpm_per_replica)


@given(inputs())
def test_within_min_and_max(s: ScalingInput) -> None:
    r = desired_replicas(s).replicas
    assert s.min_replicas <= r <= s.max_replicas


@given(inputs())
def test_never_above_the_budget_cap_unless_the_floor_is(s: ScalingInput) -> None:
    cap = cap_of(s)
    r = desired_replicas(s).replicas
    if cap is not None:
        assert r <= max(cap, floor_of(s))
        if cap >= floor_of(s):
            assert r <= cap


@settings(max_examples=400)
@given(inputs())
def test_zero_only_when_allowed_and_nothing_waits(s: ScalingInput) -> None:
    r = desired_replicas(s).replicas
    allowed_and_idle = s.scale_to_zero and s.min_replicas == 0 and s.depth == 0 and s.delayed == 0
    assert (r == 0) == allowed_and_idle


@given(inputs())
def test_anything_waiting_keeps_a_worker(s: ScalingInput) -> None:
    if s.delayed > 0 or s.depth > 0:
        assert desired_replicas(s).replicas >= 1


@given(inputs(), st.integers(min_value=1, max_value=50))
def test_delayed_messages_alone_keep_a_worker(s: ScalingInput, delayed: int) -> None:
    only_delayed = replace(s, ready=0, in_flight=0, delayed=delayed)
    assert desired_replicas(only_delayed).replicas >= 1


@given(inputs(), counts, counts, st.integers(min_value=0, max_value=50))
def test_monotone_in_depth(
    s: ScalingInput, more_ready: int, more_flight: int, more_delay: int
) -> None:
    deeper = replace(
        s,
        ready=s.ready + more_ready,
        in_flight=s.in_flight + more_flight,
        delayed=s.delayed + more_delay,
    )
    assert desired_replicas(deeper).replicas >= desired_replicas(s).replicas


@given(inputs())
def test_without_budget_or_throughput_it_is_kedas_law(s: ScalingInput) -> None:
    plain = replace(s, throughput_per_replica=None, budget_tpm=None, held_cap=None)
    keda = math.ceil(plain.depth / plain.target_per_replica)
    expected = min(max(keda, floor_of(plain)), plain.max_replicas)
    assert desired_replicas(plain).replicas == expected


@given(inputs())
def test_budget_limited_means_fewer_than_demanded(s: ScalingInput) -> None:
    rec = desired_replicas(s)
    if rec.budget_limited:
        assert rec.budget_cap is not None
        assert rec.replicas < min(rec.demand, s.max_replicas)
    assert rec.reason  # every decision says why


@settings(max_examples=50)
@given(inputs())
def test_the_drain_objective_only_adds_replicas(s: ScalingInput) -> None:
    without = replace(s, throughput_per_replica=None)
    assert desired_replicas(s).demand >= desired_replicas(without).demand


def base(**changes: object) -> ScalingInput:
    s = ScalingInput(
        ready=0,
        in_flight=0,
        delayed=0,
        target_per_replica=10,
        drain_seconds=60,
        min_replicas=0,
        max_replicas=20,
        current_replicas=0,
    )
    return replace(s, **changes)  # type: ignore[arg-type]


def test_examples_with_reasons() -> None:
    rec = desired_replicas(base(ready=95))
    assert rec.replicas == 10 and rec.reason.startswith("demand 10")

    # 1 msg/s per replica, 60 s objective: 600 messages need 10 replicas, target says 6.
    rec = desired_replicas(base(ready=60, throughput_per_replica=0.1, target_per_replica=10))
    assert rec.replicas == 10 and "drain 60 in 60s" in rec.reason

    rec = desired_replicas(base(ready=200, budget_tpm=30_000, tpm_per_replica=10_000))
    assert rec.replicas == 3 and rec.budget_limited and "capped by budget" in rec.reason

    rec = desired_replicas(base(delayed=4))
    assert rec.replicas == 1 and "delayed" in rec.reason

    rec = desired_replicas(base(ready=500, held_cap=2))
    assert rec.replicas == 2 and "unreadable" in rec.reason

    rec = desired_replicas(base(ready=10_000))
    assert rec.replicas == 20 and rec.reason.startswith("at max 20")

    rec = desired_replicas(base(scale_to_zero=False))
    assert rec.replicas == 1 and "scale-to-zero is off" in rec.reason


def test_a_budget_too_small_for_one_worker_still_leaves_one() -> None:
    rec = desired_replicas(base(ready=50, budget_tpm=100, tpm_per_replica=10_000))
    assert rec.budget_cap == 0 and rec.replicas == 1 and rec.budget_limited


def test_inconsistent_bounds_are_refused() -> None:
    with pytest.raises(ValueError):
        base(min_replicas=5, max_replicas=2)
    with pytest.raises(ValueError):
        base(ready=-1)
