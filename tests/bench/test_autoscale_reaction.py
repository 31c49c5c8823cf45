"""The scale-reaction bench runs end to end on tiny parameters and reports sane numbers.

The real operator (short interval) against kmock, a real Redis, Dramatiq's keys; the
KEDA-like loops heavily time-scaled. No timing thresholds: only what must hold on any
machine, however loaded (every burst timed, scale-ups in the right order and size).
"""

from __future__ import annotations

import math

import pytest

from bench.autoscale_reaction import (
    format_report,
    pct,
    run_bench,
    uniform_sum_quantile,
    wanted_replicas,
)


def test_quantiles() -> None:
    assert pct([3.0, 1.0, 2.0], 0.5) == 2.0
    assert pct([1.0, 2.0], 0.99) == pytest.approx(1.99)
    assert math.isnan(pct([], 0.5))
    # U(0, 30) + U(0, 15): median 22.5, p99 42, max 45, and the same either way round.
    assert uniform_sum_quantile(0.5, 30, 15) == pytest.approx(22.5)
    assert uniform_sum_quantile(0.99, 15, 30) == pytest.approx(42.0)
    assert uniform_sum_quantile(1.0, 30, 15) == pytest.approx(45.0)
    assert uniform_sum_quantile(0.01, 30, 15) == pytest.approx(3.0)
    assert uniform_sum_quantile(0.5, 30, 0) == pytest.approx(15.0)


async def test_bench_reports_every_burst(redis_url: str) -> None:
    bursts, size = 2, 12
    report = await run_bench(
        redis_url,
        None,  # headroom straight from Redis (the limiter's own script)
        bursts=bursts,
        burst_size=size,
        intervals=(0.4,),
        time_scale=60.0,  # KEDA-like: 0.5 s polls, 0.25 s HPA syncs
        seed=1,
    )
    want = wanted_replicas(size)
    assert want == 3

    (ours,) = report.ours
    assert len(ours.bursts) == bursts
    for b in ours.bursts:
        assert 0 < b.first <= b.full
        # up to the demand in one patch, unless the reconcile ran while the burst was still
        # being enqueued (a loaded machine): then it saw part of it; never more
        assert 1 <= b.first_replicas <= want
        assert b.phase >= 0
    assert ours.cycles and all(c > 0.4 for c in ours.cycles)  # interval + one reconcile
    assert ours.reconcile_s and all(r >= 0 for r in ours.reconcile_s)

    keda = report.keda
    assert keda is not None and keda.scale == 60.0
    assert len(keda.bursts) == bursts
    for b in keda.bursts:
        assert 0 < b.first <= b.full
        assert b.first_replicas == 1  # KEDA activates to 1; the HPA takes it from there
    assert keda.first() == [b.first * 60.0 for b in keda.bursts]

    text = format_report(report)
    assert "ours, interval 0.4s" in text
    assert "measured 1/60 x60" in text
    assert "derived" in text
    assert "42.00" in text  # the derived KEDA p99 to full scale, U(0,30) + U(0,15)
