"""The scenario's reading of the gateway's histograms, on a real exposition."""

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from bench.scenario.gateway_metrics import _buckets, _over_by_series, quantile_bound


def _exposition() -> str:
    registry = CollectorRegistry()
    waits = Histogram(
        "agentqueue_limiter_wait_seconds",
        "waits",
        ["provider", "model", "priority"],
        buckets=(0.01, 0.1, 1),
        registry=registry,
    )
    for seconds in (0.001, 0.2, 0.5):
        waits.labels("openai", "gpt-4.1", "interactive").observe(seconds)
    waits.labels("anthropic", "claude-sonnet-4-6", "interactive").observe(0.05)
    waits.labels("anthropic", "claude-sonnet-4-6", "high").observe(3.0)
    return generate_latest(registry).decode()


def test_waits_over_a_bound_are_counted_per_budget_for_one_lane() -> None:
    over = _over_by_series(
        _exposition(), "agentqueue_limiter_wait_seconds", {"priority": "interactive"}, 0.1
    )
    assert over == {"gpt-4.1/openai": 2.0}


def test_quantile_bounds_of_the_summed_series() -> None:
    buckets = _buckets(
        _exposition(), "agentqueue_limiter_wait_seconds", {"priority": "interactive"}
    )
    assert quantile_bound(buckets, 0.5) == 0.1  # 2 of 4 within 100 ms
    assert quantile_bound(buckets, 0.99) == 1.0
