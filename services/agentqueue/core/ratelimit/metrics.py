"""The limiter's Prometheus metrics, as seen from each calling process.

Every family is labelled by the budget's ``provider``, ``model`` and ``deployment``
(a budget is named ``provider:model:deployment``; one packed ``budget`` label made
them impossible to aggregate by provider or model). Tenants' quota budgets are not
recorded here: their refusals are ``agentqueue_limiter_quota_denials_total`` and
``agentqueue_limiter_denials_total{reason="quota_…"}``. Denials and provider 429s are
in :mod:`agentqueue.core.telemetry.metrics` (the dashboards' contract).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from agentqueue.core.telemetry.metrics import LIMITER_DENIALS, split_budget
from agentqueue.core.telemetry.metrics import PROVIDER_429S as PROVIDER_429S

_BUDGET = ["provider", "model", "deployment"]

ACQUIRES = Counter(
    "agentqueue_limiter_acquires_total",
    "Budget reservations granted",
    [*_BUDGET, "priority"],
)
WAITS = Histogram(
    "agentqueue_limiter_wait_seconds",
    "Time calls waited for their budget, per lane (a task priority, or interactive)",
    [*_BUDGET, "priority"],
    buckets=(0.001, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60),
)
LOCAL_FALLBACKS = Counter(
    "agentqueue_limiter_local_fallbacks_total",
    "Decisions taken on the local share because Redis was unreachable",
    _BUDGET,
)
ESTIMATE_ERROR = Histogram(
    "agentqueue_limiter_estimate_ratio",
    "Real tokens used ÷ tokens reserved, per call",
    _BUDGET,
    buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.5),
)
SETTLES = Counter("agentqueue_limiter_settles_total", "Leases settled with the real usage", _BUDGET)
REFUNDED_TOKENS = Counter(
    "agentqueue_limiter_refunded_tokens_total",
    "Tokens reserved but not used, given back at settle",
    _BUDGET,
)
QUOTA_DENIALS = Counter(
    "agentqueue_limiter_quota_denials_total",
    "Calls refused because a tenant's quota was used up",
    ["quota"],
)
FEEDBACK_LOWERED = Counter(
    "agentqueue_limiter_feedback_lowered_total",
    "Times a provider's rate-limit headers lowered our budget's level",
    _BUDGET,
)


def labels(budget: str) -> tuple[str, str, str] | None:
    """The labels of a provider budget; None for a tenant's quota budget (not recorded)."""
    return split_budget(budget)


def denied(budget: str, reason: str) -> None:
    """One call refused before anything was sent (``reason``: budget, quota_tpm,
    quota_rpm, usd_per_day), on the provider budget it asked for."""
    parts = split_budget(budget)
    if parts is not None:
        LIMITER_DENIALS.labels(*parts, reason).inc()
