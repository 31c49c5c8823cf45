"""The limiter's Prometheus metrics, as seen from each calling process."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

ACQUIRES = Counter(
    "agentqueue_limiter_acquires_total", "Budget reservations granted", ["budget", "priority"]
)
WAITS = Histogram(
    "agentqueue_limiter_wait_seconds",
    "Time calls waited for their budget",
    ["budget"],
    buckets=(0.001, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60),
)
DENIALS = Counter(
    "agentqueue_limiter_denials_total",
    "Calls held back because their turn was beyond their deadline",
    ["budget"],
)
PROVIDER_429S = Counter(
    "agentqueue_limiter_provider_429s_total", "Provider 429s seen despite the budget", ["budget"]
)
LOCAL_FALLBACKS = Counter(
    "agentqueue_limiter_local_fallbacks_total",
    "Decisions taken on the local share because Redis was unreachable",
    ["budget"],
)
ESTIMATE_ERROR = Histogram(
    "agentqueue_limiter_estimate_ratio",
    "Real tokens used ÷ tokens reserved, per call",
    ["budget"],
    buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.5),
)
SETTLES = Counter(
    "agentqueue_limiter_settles_total", "Leases settled with the real usage", ["budget"]
)
REFUNDED_TOKENS = Counter(
    "agentqueue_limiter_refunded_tokens_total",
    "Tokens reserved but not used, given back at settle",
    ["budget"],
)
QUOTA_DENIALS = Counter(
    "agentqueue_limiter_quota_denials_total",
    "Calls refused because a tenant's quota was used up",
    ["quota"],
)
FEEDBACK_LOWERED = Counter(
    "agentqueue_limiter_feedback_lowered_total",
    "Times a provider's rate-limit headers lowered our budget's level",
    ["budget"],
)
