"""Where a chat's first token spent its time inside agentqueue: the gateway's own
Prometheus histograms, read once the run is over (budget wait per lane, the provider's
time to first token)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
from prometheus_client.parser import text_string_to_metric_families


def _bucket_samples(
    text: str, name: str, where: dict[str, str]
) -> Iterator[tuple[dict[str, str], float, float]]:
    """(labels, upper bound, cumulative count) of each bucket of histogram ``name`` in
    the series whose labels include ``where``."""
    for family in text_string_to_metric_families(text):
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket") and all(
                sample.labels.get(k) == v for k, v in where.items()
            ):
                yield sample.labels, float(sample.labels["le"]), sample.value


def _buckets(text: str, name: str, where: dict[str, str]) -> list[tuple[float, float]]:
    """(upper bound, cumulative count) of histogram ``name``, summed over the series
    whose labels include ``where``."""
    summed: dict[float, float] = {}
    for _, bound, count in _bucket_samples(text, name, where):
        summed[bound] = summed.get(bound, 0.0) + count
    return sorted(summed.items())


def _over_by_series(text: str, name: str, where: dict[str, str], bound: float) -> dict[str, float]:
    """Observations of histogram ``name`` above ``bound`` per series matching ``where``,
    each named by its other labels."""
    totals: dict[str, float] = {}
    under: dict[str, float] = {}
    for labels, le, count in _bucket_samples(text, name, where):
        series = "/".join(v for k, v in sorted(labels.items()) if k != "le" and k not in where)
        if le == float("inf"):
            totals[series] = count
        elif le == bound:
            under[series] = count
    return {s: totals[s] - under.get(s, 0.0) for s in totals if totals[s] > under.get(s, 0.0)}


def quantile_bound(buckets: list[tuple[float, float]], q: float) -> float | None:
    """The upper bound of the bucket holding quantile ``q`` (None: no observations)."""
    if not buckets or buckets[-1][1] == 0:
        return None
    rank = q * buckets[-1][1]
    return next(bound for bound, count in buckets if count >= rank)


def interactive_notes(metrics_url: str) -> list[str]:
    """Lines: how long interactive calls waited for budget, and the provider's TTFT."""
    text = httpx.get(metrics_url, timeout=10).text
    waits = _buckets(text, "agentqueue_limiter_wait_seconds", {"priority": "interactive"})
    ttft = _buckets(text, "agentqueue_llm_time_to_first_token_seconds", {})
    lag = _buckets(text, "agentqueue_event_loop_lag_seconds", {"service": "gateway"})
    total = waits[-1][1] if waits else 0
    over = total - next((c for b, c in waits if b >= 0.1), total)
    by_budget = _over_by_series(
        text, "agentqueue_limiter_wait_seconds", {"priority": "interactive"}, 0.1
    )
    where = ", ".join(f"{n:.0f} on {series}" for series, n in sorted(by_budget.items()))
    return [
        f"gateway: {total:.0f} interactive budget waits, {over:.0f} over 100 ms"
        f"{f' ({where})' if where else ''}, p99 "
        f"<= {quantile_bound(waits, 0.99)} s; provider time to first token p50 <= "
        f"{quantile_bound(ttft, 0.5)} s, p99 <= {quantile_bound(ttft, 0.99)} s (histogram bounds)",
        f"gateway: event-loop lag p50 <= {quantile_bound(lag, 0.5)} s, p99 <= "
        f"{quantile_bound(lag, 0.99)} s, max <= {quantile_bound(lag, 1.0)} s",
    ]
